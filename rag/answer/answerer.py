"""Answer: a question -> a short answer in plain Chinese that quotes the policy, every claim cited.

Extractive by default, no LLM: retrieve clauses, turn each sentence of the top clauses into a candidate,
let the learned answer scorer (rag/scorer.py) give each a probability of answering, and quote the best one
verbatim, cited down to the clause. Above the scorer's answer threshold the sentence is stated as the answer;
between its two thresholds it is offered in hedged words as the closest provision; below, or when the
question names only places with no document, the answer says the documents do not say, states nothing as
fact, and lists the closest clauses as related reading.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np

from ..config import Settings
from ..ingest import SENTENCE, Clause, line_start, notes_in
from ..retrieve import Filters, Hit, Searcher
from ..text import (
    GREETINGS,
    TRADITIONAL_VARIANTS,
    is_traditional,
    normalize_query,
    prepare_question,
    region_places,
    to_traditional,
    traditional_variant,
)
from .examples import EXAMPLES
from .features import DATE, DUTY_WORDS, ISSUE_VERBS, ISSUE_WORDS, Candidate, FeatureBuilder, TermStatistics, matrix
from .intent import Intent, analyse
from .scorer import AnswerScorer

SEGMENT = re.compile(r"[^，,]+[，,]?")
WHEN = "哪天|哪一天|什么时候|哪年|日期|时间|何时"
ISSUE_QUESTION = re.compile(rf"(?:{WHEN}).*(?:{ISSUE_VERBS})|(?:{ISSUE_VERBS}).*(?:{WHEN})")
# A date standing alone: in brackets under a title (（2022年4月6日）) or on a line of its own (a signature).
STANDALONE_DATE = re.compile(r"[（(]\s*\d{4}年\d{1,2}月\d{1,2}日\s*[)）]|^\s*\d{4}年\d{1,2}月\d{1,2}日\s*$", re.M)
MAX_QUOTE = 150
OPENING_CHARS = 300  # a document's opening lines: title, issuer, addressees
# A phone number or hotline: what a contact question needs when the document lists no contact of its own.
PHONE = re.compile(r"\d{3,4}[-－—]\d{7,8}|(?<!\d)\d{5,12}(?!\d)|热线|服务电话|咨询电话")
# Clauses whose sentences the scorer reads; reranking reorders the same clauses.
CANDIDATE_CLAUSES = 10
EMPTY_QUESTION = f"请输入您想咨询的问题，例如：{EXAMPLES[0]}"
WELCOME = f"您好！我可以根据政策文件回答问题，并注明出处。您可以这样问：{EXAMPLES[0]}{EXAMPLES[1]}"
HEDGE = "文件中没有直接的表述；与此最相关的规定是"


CONTENT = re.compile(r"[\u4e00-\u9fff]|[a-z]")


def _contact(contact, **extra) -> dict:
    """A document's contact as answers carry it in `contacts` (the JSON contract), with where it came from."""
    return {**contact.card(), **extra}


def has_content(text: str) -> bool:
    """Whether a message asks something: a word (a Chinese character, a Latin letter) is left once greetings,
    punctuation and emoji are removed. A bare number ("0", "2025") asks nothing a clause could answer."""
    rest = normalize_query(text).lower()  # NFKC: a full-width ＧＤＰ is GDP
    for greeting in sorted(GREETINGS, key=len, reverse=True):
        rest = rest.replace(greeting, "")
    return bool(CONTENT.search(rest))


@dataclass(frozen=True)
class Citation:
    """A quoted span of a document, marked [n] in the answer: its clause, title, section and offsets in the text."""

    n: int
    doc_id: str
    title: str
    section: str
    quote: str  # an exact substring of the cleaned document text: text[start:end]
    chunk_id: str
    start: int
    end: int

    def to_dict(self, script: str = "zh-Hans", variant: str = "s2tw") -> dict:
        """The citation as JSON fields; for zh-Hant also display_* copies of title, section and quote in Traditional."""
        data = asdict(self)
        if script == "zh-Hant":  # what the asker reads; `quote` stays verifiable against the source
            data.update(display_title=to_traditional(self.title, variant),
                        display_section=to_traditional(self.section, variant),
                        display_quote=to_traditional(self.quote, variant))
        return data


@dataclass
class Answer:
    """A reply to one question: the text, whether it refused, its citations, contacts and related reading, and why."""

    question: str
    answer: str
    refused: bool
    script: str
    citations: list[Citation] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    resolved_question: str | None = None
    intent: Intent | None = None
    latency_ms: int = 0
    mode: str = "extractive"
    variant: str = "s2tw"  # the Traditional variant used when script is zh-Hant
    notice: str | None = None  # told to the asker besides the answer, e.g. that a long question was cut
    why: dict = field(default_factory=dict)  # the evidence behind answering or refusing, for staff and tests
    confidence: str | None = None  # high | low (hedged) for scored answers
    probability: float | None = None  # the answer scorer's probability for the quoted sentence
    model: str | None = None  # the answer scorer's version

    def in_script(self, text: str) -> str:
        """`text` in the asker's script: Traditional (their variant) when they wrote Traditional."""
        return to_traditional(text, self.variant) if self.script == "zh-Hant" else text

    def to_dict(self, question_id: str | None = None) -> dict:
        """The answer in the `policy-rag ask --json` contract (optional fields only when they are set)."""
        data = {
            "id": question_id, "question": self.question, "answer": self.answer, "refused": self.refused,
            "script": self.script, "citations": [c.to_dict(self.script, self.variant) for c in self.citations],
            "contacts": self.contacts, "latency_ms": self.latency_ms,
            "related": [c.to_dict(self.script, self.variant) for c in self.related], "mode": self.mode,
        }
        if self.resolved_question and self.resolved_question != self.question:
            data["resolved_question"] = self.resolved_question
        if self.notice:
            data["notice"] = self.notice
        if self.model:
            data.update(model=self.model, confidence=self.confidence,
                        probability=None if self.probability is None else round(self.probability, 4))
        return data



class Answerer:
    """Answers questions from the index: retrieval, the answer scorer and, when configured, an LLM rewrite."""

    def __init__(self, searcher: Searcher, settings: Settings | None = None, llm=None,
                 scorer: AnswerScorer | None = None):
        self.searcher = searcher
        self.index = searcher.index
        self.settings = settings or searcher.settings
        self.llm = llm
        self.scorer = scorer or AnswerScorer.load()
        self.terms = TermStatistics(self.index)
        self._documents_of: dict[str, tuple[str, ...]] = {}
        self.features = FeatureBuilder(self.index, self.terms, self.documents_of)

    # -- corpus facts ---------------------------------------------------------------------------------

    @cached_property
    def known_places(self) -> frozenset[str]:
        """Every place a document belongs to or its catalogue region names, computed once per answerer."""
        places = {p for ps in self.searcher.places.values() for p in ps}
        for doc in self.index.documents.values():
            places.update(region_places(str(doc.metadata.get("region") or "")))
        return frozenset(places)

    def documents_of(self, place: str) -> tuple[str, ...]:
        """The place's own documents (江西 -> the province's, not every city's in it); else those whose region
        names it; else those whose title or opening lines do (a notice of 深圳市… filed without a catalogue)."""
        if place not in self._documents_of:
            docs = self.index.documents
            own = tuple(d for d, names in self.searcher.places.items() if place in names)
            self._documents_of[place] = (
                own or tuple(d for d, doc in docs.items() if place in str(doc.metadata.get("region", "")))
                or tuple(d for d, doc in docs.items() if place in doc.title or place in doc.text[:OPENING_CHARS]))
        return self._documents_of[place]

    # -- scoring ----------------------------------------------------------------------------------------

    def scored(self, intent: Intent, hits: list[Hit], vector: np.ndarray) -> list[Candidate]:
        """Every sentence of the hits, with the scorer's probability, best first."""
        issue = bool(ISSUE_QUESTION.search(intent.normalized))
        found = self.features.candidates(intent, hits, vector, issue)
        for candidate, p in zip(found, self.scorer.probability(matrix(found))):
            candidate.probability = float(p)
        return sorted(found, key=lambda c: -c.probability)

    def _retrieve(self, intent: Intent, k: int = CANDIDATE_CLAUSES,
                  filters: Filters | None = None) -> tuple[list[Hit], np.ndarray]:
        vector = self.searcher.embed_question(intent.normalized)
        return self.searcher.search(intent.normalized, k=k, filters=filters, vector=vector), vector

    def rerank(self, question: str, k: int = 5) -> list[Hit]:
        """Hybrid search's top clauses reordered by their best sentence's probability of answering."""
        intent = analyse(prepare_question(question)[0], self.known_places)
        hits, vector = self._retrieve(intent, max(k, CANDIDATE_CLAUSES))
        best: dict[str, float] = {}
        for candidate in self.scored(intent, hits, vector):
            best.setdefault(candidate.clause.chunk_id, candidate.probability)
        ordered = sorted(hits, key=lambda h: (-best.get(h.clause.chunk_id, 0.0), h.rank))
        return [Hit(rank, best.get(h.clause.chunk_id, 0.0), h.clause, h.dense_rank, h.bm25_rank)
                for rank, h in enumerate(ordered[:k], 1)]

    def _trim(self, text: str, offset: int, intent: Intent) -> tuple[int, int]:
        """A long sentence is cut to the comma-separated parts around the one that covers most of the question."""
        if len(text) <= MAX_QUOTE:
            return offset, offset + len(text)
        parts = [(m.start(), m.end()) for m in SEGMENT.finditer(text)]
        scores = [self.terms.coverage(intent, text[a:b].lower()) + (0.5 if intent.years and any(
            y in text[a:b] for y in intent.years) else 0.0) for a, b in parts]
        best = max(range(len(parts)), key=scores.__getitem__)
        first, last = max(0, best - 1), min(len(parts) - 1, best + 1)
        return offset + parts[first][0], offset + parts[last][1]

    def _quote_span(self, intent: Intent, best: Candidate, options: list[Candidate]) -> tuple[int, int]:
        """The best sentence (trimmed if long), with its paragraph's lead when that carries the asked year, and
        the neighbouring sentences of its clause the scorer also finds likely to answer (a list that goes on)."""
        text = self.index.documents[best.clause.doc_id].text
        start, end = self._trim(text[best.start:best.end], best.start, intent)
        paragraph = line_start(text, best.clause, best.start)
        lead = text[paragraph:best.start]
        if intent.years and any(y in lead and y not in text[start:end] for y in intent.years) \
                and end - paragraph <= 3 * MAX_QUOTE:
            start = paragraph
        siblings = sorted((c for c in options if c.clause.chunk_id == best.clause.chunk_id), key=lambda c: c.start)
        floor = max(self.scorer.refuse_threshold, best.probability / 2)
        at = next(i for i, c in enumerate(siblings) if c.start == best.start)
        for step in (-1, 1):
            i = at + step
            while 0 <= i < len(siblings) and siblings[i].probability >= floor:
                a, b = min(start, siblings[i].start), max(end, siblings[i].end)
                if b - a > 3 * MAX_QUOTE or "\n" in text[a:b]:  # one paragraph: the next may be another year's
                    break
                start, end = a, b
                i += step
        return start, end

    # -- answering --------------------------------------------------------------------------------------

    def _citation(self, n: int, clause: Clause, start: int, end: int) -> Citation:
        text = self.index.documents[clause.doc_id].text
        return Citation(n, clause.doc_id, clause.title, clause.section, text[start:end], clause.chunk_id, start, end)

    def _related(self, intent: Intent, hits: list[Hit], vector: np.ndarray | None = None,
                 limit: int = 3) -> list[Citation]:
        """The closest clauses as further reading: only the asked place's when the question names a place
        with documents, none when it names only places without; never a document's contact line, so a
        refusal does not lead with some other office's phone number."""
        wanted = tuple(d for p in intent.places for d in self.documents_of(p))
        if intent.places and not wanted:
            return []
        if wanted:
            hits = [h for h in hits if h.clause.doc_id in wanted] or self.searcher.search(
                intent.normalized, k=CANDIDATE_CLAUSES, filters=Filters(doc_ids=wanted), vector=vector)
        readable = [h for h in hits if not self._holds_contact(h.clause)]
        return [self._citation(i, h.clause, h.clause.start, h.clause.end) for i, h in enumerate(readable[:limit], 1)]

    def _holds_contact(self, clause: Clause) -> bool:
        return any(clause.start <= c.start < clause.end for c in self.index.documents[clause.doc_id].contact_list)

    def _refusal_contact(self, intent: Intent) -> dict:
        """Whom to ask instead: the named place's own consulting contact, else the configured general line
        (by default the 12345 government service hotline)."""
        for place in intent.places:
            for doc_id in self.documents_of(place):
                for contact in self.index.documents[doc_id].contact_list:
                    return _contact(contact, doc_id=doc_id, start=contact.start, end=contact.end)
        return {"name": self.settings.general_contact_name, "phone": self.settings.general_contact_phone,
                "organisation": None, "general": True}

    def _contacts(self, citations: list[Citation]) -> list[dict]:
        contacts, seen = [], set()
        for citation in citations:
            for contact in self.index.documents[citation.doc_id].contact_list:
                if contact.phone not in seen:
                    seen.add(contact.phone)
                    contacts.append(_contact(contact, source_n=citation.n))
        return contacts

    def _refuse(self, intent: Intent, hits: list[Hit], reason: str, why: dict,
                vector: np.ndarray | None = None) -> Answer:
        """A plain refusal, whom to ask instead, and the closest clauses of the asked place as further reading
        (`vector`: the question's, when it was already embedded)."""
        lead = {
            "place": f"这些政策文件中没有{'、'.join(why.get('foreign', ()))}的文件，无法回答这个问题。",
            "date": "文件中没有写明这一日期，无法确认。",
            "contact": "检索到的文件中没有给出相关的咨询电话或联系人。",
            "duty": "文件中没有写明这项工作由哪个部门负责。",
        }.get(reason, "这些政策文件中没有找到能回答这个问题的内容。")
        related = self._related(intent, hits, vector)
        contact = self._refusal_contact(intent)
        if contact.get("general"):
            phone = "" if contact["phone"] in contact["name"] else f"（{contact['phone']}）"
            ask = f"如需咨询，可拨打{contact['name']}{phone}。"
        else:
            ask = f"如需咨询，可联系{self._who(contact['organisation'], contact['name'])}，电话{contact['phone']}。"
        reading = "；".join(f"《{c.title}》{c.section or ''}" for c in related)
        text = lead + ask + (f"以下条款可能相关，供参考：{reading}。" if related else "")
        return Answer(intent.question, text, True, intent.script, contacts=[contact], related=related, intent=intent,
                      why={**why, "refused_because": reason}, model=self.scorer.version,
                      probability=why.get("probability") if reason == "absent" else None)

    def _single(self, intent: Intent) -> Answer:
        why = {"kind": intent.kind, "terms": list(intent.terms), "places": list(intent.places)}
        foreign = [p for p in intent.places if p not in self.known_places and not self.documents_of(p)]
        why["foreign"] = foreign
        if foreign and len(foreign) == len(intent.places):  # no search: nothing found could be about that place
            return self._refuse(intent, [], "place", why)
        hits, vector = self._retrieve(intent)
        if not hits:
            return self._refuse(intent, hits, "absent", why, vector)
        if intent.kind == "contact":
            listed = self._contact_answer(intent, hits, why)
            if listed:
                return listed
        if ISSUE_QUESTION.search(intent.normalized):
            return self._issue_answer(intent, hits, why, vector)
        options = self.scored(intent, hits, vector)
        if intent.kind == "contact":  # no contact listed: only a sentence that gives a number or hotline answers
            options = [c for c in options if PHONE.search(self.index.documents[c.clause.doc_id].text[c.start:c.end])]
            if not options or options[0].probability < self.scorer.refuse_threshold:
                return self._refuse(intent, hits, "contact", why, vector)
        best = options[0] if options else None
        p = best.probability if best else 0.0
        why.update(probability=round(p, 4))
        if best is None or p < self.scorer.refuse_threshold:
            return self._refuse(intent, hits, "absent", why, vector)
        confident = p >= self.scorer.answer_threshold
        if intent.kind == "staff":
            staffed = self._staff_answer(intent, options, why, confident)
            if staffed:
                return staffed
            # No responsibility note: only a sentence that itself assigns the work (…负责/牵头/统筹…) answers.
            options = [c for c in options if c.probability >= self.scorer.refuse_threshold
                       and DUTY_WORDS.search(self.index.documents[c.clause.doc_id].text[c.start:c.end])]
            if not options:
                return self._refuse(intent, hits, "duty", why, vector)
            best = options[0]
        start, end = self._quote_span(intent, best, options)
        citation = self._citation(1, best.clause, start, end)
        source = f"《{best.clause.title}》{self._where(best.clause)}"
        text = (f"根据{source}：{citation.quote}[1]" if confident
                else f"{HEDGE}{source}：{citation.quote}[1]（仅供参考，请以原文为准）")
        return self._finish(intent, text, [citation], why, confident, p)

    def _staff_answer(self, intent: Intent, options: list[Candidate], why: dict, confident: bool) -> Answer | None:
        """Who leads: the best clause that carries a responsibility note, its task and note quoted as one span."""
        floor = self.scorer.refuse_threshold
        for option in options:
            if option.probability < floor:
                break
            clause = option.clause
            notes = notes_in(clause.text)
            if not notes or not (clause.lead_departments or clause.supporting_departments):
                continue
            note = notes[0]
            note_start, note_end = clause.start + note.start(), clause.start + note.end()
            # The task: the sentence just before the note (or the one that holds it), then the note itself.
            text = self.index.documents[clause.doc_id].text
            before = [m for m in SENTENCE.finditer(text, clause.start, note_start) if m.group(0).strip()]
            start = before[-1].start() if before and note_start - before[-1].start() <= 2 * MAX_QUOTE else note_start
            citation = self._citation(1, clause, start, note_end)
            topic = clause.section_path[-1] if clause.section_path else clause.title
            lead = f"根据《{clause.title}》“{topic}”" if confident else f"{HEDGE}《{clause.title}》“{topic}”"
            why.update(departments=True)
            return self._finish(intent, f"{lead}：{citation.quote.strip()}[1]", [citation], why, confident,
                                option.probability)
        return None

    def _issue_answer(self, intent: Intent, hits: list[Hit], why: dict, vector: np.ndarray) -> Answer:
        """When was it issued: a date standing alone under the title or at the signature, or a sentence that
        issues the asked document with a date, in the best-ranked document (of the asked place, if named)."""
        wanted = {d for p in intent.places for d in self.documents_of(p)}
        docs = list(dict.fromkeys(h.clause.doc_id for h in hits if not wanted or h.clause.doc_id in wanted))
        for doc_id in docs[:3]:
            text = self.index.documents[doc_id].text
            spans = [m.span() for m in STANDALONE_DATE.finditer(text)]
            spans += [m.span() for m in SENTENCE.finditer(text) if ISSUE_WORDS.search(m.group(0))
                      and DATE.search(m.group(0)) and self._names_document(intent, m.group(0), doc_id)]
            for start, end in sorted(spans):
                clause = self._clause_at(doc_id, start, end)
                if clause is None:
                    continue
                quote = text[start:end].strip()
                start += text[start:end].find(quote)
                citation = self._citation(1, clause, start, start + len(quote))
                answer = f"根据《{clause.title}》：{citation.quote}[1]"
                return self._finish(intent, answer, [citation], {**why, "issue_date": True}, True, None)
        return self._refuse(intent, hits, "date", why, vector)

    def _names_document(self, intent: Intent, sentence: str, doc_id: str) -> bool:
        """The sentence issues this document (《瑞金市碳达峰实施方案》…印发, 本方案…), not one it cites."""
        title = self.index.documents[doc_id].title
        for cited in re.findall(r"《([^》]+)》", sentence):
            if cited in title or any(p in cited for p in intent.places):
                return True
        return re.search(r"本(?:方案|意见|通知|办法|规定|细则|措施|计划)", sentence) is not None

    def _clause_at(self, doc_id: str, start: int, end: int) -> Clause | None:
        for row in self.index.doc_rows.get(doc_id, ()):
            clause = self.index.clauses[row]
            if clause.start <= start and end <= clause.end:
                return clause
        return None

    @staticmethod
    def _who(organisation: str | None, name: str) -> str:
        if organisation and name != organisation:
            return f"{organisation}（联系人：{name}）"
        return organisation or name

    @staticmethod
    def _where(clause: Clause) -> str:
        return f"“{clause.section_path[-1]}”" if clause.section_path else ""

    def _contact_answer(self, intent: Intent, hits: list[Hit], why: dict) -> Answer | None:
        wanted = {d for p in intent.places for d in self.documents_of(p)}
        for hit in hits:
            doc_id = hit.clause.doc_id
            if wanted and doc_id not in wanted:
                continue
            doc = self.index.documents[doc_id]
            for contact in doc.contact_list:
                clause = self._clause_at(doc_id, contact.start, contact.end) or hit.clause
                citation = self._citation(1, clause, contact.start, contact.end)
                who = self._who(contact.organisation, contact.name)
                text = f"《{doc.title}》给出的咨询方式：{who}，电话{contact.phone}。原文：{citation.quote}[1]"
                return Answer(intent.question, text, False, intent.script, [citation],
                              [_contact(contact, source_n=1)], intent=intent, why={**why, "contact": True},
                              confidence="high", model=self.scorer.version)
        return None

    def _finish(self, intent: Intent, text: str, citations: list[Citation], why: dict, confident: bool = True,
                probability: float | None = None) -> Answer:
        contacts = self._contacts(citations)
        if contacts:
            c = contacts[0]
            text += f"\n如需进一步咨询，可联系{self._who(c['organisation'], c['name'])}，电话{c['phone']}。"
        return Answer(intent.question, text, False, intent.script, citations, contacts, intent=intent, why=why,
                      confidence="high" if confident else "low", probability=probability, model=self.scorer.version)

    def _compare(self, intent: Intent) -> Answer:
        rows, citations, probabilities = [], [], []
        vector = self.searcher.embed_question(intent.normalized)
        for place in intent.places:
            docs = self.documents_of(place)
            if not docs:
                rows.append(f"{place}：这些文件中没有{place}的政策文件。")
                continue
            question = intent.normalized
            for other in intent.places:
                if other != place:
                    question = question.replace(other, "")
            sub = analyse(question, self.known_places)
            hits = self.searcher.search(question, k=CANDIDATE_CLAUSES, filters=Filters(doc_ids=docs), vector=vector)
            options = self.scored(sub, hits, vector)
            best = options[0] if options else None
            if best is None or best.probability < self.scorer.refuse_threshold:
                rows.append(f"{place}：文件中没有找到相关内容。")
                continue
            start, end = self._quote_span(sub, best, options)
            citation = self._citation(len(citations) + 1, best.clause, start, end)
            citations.append(citation)
            probabilities.append(best.probability)
            rows.append(f"{place}（《{best.clause.title}》{self._where(best.clause)}）：{citation.quote}[{citation.n}]")
        if not citations:
            hits = self.searcher.search(intent.normalized, k=CANDIDATE_CLAUSES, vector=vector)
            return self._refuse(intent, hits, "absent", {"kind": "compare", "places": list(intent.places)}, vector)
        confident = min(probabilities) >= self.scorer.answer_threshold
        text = "\n".join(f"- {row}" for row in rows)
        return self._finish(intent, text if confident else f"{HEDGE}：\n{text}", citations, {"kind": "compare"},
                            confident, min(probabilities))

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
                          why={"empty_question": True})
        if not has_content(text):  # 你好, 🙂, ？？？: a welcome, not a search
            script = script or ("zh-Hans", TRADITIONAL_VARIANTS[0])
            welcome = Answer(question=question, answer=WELCOME, refused=True, script=script[0], variant=script[1],
                             why={"empty_question": True, "greeting": True})
            welcome.answer = welcome.in_script(WELCOME)
            return welcome
        answer = self._answer(text, resolved, script)
        answer.question, answer.notice = question, notice
        answer.latency_ms = round((time.perf_counter() - started) * 1000)
        return answer

    def _answer(self, question: str, resolved: str | None, script: tuple[str, str] | None) -> Answer:
        intent = analyse(question, self.known_places)
        answer = self._compare(intent) if intent.compares else self._single(intent)
        answer.question = question
        answer.resolved_question = resolved
        if self.llm is not None and not answer.refused and answer.confidence != "low":
            answer = self.llm.rewrite(answer, self)  # a hedged answer stays the quote it is, never a fluent claim
        if script and script[0] == "zh-Hant":  # ask() decides it from the words as typed
            answer.script, answer.variant = script
        answer.answer = answer.in_script(answer.answer)
        return answer


FOLLOW_UP_MAX_CHARS = 40
FOLLOW_UP_PLACE = re.compile(r"^(?:那|那么|那个)?(.{2,12}?)(?:呢|的呢|怎么样|如何)?[？?。.！!]*$")
PRONOUN = re.compile(r"这个|这项|该项|这条|那条|上述|它|其|此项")


class Conversation:
    """A dialogue: a follow-up ("那成都呢?", "这个由谁负责?") is read against the previous turn."""

    def __init__(self, answerer: Answerer):
        self.answerer = answerer
        self.turns: list[Answer] = []

    @classmethod
    def continuing(cls, previous: Conversation | None, answerer: Answerer) -> Conversation:
        """The same dialogue on another answerer (after staff changed the corpus): its turns carry over."""
        conversation = cls(answerer)
        conversation.turns = list(previous.turns) if previous else []
        return conversation

    def resolve(self, question: str) -> str:
        """The question as it would be asked on its own."""
        last = self.context()
        if last is None or len(question) > FOLLOW_UP_MAX_CHARS:  # a follow-up is a few words, never a page
            return question
        previous = last.resolved_question or last.question
        before = last.intent or analyse(previous, self.answerer.known_places)
        now = analyse(question, self.answerer.known_places)
        short = len(now.normalized) <= 14
        if now.places and not now.terms and short and FOLLOW_UP_PLACE.match(now.normalized):
            # "那成都呢?": the previous question, about the new place.
            resolved = before.normalized
            for old in before.places:
                new = "、".join(now.places) if old == before.places[0] else ""
                resolved = resolved.replace(old, new, 1) if new else resolved.replace(old, "")
            return resolved if before.places else "、".join(now.places) + resolved
        if PRONOUN.search(now.normalized) and not now.places and short:
            # "这个由谁负责?": the pronoun is the previous question's subject.
            return PRONOUN.sub(before.normalized.rstrip("？?。"), now.normalized, count=1)
        return question

    def context(self) -> Answer | None:
        """The turn a follow-up refers to: the last answered question (a refusal does not set the topic),
        else the last question that asked something."""
        asked = [t for t in self.turns if not t.why.get("empty_question")]
        answered = [t for t in asked if not t.refused]
        return (answered or asked or [None])[-1]

    def ask(self, question: str) -> Answer:
        """The answer to `question` read as a follow-up of this dialogue; the turn is remembered."""
        resolved = self.resolve(question)
        # A follow-up written the same in both scripts (那瑞金呢？) is answered in the script of the last turn
        # that asked something (a greeting in between does not reset it).
        asked = [t for t in self.turns if not t.why.get("empty_question")]
        last = asked[-1] if asked else None
        script = (last.script, last.variant) if last and to_traditional(question, last.variant) == question else None
        answer = self.answerer.ask(question, resolved=resolved if resolved != question else None, script=script)
        self.turns.append(answer)
        return answer
