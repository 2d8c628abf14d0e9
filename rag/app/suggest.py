"""A way in for someone who does not know what to ask: questions drawn from the corpus, offered only once the
page's own answering has answered them.

Candidates come from the documents' section headings, a heading being what the clauses under it are about:
"2.推动建材行业碳达峰" of 瑞金's plan becomes 瑞金如何推动建材行业碳达峰？ and "二、主要目标" becomes
瑞金的主要目标是什么？ (a heading that names an action is asked as 如何, one that names a thing as 是什么;
any other is left out). A candidate is offered only when the extractive answerer answers it neither refused nor
hedged, quoting the document, and the first-level section, its heading came from: a suggestion the page would
then refuse is never shown. Official answers play no part in that verdict: staff approve and withdraw them
without a re-index, and the page's answer to a question they cover is never refused or hedged anyway.

Every candidate is asked once an index generation: the welcome's before the generation is swapped in, the rest
(~100 over the seed corpus, ~8 s on 2 busy cores) in a background thread after it. A citizen's answer only looks
verdicts up; a question not checked yet is not offered.

The welcome groups them by document (up to three a document, from distinct first-level sections, the targets
first), after the published official answers' questions (most recently approved first); under an answer come up to
three from the sections nearest to the clause it quotes, in the documents of the place the question names.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from ..answer import Answer, Answerer
from ..index import PolicyIndex
from ..ingest import Clause
from ..staff import Hotline, OfficialAnswer, OfficialAnswers
from ..text import to_simplified

log = logging.getLogger(__name__)

NUMBERING = re.compile(r"^[（(]?[一二三四五六七八九十百零〇\d]+[)）、.．]\s*")
# Endings of headings that name a thing (the plans' 主要目标, 保障措施, the interpretations' 出台目的): 是什么.
NAMED = ("目标", "任务", "原则", "思想", "思路", "要求", "举措", "措施", "背景", "依据", "目的")
TOPIC_CHARS = range(4, 21)
WELCOME_DOCUMENTS = 8
PER_DOCUMENT = 3
FOLLOW_UPS = 3
WELCOME_TRIES = 6  # headings asked at most for one document's welcome, so a reload waits a bounded time
OFFICIAL_QUESTIONS = 5
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
    question could be about anywhere). A heading over a contact line (解读机构及联系人) is left out: whom to call
    is not a topic of the policy (a question naming the place is answered with its consulting line)."""
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
    """The checked questions of one index generation: the welcome's topics and each answer's follow-ups.

    `welcome` is called before the generation is swapped in (its headings asked then), `start` right after (every
    other candidate asked in a background thread); `stop` ends that thread once a newer generation replaces this
    one. `first` are documents the welcome shows before the others (the staff's uploads)."""

    def __init__(self, answerer: Answerer, hotline: Hotline, officials: OfficialAnswers, first: Iterable[str] = ()):
        self.answerer, self.hotline, self.officials = answerer, hotline, officials
        self.index = answerer.index
        self.first = frozenset(first)
        self.verdicts: dict[str, bool] = {}
        self.checked, self.stopped = threading.Event(), threading.Event()
        self.thread: threading.Thread | None = None
        # One asker at a time: the background check and a welcome being built never ask the same question twice.
        self._asking = threading.Lock()
        self._building = threading.RLock()  # the welcome, then its headings inside it
        self._headings: list[tuple[str, list[str]]] | None = None
        self._welcome: tuple[tuple, list[tuple[str, list[str]]]] | None = None  # (published answers' key, topics)

    @cached_property
    def pool(self) -> list[Suggestion]:
        """Every document's candidate questions, drawn once a generation."""
        return candidates(self.index, self.answerer.catalogue.places)

    def verdict(self, suggestion: Suggestion) -> bool:
        """Whether the answerer answers the suggestion, neither refusing nor hedging, from the document and the
        first-level section its heading came from (asked once, then remembered)."""
        with self._asking:
            known = self.verdicts.get(suggestion.question)
            if known is None:
                known = self.verdicts[suggestion.question] = self._judge(suggestion)
            return known

    def _judge(self, suggestion: Suggestion) -> bool:
        try:
            answer = self.answerer.ask(suggestion.question)
        except Exception:  # one failing question must not end the check of the others, nor be offered
            log.exception("checking the suggested question %s failed", suggestion.question)
            return False
        quoted = answer.citations[0] if answer.citations else None
        return (not answer.refused and answer.confidence != "low" and quoted is not None
                and quoted.doc_id == suggestion.doc_id
                and quoted.section.split(" › ")[0] == suggestion.first_level)

    def start(self) -> threading.Thread:
        """Check every candidate in a background thread (see `check`)."""
        self.thread = threading.Thread(target=self.check, name="suggestions-check", daemon=True)
        _STARTED.add(self)
        self.thread.start()
        return self.thread

    def check(self) -> None:
        """Ask every candidate not asked yet, in index order; `checked` is set once all are known. Stops early when
        `stop` is called: a newer generation has its own check."""
        for suggestion in self.pool:
            if self.stopped.is_set():
                return
            self.verdict(suggestion)
        self.checked.set()

    def stop(self, wait: bool = False) -> None:
        """End the background check after the question it is asking; with `wait`, return once it has ended."""
        self.stopped.set()
        if wait and self.thread is not None:
            self.thread.join()

    def resume(self) -> None:
        """Go on checking after a `stop` whose newer generation never came (a reload that failed)."""
        if self.thread is None or self.checked.is_set():
            return
        self.thread.join()  # the stopped one ends after its question: one checker at a time
        self.stopped.clear()
        self.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether every candidate has been checked, waiting up to `timeout` seconds for it."""
        return self.checked.wait(timeout)

    def welcome(self) -> list[tuple[str, list[str]]]:
        """(topic, questions) for the welcome: the official answers served right now first, then up to
        PER_DOCUMENT checked questions for each of the first WELCOME_DOCUMENTS documents, from distinct first-level
        sections. Worked out again only when the published official answers change (staff approve, edit or
        withdraw one without a re-index); a visit otherwise reads it as it is."""
        published = self.officials.published()
        key = tuple((o.id, o.approved_at, o.wordings) for o in published)
        cached = self._welcome
        if cached is None or cached[0] != key:
            with self._building:
                cached = self._welcome
                if cached is None or cached[0] != key:
                    cached = self._welcome = (key, self._topics(published))
        return cached[1]

    def _topics(self, published: list[OfficialAnswer]) -> list[tuple[str, list[str]]]:
        official = self.official_questions(published)
        shown = {to_simplified(q) for q in official}
        topics = [(OFFICIAL_TOPIC, official)] if official else []
        for title, questions in self.headings():
            questions = [q for q in questions if to_simplified(q) not in shown]  # staff answer it: offered there
            if questions:
                topics.append((title, questions))
        return topics

    def official_questions(self, published: list[OfficialAnswer], limit: int = OFFICIAL_QUESTIONS) -> list[str]:
        """Up to `limit` questions of the published official answers that are served as such right now, the most
        recently approved first (the store keeps them oldest first)."""
        order = sorted(enumerate(published), key=lambda e: (e[1].approved_at or "", e[0]), reverse=True)
        served = []
        for _, official in order:
            if len(served) == limit:
                break
            if self.hotline.official(official.question, self.index) is not None:
                served.append(official.question)
        return served

    def headings(self) -> list[tuple[str, list[str]]]:
        """(document title, questions) from the headings of the first WELCOME_DOCUMENTS documents, worked out once
        a generation (by one caller; any other waits for it rather than asking the same questions again)."""
        with self._building:
            if self._headings is None:
                by_document: dict[str, list[Suggestion]] = {}
                for suggestion in self.pool:
                    by_document.setdefault(suggestion.doc_id, []).append(suggestion)
                topics = []
                for doc_id in self.documents()[:WELCOME_DOCUMENTS]:
                    chosen = self._one_a_section(by_document[doc_id])
                    if chosen:
                        topics.append((self.index.documents[doc_id].title, chosen))
                self._headings = topics
            return self._headings

    def documents(self) -> list[str]:
        """The documents the welcome draws from, in its order: `first` (the staff's uploads: what the office
        published itself, never left out behind the corpus), then the rest, each group by doc id."""
        return sorted({s.doc_id for s in self.pool}, key=lambda d: (d not in self.first, d))

    def _one_a_section(self, pool: list[Suggestion]) -> list[str]:
        # Targets first (the numbers people ask about), then the rest in the document's order.
        ordered = sorted(pool, key=lambda s: (not s.question.endswith("目标是什么？"), s.row))
        chosen, sections, tried = [], set(), 0
        for suggestion in ordered:
            if len(chosen) == PER_DOCUMENT or tried == WELCOME_TRIES:
                break
            if suggestion.first_level in sections:
                continue
            tried += 1
            if self.verdict(suggestion):
                chosen.append(suggestion.question)
                sections.add(suggestion.first_level)
        return chosen

    def follow_ups(self, answer: Answer, asked: str) -> list[str]:
        """Up to FOLLOW_UPS checked questions from the headings nearest to the clause the answer quotes (or, for a
        refusal, its closest related clause), never one about a heading it already quotes or the question asked.
        When the question names a place, only that place's documents are drawn from (a 槐荫 question answered
        from 瑞金 gets none). Verdicts are only looked up: nothing is asked while the citizen waits."""
        places = answer.intent.places if answer.intent else self.answerer.analyse(asked).places
        wanted = set(self.answerer.catalogue.documents_of_places(places)) if places else None
        anchor = next((c for c in answer.citations + answer.related if wanted is None or c.doc_id in wanted), None)
        row = self.index.rows.get(anchor.chunk_id) if anchor else None
        if row is None:
            return []
        quoted = {c.section for c in answer.citations + answer.related}
        near = sorted((s for s in self.pool if s.doc_id == anchor.doc_id and s.section not in quoted
                       and s.question != asked), key=lambda s: abs(s.row - row))
        return [s.question for s in near if self.verdicts.get(s.question)][:FOLLOW_UPS]


_STARTED: weakref.WeakSet[Suggestions] = weakref.WeakSet()


@atexit.register
def stop_checks() -> None:
    """Stop every background check and wait for each to finish its question: a process that exits while a check
    is inside ONNX Runtime is aborted ("terminate called without an active exception")."""
    running = list(_STARTED)
    for suggestions in running:
        suggestions.stop()
    for suggestions in running:
        suggestions.stop(wait=True)
