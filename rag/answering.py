"""Answer: a question -> a short answer in plain Chinese that quotes the policy, every claim cited.

Extractive by default, no LLM: retrieve clauses, pick the sentence that carries what was asked (the number,
the year, the department, the definition, the contact), quote it verbatim and cite it down to the clause.
When nothing retrieved covers the question — a place with no document, a topic absent, a detail the text
never gives — the answer says so, states nothing as fact and lists the closest clauses as related reading.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np

from .clauses import Clause
from .headings import match_heading
from .responsibility import notes_in
from .config import Settings
from .intent import SYNONYMS, YEAR, Intent, analyse
from .search import Filters, Hit, Searcher
from .textnorm import prepare_question, to_traditional, traditional_variant

SENTENCE = re.compile(r"[^。！？；;!?\n]+[。！？；;!?]?")
SEGMENT = re.compile(r"[^，,]+[，,]?")
DIGIT = re.compile(r"\d")
DATE = re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?")
ISSUE_WORDS = re.compile(r"印发|发布|出台|通过|公布|施行|颁布")
ISSUE_QUESTION = re.compile(r"(?:哪天|哪一天|什么时候|哪年|哪一年|日期|时间|何时|哪次会议).*(?:印发|发布|出台|通过|公布|施行)|"
                            r"(?:印发|发布|出台|通过|公布|施行).*(?:哪天|哪一天|什么时候|哪年|哪一年|日期|时间|何时|哪次会议)")
DUTY_WORDS = re.compile(r"负责|牵头|统筹|组织")
MAX_QUOTE = 150
CANDIDATES = 6
# The share of a question's information (idf-weighted terms) a clause must cover to count as an answer.
# Tuned on eval/dev_questions.jsonl; see README.
MIN_COVERAGE = 0.55
STATS_SAMPLE = 20_000
EMPTY_QUESTION = "请输入您想咨询的问题，例如：成都到2025年新能源车要达到多少辆？"


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    quote: str  # an exact substring of the cleaned document text: text[start:end]
    chunk_id: str
    start: int
    end: int

    def to_dict(self, script: str = "zh-Hans", variant: str = "s2tw") -> dict:
        data = asdict(self)
        if script == "zh-Hant":  # what the asker reads; `quote` stays verifiable against the source
            data.update(display_title=to_traditional(self.title, variant),
                        display_section=to_traditional(self.section, variant),
                        display_quote=to_traditional(self.quote, variant))
        return data


@dataclass
class Answer:
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

    def to_dict(self, question_id: str | None = None) -> dict:
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
        return data


@dataclass(frozen=True)
class Candidate:
    """A sentence (or the part of one) that might answer, with the clause it sits in."""

    clause: Clause
    start: int  # offsets into the cleaned document
    end: int
    score: float
    coverage: float  # share of the question's information found in the clause, title and section
    hit: Hit


class Answerer:
    def __init__(self, searcher: Searcher, settings: Settings | None = None, llm=None):
        self.searcher = searcher
        self.index = searcher.index
        self.settings = settings or searcher.settings
        self.llm = llm
        self._idf_cache: dict[str, float] = {}
        self._typo_cache: dict[str, str | None] = {}

    # -- corpus facts ---------------------------------------------------------------------------------

    @cached_property
    def known_places(self) -> frozenset[str]:
        places = {p for ps in self.searcher.places.values() for p in ps}
        for doc in self.index.documents.values():
            region = str(doc.metadata.get("region") or "")
            places.update(re.findall(r"([\u4e00-\u9fff]{2,6}?)(?:省|市|区|县)", region))
        return frozenset(places)

    def documents_of(self, place: str) -> tuple[str, ...]:
        return tuple(
            doc_id for doc_id, doc in self.index.documents.items()
            if place in self.searcher.places.get(doc_id, ()) or place in str(doc.metadata.get("region", ""))
        )

    @cached_property
    def _statistics_text(self) -> tuple[str, np.ndarray]:
        """The clauses term statistics are counted on, lower-cased and joined by newlines (no term spans
        one), with where each starts: one C-level regex scan per new term instead of a Python loop over the
        clauses. All clauses up to STATS_SAMPLE, an even sample above it (a share estimated from 20,000
        clauses is as good as exact; scanning 10⁶ per new term is not)."""
        clauses = self.index.clauses
        step = max(1, math.ceil(len(clauses) / STATS_SAMPLE))
        texts = [f"{c.title} {c.section} {c.text}".lower().replace("\n", " ") for c in clauses[::step]]
        starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]]) if texts else np.zeros(0, np.int64)
        return "\n".join(texts), starts

    def _in_vocabulary(self, term: str) -> bool:
        model = self.index.bm25.model
        return model is not None and term in model.vocab_dict

    def idf(self, term: str) -> float:
        """How rare a term is in the corpus: clauses containing it (or a synonym) as a substring, so words
        jieba splits differently ("碳惠" inside "碳惠天府") are still found."""
        if term not in self._idf_cache:
            text, starts = self._statistics_text
            pattern = re.compile("|".join(re.escape(t) for t in (term, *SYNONYMS.get(term, ()))))
            positions = [m.start() for m in pattern.finditer(text)]
            df = len(np.unique(np.searchsorted(starts, positions, side="right"))) if positions else 0
            n = len(starts) or 1
            self._idf_cache[term] = math.log((n - df + 0.5) / (df + 0.5) + 1.0)
        return self._idf_cache[term]

    def corrected(self, term: str) -> str:
        """A term of three or more characters the corpus never uses, one character away from one it does
        (履盖率 -> 覆盖率, 充电装 -> 充电桩), is read as that one: typed questions have typos. Two-character
        terms are left alone: 房价 is not a typo of 电价."""
        if term in self._typo_cache:
            return self._typo_cache[term] or term
        best = None
        text, _ = self._statistics_text
        if len(term) >= 3 and not self._in_vocabulary(term) and term not in text:
            pattern = re.compile("|".join(re.escape(term[:i]) + "[\u4e00-\u9fff]" + re.escape(term[i + 1:])
                                          for i in range(len(term))))
            counts = Counter(pattern.findall(text))
            if counts:
                best = max(counts, key=counts.get)
        self._typo_cache[term] = best
        return best or term

    # -- scoring ----------------------------------------------------------------------------------------

    @staticmethod
    def _found(term: str, text: str) -> bool:
        """`text` is lower-cased by the caller, once (question terms are lower-cased already)."""
        return term in text or any(s in text for s in SYNONYMS.get(term, ()))

    def coverage(self, intent: Intent, clause: Clause) -> float:
        """The idf-weighted share of the question's terms the clause (with its title and section) contains.
        A term nested in a longer one ("能源" in "新能源汽车") is not counted twice."""
        longest = [t for t in intent.terms if not any(t != other and t in other for other in intent.terms)]
        if not longest:
            return 1.0
        haystack = f"{clause.title} {clause.section} {clause.text}".lower()
        found = total = 0.0
        for term in longest:
            corrected = self.corrected(term)
            # A term glued together from single characters (新盖, 碳惠) is a guess: it counts half.
            weight = self.idf(corrected) * (0.5 if term in intent.guessed else 1.0)
            total += weight
            if self._found(corrected, haystack):
                found += weight
            else:  # "碳达峰" absent but "达峰" there: credit for the part that is
                parts = [p for p in intent.terms if p != term and p in term and self._found(p, haystack)]
                if parts:
                    found += weight * max(len(p) for p in parts) / len(term)
        return found / (total or 1.0)

    def _sentence_score(self, intent: Intent, text: str, clause_text: str, rank: int, scope: str = "") -> float:
        """`clause_text` lower-cased by the caller (once per clause, not once per sentence)."""
        terms = [self.corrected(t) for t in intent.terms]
        text = text.lower()
        score = sum(self.idf(t) * (1.0 if self._found(t, text) else 0.3 if self._found(t, clause_text) else 0.0)
                    for t in terms)
        for year in intent.years:
            score += 3.0 if year in text or year in scope else -2.0
        if intent.kind == "numeric":
            score += 2.0 if DIGIT.search(text) else -2.0
        if intent.kind == "definition" and "指" in text:
            score += 3.0
        if intent.kind == "staff" and DUTY_WORDS.search(text):
            score += 2.0
        return score + 2.0 / rank

    def _trim(self, intent: Intent, text: str, offset: int) -> tuple[int, int]:
        """A long sentence is cut to the comma-separated parts around the one that answers."""
        if len(text) <= MAX_QUOTE:
            return offset, offset + len(text)
        parts = [(m.start(), m.end()) for m in SEGMENT.finditer(text)]
        lowered = text.lower()
        scores = [self._sentence_score(intent, text[a:b], lowered, 1) for a, b in parts]
        best = max(range(len(parts)), key=scores.__getitem__)
        first, last = max(0, best - 1), min(len(parts) - 1, best + 1)
        return offset + parts[first][0], offset + parts[last][1]

    def candidates(self, intent: Intent, hits: list[Hit]) -> list[Candidate]:
        found = []
        for hit in hits:
            clause = hit.clause
            coverage = self.coverage(intent, clause)
            clause_text = clause.text.lower()
            previous: tuple[int, str] | None = None  # the sentence before, in the same paragraph
            for match in SENTENCE.finditer(clause.text):
                text = match.group(0).strip()
                if match.start() > 0 and clause.text[match.start() - 1] == "\n":
                    previous = None
                if len(text) < 4 or self._is_heading(text):
                    continue
                local = match.start() + match.group(0).find(text)
                # "到2025年,…初步形成。…比重达到18.3%…": the year of a paragraph's lead governs what follows.
                scope = previous[1] if previous and not YEAR.search(text) else ""
                score = self._sentence_score(intent, text, clause_text, hit.rank, scope) + 4.0 * coverage
                start, end = self._trim(intent, text, clause.start + local)
                if scope and any(y in scope and y not in text for y in intent.years) and \
                        end - (clause.start + previous[0]) <= 2 * MAX_QUOTE:
                    start = clause.start + previous[0]  # quote the lead sentence that carries the year
                found.append(Candidate(clause, start, end, score, coverage, hit))
                previous = (local, text)
        return sorted(found, key=lambda c: -c.score)

    # -- answering --------------------------------------------------------------------------------------

    def _citation(self, n: int, clause: Clause, start: int, end: int) -> Citation:
        text = self.index.documents[clause.doc_id].text
        return Citation(n, clause.doc_id, clause.title, clause.section, text[start:end], clause.chunk_id, start, end)

    def _related(self, hits: list[Hit], limit: int = 3) -> list[Citation]:
        return [self._citation(i, h.clause, h.clause.start, h.clause.end) for i, h in enumerate(hits[:limit], 1)]

    def _contacts(self, citations: list[Citation]) -> list[dict]:
        contacts, seen = [], set()
        for citation in citations:
            for contact in self.index.documents[citation.doc_id].contact_list:
                if contact.phone not in seen:
                    seen.add(contact.phone)
                    contacts.append({"name": contact.name, "phone": contact.phone,
                                     "organisation": contact.organisation, "source_n": citation.n})
        return contacts

    def _refuse(self, intent: Intent, hits: list[Hit], reason: str, why: dict) -> Answer:
        lead = {
            "place": f"这些政策文件中没有{'、'.join(why.get('foreign', ()))}的文件，无法回答这个问题。",
            "date": "文件中没有写明这一日期，无法确认。",
            "contact": "检索到的文件中没有给出相关的咨询电话或联系人。",
            "duty": "文件中没有写明这项工作由哪个部门负责。",
        }.get(reason, "这些政策文件中没有找到能回答这个问题的内容。")
        related = self._related(hits)
        text = lead + ("以下条款可能相关，供参考：" + "；".join(f"《{c.title}》{c.section or ''}" for c in related) + "。"
                       if related else "")
        return Answer(intent.question, text, True, intent.script, related=related, intent=intent,
                      why={**why, "refused_because": reason})

    def _single(self, intent: Intent, hits: list[Hit]) -> Answer:
        why = {"kind": intent.kind, "terms": list(intent.terms), "places": list(intent.places)}
        foreign = [p for p in intent.places if p not in self.known_places and not self.documents_of(p)]
        why["foreign"] = foreign
        if foreign and len(foreign) == len(intent.places):
            return self._refuse(intent, hits, "place", why)
        if not hits:
            return self._refuse(intent, hits, "absent", why)
        if intent.kind == "contact":
            return self._contact_answer(intent, hits, why)
        issue = bool(ISSUE_QUESTION.search(intent.normalized))
        options = self.candidates(intent, hits[:CANDIDATES])
        if issue:  # "哪天印发/哪次会议通过": only a sentence that issues the asked document, with a date, answers
            options = [c for c in options if ISSUE_WORDS.search(self._text(c)) and DATE.search(self._text(c))
                       and self._names_document(intent, self._text(c))]
            if not options:
                return self._refuse(intent, hits, "date", why)
        if intent.kind == "staff":
            staffed = self._staff_answer(intent, options, why)
            if staffed:
                return staffed
            # No responsibility note: only a sentence that itself assigns the work (…负责/牵头/统筹…) answers.
            options = [c for c in options if DUTY_WORDS.search(self._text(c))]
            if not options or options[0].coverage < MIN_COVERAGE:
                return self._refuse(intent, hits, "duty", why)
        best = options[0] if options else None
        why.update(coverage=round(best.coverage, 3) if best else 0.0, score=round(best.score, 2) if best else 0.0)
        if not self._answers(intent, best):
            return self._refuse(intent, hits, "absent", why)
        start, end = best.start, best.end
        if intent.kind in ("general", "definition"):  # "有什么举措": the next sentence usually continues the list
            following = SENTENCE.search(self.index.documents[best.clause.doc_id].text, end, best.clause.end)
            if following and following.end() - start <= 2 * MAX_QUOTE:
                end = following.end()
        citation = self._citation(1, best.clause, start, end)
        text = f"根据《{best.clause.title}》{self._where(best.clause)}：{citation.quote}[1]"
        return self._finish(intent, text, [citation], why)

    @staticmethod
    def _is_heading(sentence: str) -> bool:
        """"2.深化碳普惠试点示范。" names a task; it answers nothing by itself."""
        heading = match_heading(sentence)
        return heading is not None and not heading.has_body and len(sentence) <= 40

    @staticmethod
    def _names_document(intent: Intent, text: str) -> bool:
        """The sentence is about the asked place's own document (《瑞金市碳达峰实施方案》), not one it cites."""
        titles = re.findall(r"《([^》]+)》", text)
        if intent.places:
            return any(p in t for t in titles for p in intent.places)
        return "本方案" in text or "本意见" in text

    def _answers(self, intent: Intent, candidate: Candidate | None) -> bool:
        """The best sentence answers when its clause covers the question and, asked for a number, has one."""
        if candidate is None or candidate.coverage < MIN_COVERAGE:
            return False
        return intent.kind != "numeric" or DIGIT.search(self._text(candidate)) is not None

    @staticmethod
    def _who(organisation: str | None, name: str) -> str:
        if organisation and name != organisation:
            return f"{organisation}（联系人：{name}）"
        return organisation or name

    def _text(self, candidate: Candidate) -> str:
        return self.index.documents[candidate.clause.doc_id].text[candidate.start:candidate.end]

    @staticmethod
    def _where(clause: Clause) -> str:
        return f"“{clause.section_path[-1]}”" if clause.section_path else ""

    def _staff_answer(self, intent: Intent, options: list[Candidate], why: dict) -> Answer | None:
        seen = set()
        for option in options:
            clause = option.clause
            if clause.chunk_id in seen or not (clause.lead_departments or clause.supporting_departments):
                continue
            seen.add(clause.chunk_id)
            if option.coverage < MIN_COVERAGE:
                continue
            notes = notes_in(clause.text)
            if not notes:
                continue
            note = notes[0]
            # What the task is (its first sentence after the heading) and who does it (the note).
            first = next((m for m in SENTENCE.finditer(clause.text) if not self._is_heading(m.group(0).strip())), None)
            sentence = first or SENTENCE.search(clause.text)
            what = self._citation(1, clause, *self._trim(intent, sentence.group(0), clause.start + sentence.start()))
            who = self._citation(2, clause, clause.start + note.start(), clause.start + note.end())
            parts = []
            if clause.lead_departments:
                parts.append(f"由{'、'.join(clause.lead_departments)}牵头")
            if clause.supporting_departments:
                parts.append(f"{'、'.join(clause.supporting_departments)}配合")
            topic = clause.section_path[-1] if clause.section_path else clause.title
            text = (f"根据《{clause.title}》“{topic}”：{what.quote}[1]\n"
                    f"该项工作{'，'.join(parts)}：{who.quote}[2]")
            why.update(coverage=round(option.coverage, 3), departments=True)
            return self._finish(intent, text, [what, who], why)
        return None

    def _contact_answer(self, intent: Intent, hits: list[Hit], why: dict) -> Answer:
        wanted = {d for p in intent.places for d in self.documents_of(p)}
        for hit in hits:
            doc_id = hit.clause.doc_id
            if wanted and doc_id not in wanted:
                continue
            doc = self.index.documents[doc_id]
            for contact in doc.contact_list:
                clause = next((c for c in map(self.index.clauses.__getitem__, self.index.doc_rows.get(doc_id, ()))
                               if c.start <= contact.start and contact.end <= c.end), hit.clause)
                citation = self._citation(1, clause, contact.start, contact.end)
                who = self._who(contact.organisation, contact.name)
                text = f"《{doc.title}》给出的咨询方式：{who}，电话{contact.phone}。原文：{citation.quote}[1]"
                answer = Answer(intent.question, text, False, intent.script, [citation],
                                [{"name": contact.name, "phone": contact.phone, "organisation": contact.organisation,
                                  "source_n": 1}], intent=intent, why={**why, "contact": True})
                return answer
        return self._refuse(intent, hits, "contact", why)

    def _finish(self, intent: Intent, text: str, citations: list[Citation], why: dict) -> Answer:
        contacts = self._contacts(citations)
        if contacts:
            c = contacts[0]
            text += f"\n如需进一步咨询，可联系{self._who(c['organisation'], c['name'])}，电话{c['phone']}。"
        return Answer(intent.question, text, False, intent.script, citations, contacts, intent=intent, why=why)

    def _compare(self, intent: Intent) -> Answer:
        rows, citations = [], []
        vector = self.searcher.embed_question(intent.normalized)
        for place in intent.places:
            docs = self.documents_of(place)
            if not docs:
                rows.append(f"{place}：这些文件中没有{place}的政策文件。")
                continue
            others = [p for p in intent.places if p != place]
            question = intent.normalized
            for other in others:
                question = question.replace(other, "")
            sub = analyse(question, self.known_places)
            hits = self.searcher.search(question, k=CANDIDATES, filters=Filters(doc_ids=docs), vector=vector)
            options = self.candidates(sub, hits)
            best = options[0] if options else None
            if not self._answers(sub, best):
                rows.append(f"{place}：文件中没有找到相关内容。")
                continue
            citation = self._citation(len(citations) + 1, best.clause, best.start, best.end)
            citations.append(citation)
            rows.append(f"{place}（《{best.clause.title}》{self._where(best.clause)}）：{citation.quote}[{citation.n}]")
        if not citations:
            hits = self.searcher.search(intent.normalized, k=CANDIDATES)
            return self._refuse(intent, hits, "absent", {"kind": "compare", "places": list(intent.places)})
        return self._finish(intent, "\n".join(f"- {row}" for row in rows), citations, {"kind": "compare"})

    def ask(self, question: str, resolved: str | None = None) -> Answer:
        started = time.perf_counter()
        text, notice = prepare_question(resolved or question)
        if not text:
            return Answer(question=question or "", answer=EMPTY_QUESTION, refused=True, script="zh-Hans",
                          why={"empty_question": True})
        answer = self._answer(text, resolved)
        answer.question, answer.notice = question, notice
        answer.latency_ms = round((time.perf_counter() - started) * 1000)
        return answer

    def _answer(self, question: str, resolved: str | None) -> Answer:
        intent = analyse(question, self.known_places)
        if intent.compares:
            answer = self._compare(intent)
        else:
            hits = self.searcher.search(intent.normalized, k=max(CANDIDATES, 5))
            answer = self._single(intent, hits)
        answer.question = question
        answer.resolved_question = resolved
        if self.llm is not None and not answer.refused:
            answer = self.llm.rewrite(answer, self)
        if intent.script == "zh-Hant":
            answer.variant = traditional_variant(question)
            answer.answer = to_traditional(answer.answer, answer.variant)
        return answer


FOLLOW_UP_MAX_CHARS = 40
FOLLOW_UP_PLACE = re.compile(r"^(?:那|那么|那个)?(.{2,12}?)(?:呢|的呢|怎么样|如何)?[？?。.！!]*$")
PRONOUN = re.compile(r"这个|这项|该项|这条|那条|上述|它|其|此项")


class Conversation:
    """A dialogue: a follow-up ("那成都呢?", "这个由谁负责?") is read against the previous turn."""

    def __init__(self, answerer: Answerer):
        self.answerer = answerer
        self.turns: list[Answer] = []

    def resolve(self, question: str) -> str:
        """The question as it would be asked on its own."""
        if not self.turns or len(question) > FOLLOW_UP_MAX_CHARS:  # a follow-up is a few words, never a page
            return question
        last = self.turns[-1]
        previous = last.resolved_question or last.question
        before = last.intent or analyse(previous, self.answerer.known_places)
        now = analyse(question, self.answerer.known_places)
        short = len(now.normalized) <= 14
        if now.places and not now.terms and short and FOLLOW_UP_PLACE.match(now.normalized):
            # "那成都呢?": the previous question, about the new place.
            resolved = before.normalized
            for old in before.places:
                resolved = resolved.replace(old, "、".join(now.places), 1) if old == before.places[0] else resolved.replace(old, "")
            return resolved if before.places else "、".join(now.places) + resolved
        if PRONOUN.search(now.normalized) and not now.places and short:
            # "这个由谁负责?": the pronoun is the previous question's subject.
            return PRONOUN.sub(before.normalized.rstrip("？?。"), now.normalized, count=1)
        return question

    def ask(self, question: str) -> Answer:
        resolved = self.resolve(question)
        answer = self.answerer.ask(question, resolved=resolved if resolved != question else None)
        self.turns.append(answer)
        return answer
