"""Sentences: the units an answer quotes, and the candidates the answer scorer ranks.

A clause is split on Chinese and Western sentence ends and on line breaks; offsets are kept in the cleaned
document's coordinates, so a quote is always `document.text[start:end]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .clauses import Clause
from .headings import match_heading

SENTENCE = re.compile(r"[^。！？；;!?\n]+[。！？；;!?]?")
MIN_CHARS = 4


@dataclass(frozen=True)
class Sentence:
    """A sentence of an indexed clause: the clause's row and the sentence's offsets in the document."""

    row: int  # the clause's row in the index
    start: int  # offsets into the cleaned document
    end: int


def is_heading(sentence: str) -> bool:
    """True for a short heading with no body: "2.深化碳普惠试点示范。" names a task; it answers nothing by itself."""
    heading = match_heading(sentence)
    return heading is not None and not heading.has_body and len(sentence) <= 40


def split(clause: Clause, row: int = 0) -> list[Sentence]:
    """The clause's sentences of at least MIN_CHARS characters, stripped of surrounding spaces."""
    found = []
    for match in SENTENCE.finditer(clause.text):
        raw = match.group(0)
        text = raw.strip()
        if len(text) < MIN_CHARS:
            continue
        local = match.start() + raw.find(text)
        found.append(Sentence(row, clause.start + local, clause.start + local + len(text)))
    return found


def line_start(text: str, clause: Clause, position: int) -> int:
    """Where the line holding `position` starts, within its clause: a paragraph's lead ("到2025年,…") governs
    the sentences after it."""
    return max(text.rfind("\n", clause.start, position) + 1, clause.start)
