"""The numbering that Chinese policy texts use for their structure: 第X章 › 第X节 › 第X条, 一、 › (一) ›
1. › (1). Cleaning uses it to keep headings on lines of their own; parsing uses it to build the tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CN_NUM = "[一二三四五六七八九十百零〇]+"

# (kind, pattern matched at the start of a line); the kind names the numbering style, not a depth:
# depth comes from the order in which a document nests them.
MARKERS: tuple[tuple[str, str], ...] = (
    ("chapter", rf"第{CN_NUM}[编章](?=\s|[^\s，。、,；;的]|$)"),
    ("part", rf"第{CN_NUM}节(?=\s|[^\s，。、,；;的]|$)"),
    ("article", rf"第{CN_NUM}条(?=\s|[^\s，。、,；;的规款项]|$)"),
    ("cn", rf"{CN_NUM}、"),
    ("paren_cn", rf"[(（]{CN_NUM}[)）]"),
    ("num", r"\d{1,2}[.．、](?![\d.．])"),
    ("paren_num", r"[(（]\d{1,2}[)）](?!\d)"),
)

MARKER_RE = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in MARKERS))
ANY_MARKER = "(?:" + "|".join(pattern for _, pattern in MARKERS) + ")"

# Punctuation that ends a sentence or a list item: a line ending with one of these is complete.
SENTENCE_END = "。！？；!?;：:"
# Where a heading's own title stops when its body follows on the same line.
TITLE_END = re.compile(r"[。！？；：:!?;]")
MAX_TITLE = 40


@dataclass(frozen=True)
class Heading:
    """A numbered heading at the start of a line: its numbering style, marker, path label and whether text follows."""

    kind: str
    marker: str
    label: str  # what the section path shows, e.g. "(二)工业领域碳达峰行动" or "第十条"
    has_body: bool  # the line carries text after its title


def match_heading(line: str) -> Heading | None:
    """The heading `line` starts with, or None (a bare "1、" or a marker followed by a comma is not one)."""
    match = MARKER_RE.match(line)
    if not match:
        return None
    kind = match.lastgroup or ""
    marker = match.group(0)
    rest = line[match.end():].lstrip()
    if kind in ("num", "paren_num", "cn", "paren_cn") and (not rest or rest[0] in "，,、。；;"):
        return None  # "1、" alone or "一、，" is not a heading
    if kind == "article":
        return Heading(kind, marker, marker, bool(rest))
    end = TITLE_END.search(rest)
    if end and end.start() <= MAX_TITLE:
        title, has_body = rest[: end.start()], bool(rest[end.end():].strip())
    elif len(rest) <= MAX_TITLE:
        title, has_body = rest, False
    else:
        title, has_body = rest[:20] + "…", True
    if kind in ("chapter", "part") and title:
        return Heading(kind, marker, f"{marker} {title}", has_body)
    return Heading(kind, marker, marker + title, has_body)


def starts_with_heading(line: str) -> bool:
    """True when `line` starts with a numbered heading."""
    return match_heading(line) is not None
