"""Answer: a question -> a short answer in plain Chinese that quotes the policy, every claim cited.

Extractive by default, no LLM: retrieve clauses, turn each sentence of the top clauses into a candidate,
let the learned answer scorer (scorer.py) give each a probability of answering, and quote the best one
verbatim, cited down to the clause. Above the scorer's answer threshold the sentence is stated as the answer;
between its two thresholds it is offered in hedged words as the closest provision; below, or when the
question names only places with no document, the answer says the documents do not say, states nothing as
fact, and lists the closest clauses as related reading (refusal.py).

The Answerer routes; the rules live beside it: contact.py, staff.py, issue_date.py, compare.py, with the
quote span in quotes.py and every sentence it says in messages.py.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..config import Settings
from ..reader import Reader
from ..retrieve import Filters, Hit, Searcher
from ..text import TRADITIONAL_VARIANTS, is_traditional, prepare_question, traditional_variant
from . import contact, staff
from .compare import Comparer
from .features import CANDIDATE_CLAUSES, Candidate, FeatureBuilder, TermStatistics
from .intent import Intent, analyse, has_content
from .issue_date import asks_issue_date, issue_answer
from .judge import Judge, load_reader
from .messages import EMPTY_QUESTION, WELCOME, expired
from .quotes import Quoter
from .records import Answer, Decision
from .refusal import Refusals
from .replies import Replies
from .scorer import AnswerScorer
from .sources import Sources


class Answerer:
    """Answers questions from the index: retrieval, the answer scorer and, when configured, an LLM rewrite."""

    def __init__(self, searcher: Searcher, settings: Settings | None = None, llm: object | None = None,
                 scorer: AnswerScorer | None = None, reader: Reader | bool | None = True):
        self.searcher = searcher
        self.index = searcher.index
        self.settings = settings or searcher.settings
        self.llm = llm
        self.scorer = scorer or AnswerScorer.load()
        self.terms = TermStatistics(self.index)
        self.catalogue = searcher.catalogue
        self.features = FeatureBuilder(self.index, self.terms, self.documents_of)
        self.sources = Sources(self.index)
        # reader=True: the reader when its weights are present and settings allow; False/None: the scorer alone.
        adapter = getattr(searcher, "adapter", None)  # its version is in every answer's model
        self.judge = Judge(self.scorer, load_reader(self.settings) if reader is True else (reader or None),
                           self.sources, adapter.version if adapter is not None else None)
        quoter = Quoter(self.sources, self.terms, self.judge.refuse_threshold)
        self.replies = Replies(self.sources, quoter, self.judge.version, self.catalogue.documents_of_places)
        self.refusals = Refusals(searcher, self.sources, self.catalogue, self.settings, self.judge.version)
        self.comparer = Comparer(searcher, self.catalogue, self.scored, self.judge, self.sources, quoter,
                                 self.replies, self.refusals)

    @property
    def known_places(self) -> frozenset[str]:
        """Every place a document belongs to or its catalogue region names (PlaceCatalogue.known_places)."""
        return self.catalogue.known_places

    def analyse(self, question: str) -> Intent:
        """What the question asks, read with this corpus's places and the index's own words."""
        return analyse(question, self.known_places, self.index.tokenizer)

    def documents_of(self, place: str) -> tuple[str, ...]:
        """The place's own documents, else those its region or opening lines name (PlaceCatalogue.documents_of)."""
        return self.catalogue.documents_of(place)

    # -- retrieval and scoring --------------------------------------------------------------------------

    def retrieve(self, intent: Intent, k: int = CANDIDATE_CLAUSES,
                 filters: Filters | None = None) -> tuple[list[Hit], np.ndarray]:
        """The question's top k clauses (within `filters`) and its vector, searched by its normalised text."""
        vector = self.searcher.embed_question(intent.normalized)
        return self.searcher.search(intent.normalized, k=k, filters=filters, vector=vector, normalized=True), vector

    def candidates(self, intent: Intent, hits: list[Hit], vector: np.ndarray) -> list[Candidate]:
        """Every sentence of the hits with the scorer's features, not yet scored (what training labels)."""
        return self.features.candidates(intent, hits, vector, asks_issue_date(intent))

    def scored(self, intent: Intent, hits: list[Hit], vector: np.ndarray) -> list[Candidate]:
        """Every sentence of the hits, with its probability of answering (the judge's), best first."""
        return self.judge.score(intent.normalized, self.candidates(intent, hits, vector))

    def rerank(self, question: str, k: int = 5) -> list[Hit]:
        """Hybrid search's top clauses reordered by their best sentence's probability of answering."""
        intent = self.analyse(prepare_question(question)[0])
        hits, vector = self.retrieve(intent, max(k, CANDIDATE_CLAUSES))
        best: dict[str, float] = {}
        for candidate in self.scored(intent, hits, vector):
            best.setdefault(candidate.clause.chunk_id, candidate.probability)
        ordered = sorted(hits, key=lambda h: (-best.get(h.clause.chunk_id, 0.0), h.rank))
        return [Hit(rank, best.get(h.clause.chunk_id, 0.0), h.clause, h.dense_rank, h.bm25_rank)
                for rank, h in enumerate(ordered[:k], 1)]

    # -- answering --------------------------------------------------------------------------------------

    def ask(self, question: str, resolved: str | None = None, script: tuple[str, str] | None = None) -> Answer:
        """The answer to `question` (searched as `resolved`, its stand-alone form, when given). `script`: (script,
        variant) to answer in when the question, as typed, is not itself in Traditional; a conversation gives it
        for a question that looks the same in both scripts."""
        started = time.perf_counter()
        if question and is_traditional(question):  # the words as typed decide; a resolved follow-up is Simplified
            script = ("zh-Hant", traditional_variant(question))
        text, notice = prepare_question(resolved or question)
        if not text:
            return Answer(question=question or "", answer=EMPTY_QUESTION, refused=True, script="zh-Hans",
                          decision=Decision("empty"))
        if not has_content(text):  # 你好, 🙂, ？？？: a welcome, not a search
            script = script or ("zh-Hans", TRADITIONAL_VARIANTS[0])
            welcome = Answer(question=question, answer=WELCOME, refused=True, script=script[0], variant=script[1],
                             decision=Decision("welcome"))
            welcome.answer = welcome.in_script(WELCOME)
            return welcome
        answer = self._dated(self._answer(text, resolved, script))
        answer.question, answer.notice = question, notice
        answer.latency_ms = round((time.perf_counter() - started) * 1000)
        return answer

    def _dated(self, answer: Answer) -> Answer:
        """Each citation with its document's issue date, and the answer led by a notice when the measure it
        quotes first has run out (its document states an end of validity that has passed)."""
        def dated(citation):
            return replace(citation, issued=self.index.dates(citation.doc_id).issued_words() or None)

        answer.citations = [dated(c) for c in answer.citations]
        answer.related = [dated(c) for c in answer.related]
        if answer.refused or not answer.citations:
            return answer
        dates = self.index.dates(answer.citations[0].doc_id)
        if dates.status() == "已到期":
            answer.answer = answer.in_script(expired(dates.expires.value)) + "\n" + answer.answer
        return answer

    def _answer(self, question: str, resolved: str | None, script: tuple[str, str] | None) -> Answer:
        intent = self.analyse(question)  # the one normalisation: every search reuses intent.normalized
        answer = self.comparer.answer(intent) if intent.compares else self._single(intent)
        answer.question = question
        answer.resolved_question = resolved
        if self.llm is not None and not answer.refused and answer.confidence != "low":
            answer = self.llm.rewrite(answer, self)  # a hedged answer stays the quote it is, never a fluent claim
        if script and script[0] == "zh-Hant":  # ask() decides it from the words as typed
            answer.script, answer.variant = script
        answer.answer = answer.in_script(answer.answer)
        return answer

    def _single(self, intent: Intent) -> Answer:
        """A question about one place (or none): the contact and issue-date rules first, then a scored quote."""
        foreign = tuple(p for p in intent.places if p not in self.known_places and not self.documents_of(p))
        decision = Decision("answered", intent.kind, terms=intent.terms, places=intent.places, foreign=foreign)
        if foreign and len(foreign) == len(intent.places):  # no search: nothing found could be about that place
            return self.refusals.refuse(intent, [], "place", decision)
        hits, vector = self.retrieve(intent)
        if not hits:
            return self.refusals.refuse(intent, hits, "absent", decision, vector)
        wanted = self.catalogue.documents_of_places(intent.places)
        if intent.kind == "contact":
            listed = contact.listed_contact(intent, hits, wanted, self.sources, decision, self.judge.version)
            if listed:
                return listed
        if asks_issue_date(intent):
            dated = issue_answer(intent, hits, wanted, self.sources, self.replies, decision)
            return dated or self.refusals.refuse(intent, hits, "date", decision, vector)
        return self._quoted(intent, hits, vector, decision)

    def _elsewhere(self, intent: Intent) -> set[str]:
        """The documents of another place than those the question names (none when it names none). A document
        the catalogue places nowhere stays: many news items say only 市政府 and mean the asked city."""
        if not intent.places:
            return set()
        own = {d for place in intent.places for d in self.catalogue.documents_about(place)}
        return {d for d, names in self.catalogue.places.items() if names and d not in own}

    def _quoted(self, intent: Intent, hits: list[Hit], vector: np.ndarray, decision: Decision) -> Answer:
        """The best scored sentence, stated or hedged by the thresholds; a staff question prefers a note."""
        floor = self.judge.refuse_threshold
        options = self.scored(intent, hits, vector)
        if intent.kind != "contact":  # a contact line says whom to call; it answers nothing else
            options = [o for o in options if not self.sources.on_contact_line(o.clause.doc_id, o.start, o.end)]
        if intent.kind in ("contact", "staff"):  # whom to call, who is responsible: never another place's office
            elsewhere = self._elsewhere(intent)
            options = [o for o in options if o.clause.doc_id not in elsewhere]
        if intent.kind == "contact":  # no contact listed: only a sentence that gives a number or hotline answers
            options = contact.giving_a_number(options, self.sources)
            if not options or options[0].probability < floor:
                return self.refusals.refuse(intent, hits, "contact", decision, vector)
        p = options[0].probability if options else 0.0
        decision = replace(decision, probability=round(p, 4))
        if not options or p < floor:
            return self.refusals.refuse(intent, hits, "absent", decision, vector)
        confident, best = p >= self.judge.answer_threshold, options[0]
        if intent.kind == "staff":
            noted = staff.responsibility_answer(intent, options, decision, confident, floor, self.sources, self.replies)
            if noted:
                return noted
            options = staff.assigning_work(options, floor, self.sources, intent)
            if not options:
                return self.refusals.refuse(intent, hits, "duty", decision, vector)
            best = options[0]
        return self.replies.quoted(intent, best, options, decision, confident, p)  # p: the best before filtering
