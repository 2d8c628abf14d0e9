"""A way in for someone who does not know what to ask: questions drawn from the corpus, offered only once the
page's own answering has answered them.

Candidates come from the documents' section headings, a heading being what the clauses under it are about:
"2.推动建材行业碳达峰" of 瑞金's plan becomes 瑞金如何推动建材行业碳达峰？ and "二、主要目标" becomes
瑞金的主要目标是什么？ (a heading that names an action is asked as 如何, one that names a thing as 是什么;
any other is left out). The published official answers add their own questions. A candidate is offered only
when asking it as the page does (an official answer first, then the extractive answerer) gives an answer that is
neither refused nor hedged and quotes the document, and the first-level section, its heading came from: a
suggestion the page would then refuse is never shown. Verdicts are kept for the life of the index generation.

The welcome groups them by document (up to three a document, from distinct first-level sections, the targets
first); under an answer come up to three from the sections nearest to the clause it quotes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ..answer import Answer, Answerer
from ..index import PolicyIndex
from ..ingest import Clause
from ..staff import Hotline, OfficialAnswers

NUMBERING = re.compile(r"^[（(]?[一二三四五六七八九十百零〇\d]+[)）、.．]\s*")
# Endings of headings that name a thing (the plans' 主要目标, 保障措施, the interpretations' 出台目的): 是什么.
NAMED = ("目标", "任务", "原则", "思想", "思路", "要求", "举措", "措施", "背景", "依据", "目的")
TOPIC_CHARS = range(4, 21)
WELCOME_DOCUMENTS = 8
PER_DOCUMENT = 3
FOLLOW_UPS = 3
TRIES = 6  # candidates asked at most for one answer's follow-ups, so an answer waits a bounded time
OFFICIAL_TOPIC = "工作人员审核答复"


@dataclass(frozen=True)
class Suggestion:
    """A question drawn from a heading: the document and heading path it came from, and where in the index its
    first clause sits (to find the headings nearest to a quoted clause)."""

    question: str
    doc_id: str
    section: str
    row: int

    @property
    def first_level(self) -> str:
        """The heading's first-level section (三、重点任务): an answer must quote within it."""
        return self.section.split(" › ")[0]


def phrase(place: str, heading: str, starts_with_verb: Callable[[str], bool], leaf: bool = True) -> str | None:
    """The question a citizen would ask about a heading of `place`'s document; None when it reads as neither an
    action nor a named thing, or is too short or too long to be a topic. An action is asked about only under a
    heading without sub-headings: a parent's title (节能减污降碳增效行动) is a banner, its items are the actions."""
    topic = NUMBERING.sub("", heading).strip().rstrip("。.：:，,")
    if len(topic) not in TOPIC_CHARS:
        return None
    if topic.endswith(NAMED):
        return f"{place}的{topic}是什么？"
    return f"{place}如何{topic}？" if leaf and starts_with_verb(topic) else None


def candidates(index: PolicyIndex, places: dict[str, tuple[str, ...]]) -> list[Suggestion]:
    """One question a heading, in index order, for every document that belongs to a place (without a place a
    question could be about anywhere). A heading over a contact line (解读机构及联系人) is left out: whom to call is
    said under every answer already."""
    def starts_with_verb(topic: str) -> bool:
        tagged = index.tokenizer.tagged(topic)
        return bool(tagged) and tagged[0][1] == "v"

    parents = {(c.doc_id, c.section_path[:-1]) for c in index.clauses if len(c.section_path) > 1}
    found, seen = [], set()
    for row, clause in enumerate(index.clauses):
        names = places.get(clause.doc_id)
        key = (clause.doc_id, clause.section_path)
        if not names or not clause.section_path or key in seen or _holds_contact(index, clause):
            continue
        seen.add(key)
        question = phrase(names[0], clause.section_path[-1], starts_with_verb, key not in parents)
        if question:
            found.append(Suggestion(question, clause.doc_id, clause.section, row))
    return found


def _holds_contact(index: PolicyIndex, clause: Clause) -> bool:
    return any(clause.start <= c.start < clause.end for c in index.documents[clause.doc_id].contact_list)


class Suggestions:
    """The checked questions of one index generation: the welcome's topics and each answer's follow-ups."""

    def __init__(self, answerer: Answerer, hotline: Hotline, officials: OfficialAnswers):
        self.answerer, self.hotline, self.officials = answerer, hotline, officials
        self.index = answerer.index
        self.lock = threading.Lock()
        self.verdicts: dict[str, bool] = {}
        self._welcome: list[tuple[str, list[str]]] | None = None

    @cached_property
    def pool(self) -> list[Suggestion]:
        """Every document's candidate questions, drawn when first needed (not at every reload)."""
        return candidates(self.index, self.answerer.catalogue.places)

    def ask(self, question: str) -> Answer:
        """The answer the page would give to `question` asked on its own."""
        return self.hotline.official(question, self.index) or self.answerer.ask(question)

    def answered(self, suggestion: Suggestion) -> bool:
        """Whether the page answers the suggestion, neither refusing nor hedging, from the document and the
        first-level section its heading came from (asked once, then remembered)."""
        with self.lock:
            known = self.verdicts.get(suggestion.question)
        if known is not None:
            return known
        answer = self.ask(suggestion.question)
        quoted = answer.citations[0] if answer.citations else None
        verdict = (not answer.refused and answer.confidence != "low" and quoted is not None
                   and quoted.doc_id == suggestion.doc_id
                   and quoted.section.split(" › ")[0] == suggestion.first_level)
        with self.lock:
            self.verdicts[suggestion.question] = verdict
        return verdict

    def official_questions(self, limit: int = 5) -> list[str]:
        """The published official answers' questions that are served as such right now (never cached: staff
        approve and withdraw without a re-index)."""
        questions = [o.question for o in self.officials.published()[:limit]]
        return [q for q in questions if self.hotline.official(q, self.index) is not None]

    def welcome(self) -> list[tuple[str, list[str]]]:
        """(topic, questions) for the welcome: the official answers first, then up to PER_DOCUMENT checked
        questions for each of the first WELCOME_DOCUMENTS documents, from distinct first-level sections."""
        if self._welcome is None:
            by_document: dict[str, list[Suggestion]] = {}
            for suggestion in self.pool:
                by_document.setdefault(suggestion.doc_id, []).append(suggestion)
            topics = []
            for doc_id in sorted(by_document)[:WELCOME_DOCUMENTS]:
                chosen = self._one_a_section(by_document[doc_id])
                if chosen:
                    topics.append((self.index.documents[doc_id].title, chosen))
            self._welcome = topics
        official = self.official_questions()
        return ([(OFFICIAL_TOPIC, official)] if official else []) + self._welcome

    def _one_a_section(self, pool: list[Suggestion]) -> list[str]:
        # Targets first (the numbers people ask about), then the rest in the document's order.
        ordered = sorted(pool, key=lambda s: (not s.question.endswith("目标是什么？"), s.row))
        chosen, sections = [], set()
        for suggestion in ordered:
            if len(chosen) == PER_DOCUMENT:
                break
            if suggestion.first_level not in sections and self.answered(suggestion):
                chosen.append(suggestion.question)
                sections.add(suggestion.first_level)
        return chosen

    def follow_ups(self, answer: Answer, asked: str) -> list[str]:
        """Up to FOLLOW_UPS checked questions from the headings nearest to the clause the answer quotes (or, for a
        refusal, its closest related clause), never one about a heading it already quotes or the question asked."""
        anchor = (answer.citations or answer.related or [None])[0]
        row = self.index.rows.get(anchor.chunk_id) if anchor else None
        if row is None:
            return []
        quoted = {c.section for c in answer.citations + answer.related}
        near = sorted((s for s in self.pool if s.doc_id == anchor.doc_id and s.section not in quoted
                       and s.question != asked), key=lambda s: abs(s.row - row))
        chosen = []
        for suggestion in near[:TRIES]:
            if self.answered(suggestion):
                chosen.append(suggestion.question)
            if len(chosen) == FOLLOW_UPS:
                break
        return chosen
