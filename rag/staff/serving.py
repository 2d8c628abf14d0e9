"""Serving official answers: a citizen question that asks what a published official answer answers gets it,
marked 工作人员审核答复 with its approval date, the question it answers and its citations; else the answerer.

`Hotline` is what the citizen page, the API and `policy-rag ask` call: the official answer first, then the
extractive (or LLM) answer, and the citizen page's questions go to the question log.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..answer import Answer, Answerer
from ..answer.records import Citation, Decision
from ..index import PolicyIndex
from ..text import is_traditional, traditional_variant
from .official import OfficialAnswer, OfficialAnswers, still_published
from .official_match import OfficialMatcher
from .questions import WITHDRAWN, QuestionLog

BEIJING = timezone(timedelta(hours=8))


def beijing_date(iso: str) -> str:
    """A stored UTC time as the date in Beijing: 2026年12月2日."""
    moment = datetime.fromisoformat(iso).astimezone(BEIJING)
    return f"{moment.year}年{moment.month}月{moment.day}日"


def beijing_time(iso: str) -> str:
    """A stored UTC time as Beijing time to the minute: 2026-12-02 21:05 (北京时间)."""
    return datetime.fromisoformat(iso).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def official_reply(question: str, official: OfficialAnswer) -> Answer:
    """The answer a citizen is given from a published official answer, in the script they wrote."""
    citations = [Citation(n, c.doc_id, c.title, c.section, c.quote, c.chunk_id, c.start, c.end)
                 for n, c in enumerate(official.citations, 1)]
    marks = "".join(f"[{c.n}]" for c in citations)
    text = (f"工作人员审核答复（{beijing_date(official.approved_at)}审核，答复的问题：{official.question}）\n"
            f"{official.answer}{marks}")
    script = ("zh-Hant", traditional_variant(question)) if is_traditional(question) else ("zh-Hans", "s2tw")
    answer = Answer(question, text, False, script[0], citations, mode="official", variant=script[1],
                    decision=Decision("answered", rule="official"), confidence="high",
                    official={"id": official.id, "approved_at": official.approved_at})
    answer.answer = answer.in_script(text)
    return answer


class Hotline:
    """Official answers first, then the answerer; logs the citizen page's questions when given a log."""

    def __init__(self, store: OfficialAnswers, matcher: OfficialMatcher, log: QuestionLog | None = None):
        self.store, self.matcher, self.log = store, matcher, log

    def withdraw_stale(self, index: PolicyIndex) -> list[OfficialAnswer]:
        """Withdraw the published answers whose cited clauses the index no longer holds as quoted; each goes
        back to the queue (its question logged as withdrawn)."""
        stale = self.store.withdraw_stale(index)
        if self.log is not None:
            for withdrawn in stale:
                self.log.record({"question": withdrawn.question, "official": {"id": withdrawn.id}, "citations": [
                    {"chunk_id": c.chunk_id} for c in withdrawn.citations]}, WITHDRAWN)
        return stale

    def official(self, question: str, index: PolicyIndex) -> Answer | None:
        """The published official answer the question asks for, or None."""
        published = self.store.published()
        found = self.matcher.match(question, published) if published else None
        if found is None:
            return None
        if not all(still_published(c, index) for c in found.answer.citations):  # changed since the last check
            self.withdraw_stale(index)
            return None
        return official_reply(question, found.answer)

    def ask(self, question: str, answerer: Answerer, log: bool = False) -> Answer:
        """The answer to a stand-alone question: official if one matches, else the answerer's."""
        answer = self.official(question, answerer.index) or answerer.ask(question)
        if log:
            self.record(answer)
        return answer

    def record(self, answer: Answer) -> None:
        """Log an answer the citizen page gave (nothing about the asker)."""
        if self.log is not None and answer.decision.route not in ("welcome", "empty"):
            self.log.record(answer.to_dict())
