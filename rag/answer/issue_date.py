"""The issue-date rule: when a document was issued is answered from a date standing alone under its title or
at its signature, or from a sentence that issues that very document with a date; never from a date it cites."""

from __future__ import annotations

import re
from dataclasses import replace

from ..ingest import SENTENCE
from ..retrieve import Hit
from . import messages
from .features import DATE, ISSUE_VERBS, ISSUE_WORDS
from .intent import Intent
from .records import Answer, Decision
from .replies import Replies
from .sources import Sources

WHEN = "哪天|哪一天|什么时候|哪年|日期|时间|何时"
ISSUE_QUESTION = re.compile(rf"(?:{WHEN}).*(?:{ISSUE_VERBS})|(?:{ISSUE_VERBS}).*(?:{WHEN})")
# A date standing alone: in brackets under a title (（2022年4月6日）) or on a line of its own (a signature).
STANDALONE_DATE = re.compile(r"[（(]\s*\d{4}年\d{1,2}月\d{1,2}日\s*[)）]|^\s*\d{4}年\d{1,2}月\d{1,2}日\s*$", re.M)
CITED_TITLE = re.compile(r"《([^》]+)》")
# How a document speaks of itself: 本方案, 本意见…
ITSELF = re.compile(r"本(?:方案|意见|通知|办法|规定|细则|措施|计划)")
DOCUMENTS_READ = 3


def asks_issue_date(intent: Intent) -> bool:
    """Whether the question asks when something was issued (哪天印发, 发布日期…)."""
    return bool(ISSUE_QUESTION.search(intent.normalized))


def names_document(intent: Intent, sentence: str, title: str) -> bool:
    """The sentence issues the document titled `title` (《瑞金市碳达峰实施方案》…印发, 本方案…), not one it cites."""
    for cited in CITED_TITLE.findall(sentence):
        if cited in title or any(p in cited for p in intent.places):
            return True
    return ITSELF.search(sentence) is not None


def dated_spans(intent: Intent, text: str, title: str) -> list[tuple[int, int]]:
    """The spans of a document's text that date it, in text order."""
    spans = [m.span() for m in STANDALONE_DATE.finditer(text)]
    spans += [m.span() for m in SENTENCE.finditer(text) if ISSUE_WORDS.search(m.group(0))
              and DATE.search(m.group(0)) and names_document(intent, m.group(0), title)]
    return sorted(spans)


def issue_answer(intent: Intent, hits: list[Hit], wanted: tuple[str, ...], sources: Sources, replies: Replies,
                 decision: Decision) -> Answer | None:
    """The first dated span of the best-ranked documents (of the asked place, when `wanted` names its
    documents), quoted; None when none of them is dated."""
    docs = list(dict.fromkeys(h.clause.doc_id for h in hits if not wanted or h.clause.doc_id in wanted))
    for doc_id in docs[:DOCUMENTS_READ]:
        text = sources.text(doc_id)
        for start, end in dated_spans(intent, text, sources.index.documents[doc_id].title):
            clause = sources.clause_at(doc_id, start, end)
            if clause is None:
                continue
            quote = text[start:end].strip()
            start += text[start:end].find(quote)
            citation = sources.citation(1, clause, start, start + len(quote))
            return replies.answered(intent, messages.issued(clause.title, citation.quote), [citation],
                                    replace(decision, rule="issue_date"), True, None)
    return None
