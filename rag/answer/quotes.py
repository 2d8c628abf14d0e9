"""What an answer quotes of its best sentence: a long sentence cut to the part that answers, the paragraph's
lead when only it names the asked year, and the neighbouring sentences that go on answering (a list)."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..ingest import SENTENCE, line_start
from .features import Candidate, TermStatistics
from .intent import Intent
from .sources import Sources

MAX_QUOTE = 150
# A quote grown by its lead or its neighbours stays readable: at most this long.
MAX_SPAN = 3 * MAX_QUOTE
SEGMENT = re.compile(r"[^，,]+[，,]?")
OPENING = "（(〔[【《“‘「"
LEADING = "，。；、,;:：）)〕]】》”’」！？!?"
TRAILING = "，、；,;:："


def trim(text: str, offset: int, intent: Intent, terms: TermStatistics) -> tuple[int, int]:
    """A long sentence is cut to the comma-separated parts around the one that covers most of the question."""
    if len(text) <= MAX_QUOTE:
        return offset, offset + len(text)
    parts = [(m.start(), m.end()) for m in SEGMENT.finditer(text)]
    scores = [terms.coverage(intent, text[a:b].lower()) + (0.5 if intent.years and any(
        y in text[a:b] for y in intent.years) else 0.0) for a, b in parts]
    best = max(range(len(parts)), key=scores.__getitem__)
    first, last = max(0, best - 1), min(len(parts) - 1, best + 1)
    return offset + parts[first][0], offset + parts[last][1]


def with_lead(text: str, intent: Intent, best: Candidate, start: int, end: int) -> int:
    """Where the quote starts: at its paragraph's start when the lead before the sentence holds an asked year
    the quote lacks ("2025年：" heading a list), else where it did."""
    paragraph = line_start(text, best.clause, best.start)
    lead = text[paragraph:best.start]
    if intent.years and any(y in lead and y not in text[start:end] for y in intent.years) \
            and end - paragraph <= MAX_SPAN:
        return paragraph
    return start


def with_siblings(text: str, best: Candidate, options: list[Candidate], start: int, end: int,
                  floor: float) -> tuple[int, int]:
    """The span grown over the clause's neighbouring sentences at or above `floor`, within one paragraph
    (the next may be another year's) and MAX_SPAN."""
    siblings = sorted((c for c in options if c.clause.chunk_id == best.clause.chunk_id), key=lambda c: c.start)
    at = next(i for i, c in enumerate(siblings) if c.start == best.start)
    for step in (-1, 1):
        i = at + step
        while 0 <= i < len(siblings) and siblings[i].probability >= floor:
            a, b = min(start, siblings[i].start), max(end, siblings[i].end)
            if b - a > MAX_SPAN or "\n" in text[a:b]:
                break
            start, end = a, b
            i += step
    return start, end


class Quoter:
    """The span an answer quotes for its best candidate, over the index's texts and term statistics."""

    def __init__(self, sources: Sources, terms: TermStatistics, refuse_threshold: float):
        self.sources, self.terms, self.refuse_threshold = sources, terms, refuse_threshold

    def span(self, intent: Intent, best: Candidate, options: list[Candidate]) -> tuple[int, int]:
        """The best sentence (trimmed if long), with its paragraph's lead when that carries the asked year, and
        the neighbouring sentences of its clause the scorer also finds likely to answer (a list that goes on)."""
        text = self.sources.text(best.clause.doc_id)
        start, end = trim(text[best.start:best.end], best.start, intent, self.terms)
        start = with_lead(text, intent, best, start, end)
        # A neighbour counts when it is itself above the refusal line and not far below the best.
        floor = max(self.refuse_threshold, best.probability / 2)
        return with_siblings(text, best, options, start, end, floor)


def beyond_the_window(text: str, start: int, end: int, window: tuple[int, int], clause: tuple[int, int]
                      ) -> tuple[int, int]:
    """A span that runs to an edge of its reading window completed to its sentence's end (or start) in the text:
    the window's 24 characters of context stop where reading stopped, not where the fact does (…碳中和目标任)."""
    for sentence in SENTENCE.finditer(text, *clause):
        if end >= window[1] - 1 and sentence.start() < end <= sentence.end():
            end = sentence.end()
        if start <= window[0] and sentence.start() <= start < sentence.end():
            start = sentence.start()
            while start < end and text[start].isspace():
                start += 1
    return start, end


def whole_words(text: str, start: int, end: int, lo: int, hi: int,
                bounds: Callable[[str], list[int]]) -> tuple[int, int]:
    """A reader's span [start, end) of text[lo:hi] widened to whole words (`bounds`: a tokenizer's word offsets of
    a string): the span head works on subword tokens, and 全面贯 or 第七十五 stopped inside the word; then no
    opening bracket or comma at its end and no punctuation at its start (国发〔 reads as a fact cut short)."""
    cuts = [lo + at for at in bounds(text[lo:hi])]
    start = max((at for at in cuts if at <= start), default=start)
    end = min((at for at in cuts if at >= end), default=end)
    while end > start and (text[end - 1] in OPENING or text[end - 1] in TRAILING or text[end - 1].isspace()):
        end -= 1
    while start < end and (text[start] in LEADING or text[start].isspace()):
        start += 1
    return start, end
