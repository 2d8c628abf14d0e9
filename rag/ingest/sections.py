"""Parse: cleaned text -> its numbered sections, each with its path from the top heading down.

Nesting follows the order in which a document uses its numbering styles: a style seen before closes
everything opened after it (a new `二、` closes `(三)` and `4.`), an unseen style opens a level below.
Inside a regulation's article (第X条) the enumerated items (一)(二)… belong to the article: an article is
the unit a regulation is cited by.
"""

from __future__ import annotations

from dataclasses import dataclass

from .headings import Heading, match_heading

ARTICLE_LEVEL = ("chapter", "part", "article")


@dataclass(frozen=True)
class Section:
    """A numbered section of a cleaned text: its heading path, offsets, and whether it is only a heading."""

    path: tuple[str, ...]  # heading labels from the top down; () for text before the first heading
    start: int  # offset of the heading line (or the first line of a preamble)
    end: int  # offset just past the section's last character (before the next heading line)
    heading_only: bool  # the span holds the heading and nothing else

    @property
    def label(self) -> str:
        """The heading path joined with " › " ("" for a preamble)."""
        return " › ".join(self.path)


def _heading(line: str, stack: list[tuple[str, str]]) -> Heading | None:
    heading = match_heading(line)
    if heading and heading.kind not in ARTICLE_LEVEL and any(kind == "article" for kind, _ in stack):
        return None
    return heading


def parse_sections(text: str) -> list[Section]:
    """The text's sections in order; text before the first heading is a preamble with the path ()."""
    sections: list[Section] = []
    stack: list[tuple[str, str]] = []
    path: tuple[str, ...] | None = None
    start = 0
    heading_only = False
    offset = 0
    for line in text.split("\n"):
        heading = _heading(line, stack)
        if heading:
            if path is not None:
                sections.append(Section(path, start, offset - 1, heading_only))
            kinds = [kind for kind, _ in stack]
            if heading.kind in kinds:
                del stack[kinds.index(heading.kind):]
            stack.append((heading.kind, heading.label))
            path, start, heading_only = tuple(label for _, label in stack), offset, not heading.has_body
        elif path is None:
            path, start, heading_only = (), offset, False
        else:
            heading_only = False
        offset += len(line) + 1
    if path is not None:
        sections.append(Section(path, start, len(text), heading_only))
    return sections

