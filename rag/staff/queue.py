"""The queue (待处理问题): refused, hedged and 有误 questions grouped by meaning, most asked first.

A group is one need asked in different words: questions whose e5 query vectors are at least GROUP_THRESHOLD
apart in cosine join the group of the most asked question they are that close to (greedy, most asked first, so
the groups do not depend on the log's order). Staff dismiss a group with a reason, or answer it with an
official answer; either way the questions asked until then leave the queue, and the same need asked again
after returns.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..files import JsonLines
from .official_match import normalized
from .questions import NEEDS_ATTENTION, WITHDRAWN, LoggedQuestion

# Chosen on eval/faq_paraphrases.jsonl (python eval/faq_match.py): pair precision .51, recall .87 at 0.94, both
# above 0.92 (.36, .75) and 0.95 (.56 and .66). Near misses of one topic often share a group: staff read them.
GROUP_THRESHOLD = 0.94


@dataclass
class QueueGroup:
    """One need: its wordings (most asked first) with counts, its outcomes, when it was first and last asked."""

    key: str
    questions: list[tuple[str, int]]
    count: int
    first_asked: str
    last_asked: str
    outcomes: dict[str, int] = field(default_factory=dict)
    citations: list[str] = field(default_factory=list)  # what the answers pointed to, most cited first

    @property
    def question(self) -> str:
        """The group's most asked wording."""
        return self.questions[0][0]

    def to_dict(self) -> dict:
        """The JSON object `policy-rag questions --json` prints."""
        return {"key": self.key, "question": self.question, "count": self.count,
                "questions": [{"question": q, "count": n} for q, n in self.questions],
                "outcomes": self.outcomes, "first_asked": self.first_asked, "last_asked": self.last_asked,
                "citations": self.citations}


def group_key(question: str) -> str:
    """A group's id: its most asked wording, hashed (stable while that wording leads)."""
    return hashlib.sha256(question.encode("utf-8")).hexdigest()[:12]


def group_questions(entries: Sequence[LoggedQuestion], encoder: object,
                    threshold: float = GROUP_THRESHOLD) -> list[QueueGroup]:
    """The entries grouped by meaning, most asked first (ties: most recently asked)."""
    if not entries:
        return []
    counts = Counter(e.question for e in entries)
    last = {}
    for e in entries:
        last[e.question] = max(last.get(e.question, e.time), e.time)
    wordings = sorted(counts, key=lambda q: (-counts[q], _neg_time(last[q])))
    vectors = encoder.encode_queries([normalized(q) or q for q in wordings])
    leaders: list[int] = []
    members: dict[int, list[int]] = {}
    for i in range(len(wordings)):
        close = [lead for lead in leaders if float(vectors[lead] @ vectors[i]) >= threshold]
        if close:
            members[close[0]].append(i)
        else:
            leaders.append(i)
            members[i] = [i]
    groups = []
    for lead in leaders:
        words = {wordings[i] for i in members[lead]}
        own = [e for e in entries if e.question in words]
        cited = Counter(c for e in own for c in e.citations)
        groups.append(QueueGroup(
            group_key(wordings[lead]), [(wordings[i], counts[wordings[i]]) for i in members[lead]], len(own),
            min(e.time for e in own), max(e.time for e in own), dict(Counter(e.outcome for e in own)),
            [c for c, _ in cited.most_common(5)]))
    return sorted(groups, key=lambda g: (-g.count, _neg_time(g.last_asked)))


def _neg_time(iso: str) -> float:
    return -datetime.fromisoformat(iso).timestamp()


class QueueDecisions(JsonLines):
    """What staff decided about groups: dismissed (with a reason) or answered (with the official answer's id).
    A decision covers the wordings it names as asked up to its time."""

    def dismiss(self, group: QueueGroup, by: str, reason: str) -> dict:
        """Take the group out of the queue, saying why."""
        if not reason.strip():
            raise ValueError("请说明忽略的理由 (a dismissal needs a reason)")
        return self.add({"action": "dismissed", "by": by, "reason": reason.strip(), "key": group.key,
                         "questions": [q for q, _ in group.questions]})

    def answered(self, questions: Sequence[str], by: str, official_id: str) -> dict:
        """The wordings an official answer now answers."""
        return self.add({"action": "answered", "by": by, "official_id": official_id, "questions": list(questions)})

    def settled(self, entry: LoggedQuestion, decisions: Sequence[dict]) -> bool:
        """Whether a decision made after the entry was asked covers its wording. The official answer whose
        withdrawal the entry records never settles it, whatever the clock says (the log keeps whole seconds: a
        re-index can withdraw an answer within the second it was approved)."""
        return any(entry.question in d.get("questions", ()) and d["time"] >= entry.time
                   and not (entry.outcome == WITHDRAWN and d.get("official_id") == entry.official_id)
                   for d in decisions)


def open_queue(entries: Sequence[LoggedQuestion], decisions: QueueDecisions, encoder: object,
               outcomes: Sequence[str] = NEEDS_ATTENTION) -> list[QueueGroup]:
    """The groups staff still have to act on: the wanted outcomes, less what was dismissed or answered."""
    made = decisions.records()
    waiting = [e for e in entries if e.outcome in outcomes and not decisions.settled(e, made)]
    return group_questions(waiting, encoder)
