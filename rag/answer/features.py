"""Features: what the answer scorer sees of a (question, sentence) pair.

Every feature is general, none written from any question: how close the question's meaning is to the
sentence and to its clause (e5 `query:`/`passage:` vectors, the sentence's stored at index time), where the
clause ranked in dense, BM25 and fused search, how much of the question's information (idf-weighted terms)
the sentence and the clause hold, and whether the sentence has what the question's kind asks for (a number,
the asked year, a responsibility note, a date, a definition), and whether the document is of the place asked.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..index import PolicyIndex
from ..ingest import Clause, is_heading, line_start, notes_in
from ..reader import Reading
from ..retrieve import Hit
from ..text import SYNONYMS
from .intent import YEAR, Intent
from .schema import feature_matrix

DIGIT = re.compile(r"\d")
DATE = re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?")
DUTY_WORDS = re.compile(r"负责|牵头|统筹|组织|配合")
# The verbs a document is dated by: the corpus's own (印发, 发布, 出台, 公布 and 施行 each occur tens to hundreds of
# times in corpus-extra and the NCP documents), and 颁布, the statutes' word.
ISSUE_VERBS = "印发|发布|出台|通过|公布|施行|颁布"
ISSUE_WORDS = re.compile(ISSUE_VERBS)
STATS_SAMPLE = 20_000
# Clauses whose sentences the scorer reads; reranking reorders the same clauses.
CANDIDATE_CLAUSES = 10

CONTENT_CHAR = re.compile(r"[\u4e00-\u9fff0-9a-z]")


def bigrams(text: str) -> set[str]:
    """Character bigrams of a text's words (Chinese characters, digits, letters): overlap that survives any
    word segmentation."""
    chars = "".join(CONTENT_CHAR.findall(text.lower()))
    return {chars[i:i + 2] for i in range(len(chars) - 1)}


def bigram_share(wanted: set[str], text: str) -> float:
    """Share of the `wanted` bigrams that occur in `text` (0.0 when none are wanted)."""
    return len(wanted & bigrams(text)) / len(wanted) if wanted else 0.0


class TermStatistics:
    """How rare a question's terms are in the corpus, and typo correction against the corpus's words."""

    def __init__(self, index: PolicyIndex):
        self.index = index
        self._idf: dict[str, float] = {}
        self._typos: dict[str, str | None] = {}

    @cached_property
    def _text(self) -> tuple[str, np.ndarray]:
        """The clauses, lower-cased and joined by newlines, with where each starts: one C-level regex scan per
        new term. All clauses up to STATS_SAMPLE, an even sample above it (scanning 10⁶ per term is not)."""
        clauses = self.index.clauses
        step = max(1, math.ceil(len(clauses) / STATS_SAMPLE))
        texts = [c.passage().lower().replace("\n", " ") for c in clauses[::step]]
        starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]]) if texts else np.zeros(0, np.int64)
        return "\n".join(texts), starts

    def idf(self, term: str) -> float:
        """log-odds rarity of the clauses containing the term (or a synonym) as a substring."""
        if term not in self._idf:
            text, starts = self._text
            pattern = re.compile("|".join(re.escape(t) for t in (term, *SYNONYMS.get(term, ()))))
            positions = [m.start() for m in pattern.finditer(text)]
            df = len(np.unique(np.searchsorted(starts, positions, side="right"))) if positions else 0
            n = len(starts) or 1
            self._idf[term] = math.log((n - df + 0.5) / (df + 0.5) + 1.0)
        return self._idf[term]

    def corrected(self, term: str) -> str:
        """A term of three or more characters the corpus never uses, one character away from one it does
        (碳排方 -> 碳排放), is read as that one. Two-character terms are left alone: one character away from
        a two-character word is usually another word, not a typo."""
        if term not in self._typos:
            best = None
            text, _ = self._text
            known = self.index.bm25.knows(term)
            if len(term) >= 3 and not known and term not in text:
                pattern = re.compile("|".join(re.escape(term[:i]) + "[\u4e00-\u9fff]" + re.escape(term[i + 1:])
                                              for i in range(len(term))))
                counts = Counter(pattern.findall(text))
                if counts:
                    best = max(counts, key=counts.get)
            self._typos[term] = best
        return self._typos[term] or term

    @staticmethod
    def found(term: str, text: str) -> bool:
        """True when `text` contains the term or one of its synonyms."""
        return term in text or any(s in text for s in SYNONYMS.get(term, ()))

    def missing_rarest(self, intent: Intent, text: str) -> float:
        """How rare the rarest question term `text` lacks is, against the rarest term asked: a near miss (免费停车
        asked, parking never mentioned) lacks the one detail that matters."""
        weights = {t: self.idf(self.corrected(t)) for t in intent.terms}
        if not weights:
            return 0.0
        missing = [w for t, w in weights.items() if not self.found(self.corrected(t), text)]
        return max(missing, default=0.0) / (max(weights.values()) or 1.0)

    def coverage(self, intent: Intent, text: str) -> float:
        """The idf-weighted share of the question's terms `text` (lower-cased) contains; a term nested in a
        longer one ("能源" in "新能源汽车") is not counted twice; a term glued from single characters counts half."""
        longest = [t for t in intent.terms if not any(t != other and t in other for other in intent.terms)]
        if not longest:
            return 1.0
        found = total = 0.0
        for term in longest:
            corrected = self.corrected(term)
            weight = self.idf(corrected) * (0.5 if term in intent.guessed else 1.0)
            total += weight
            found += weight if self.found(corrected, text) else 0.0
        return found / (total or 1.0)


@dataclass
class Candidate:
    """A sentence that might answer, the clause it sits in, and what the scorer makes of it."""

    clause: Clause
    hit: Hit
    start: int  # offsets into the cleaned document
    end: int
    features: dict[str, float] = field(default_factory=dict)
    probability: float = 0.0
    reading: Reading | None = None  # the reader's, when it read this candidate: its answer span


def _inverse(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


class FeatureBuilder:
    """Turns a question's search hits into scored-ready candidates, one per sentence of the top clauses."""

    def __init__(self, index: PolicyIndex, terms: TermStatistics, documents_of):
        self.index, self.terms, self.documents_of = index, terms, documents_of

    def _places(self, intent: Intent) -> set[str] | None:
        if not intent.places:
            return None
        return {d for p in intent.places for d in self.documents_of(p)}

    def candidates(self, intent: Intent, hits: list[Hit], vector: np.ndarray, issue: bool) -> list[Candidate]:
        """One candidate per indexed sentence of the hits' clauses, in hit order, its features filled in."""
        index, wanted = self.index, self._places(intent)
        asked = bigrams(intent.normalized)
        found: list[Candidate] = []
        clause_sims = []
        for hit in hits:
            row = index.rows[hit.clause.chunk_id]
            clause_sims.append(float(np.asarray(index.vectors[row], dtype=np.float32) @ vector))
            text = index.documents[hit.clause.doc_id].text
            clause_lower = hit.clause.passage().lower()
            clause_features = self._clause_features(intent, hit, clause_lower, wanted)
            clause_features["bigrams_clause"] = bigram_share(asked, clause_lower)
            clause_features["missing_rarest"] = self.terms.missing_rarest(intent, clause_lower)
            srows = index.clause_sentences.get(row, np.zeros(0, np.int64))
            # One product and one read per clause, not one per sentence (the vectors are a float16 memmap).
            sims = (np.asarray(index.sentence_vectors[srows], dtype=np.float32) @ vector).tolist()
            for position, ((_, start, end), sim) in enumerate(zip(index.sentences[srows].tolist(), sims)):
                sentence = text[start:end]
                lead = self._paragraph_lead(text, hit.clause, start)
                features = {**clause_features, "sim_sentence": sim, "sim_clause": clause_sims[-1],
                            "bigrams_sentence": bigram_share(asked, sentence), "position_inv": 1.0 / (position + 1),
                            **self._sentence_features(intent, sentence, lead, issue, start == hit.clause.start)}
                found.append(Candidate(hit.clause, hit, start, end, features))
        self._relative(found, clause_sims)
        return found

    def _clause_features(self, intent: Intent, hit: Hit, clause_lower: str, wanted: set[str] | None) -> dict:
        duty = bool(notes_in(hit.clause.text)) or bool(hit.clause.lead_departments)
        return {
            "fused_rank_inv": _inverse(hit.rank), "dense_rank_inv": _inverse(hit.dense_rank),
            "bm25_rank_inv": _inverse(hit.bm25_rank), "coverage_clause": self.terms.coverage(intent, clause_lower),
            "duty_match": float(intent.kind == "staff" and duty),
            "duty_miss": float(intent.kind == "staff" and not duty),
            "place_match": float(wanted is not None and hit.clause.doc_id in wanted),
            "place_miss": float(wanted is not None and hit.clause.doc_id not in wanted),
            **{f"kind_{k}": float(intent.kind == k) for k in ("numeric", "staff", "definition", "general")},
        }

    def _sentence_features(self, intent: Intent, sentence: str, lead: str, issue: bool, first: bool) -> dict:
        numeric = intent.kind == "numeric"
        has_digit = DIGIT.search(YEAR.sub("", sentence)) is not None  # a figure, not the year it is for
        years = intent.years
        year_hit = any(y in sentence or y in lead for y in years)
        dated = DATE.search(sentence) is not None
        return {
            "coverage_sentence": self.terms.coverage(intent, sentence.lower()),
            "numeric_match": float(numeric and has_digit), "numeric_miss": float(numeric and not has_digit),
            "year_match": float(bool(years) and year_hit), "year_miss": float(bool(years) and not year_hit),
            "date_match": float(issue and dated), "date_miss": float(issue and not dated),
            "definition_match": float(intent.kind == "definition" and "指" in sentence),
            "log_length": math.log(len(sentence)), "first_sentence": float(first),
            "general_length": math.log(len(sentence)) * (intent.kind == "general"),
            "heading": float(is_heading(sentence)),
        }

    @staticmethod
    def _paragraph_lead(text: str, clause: Clause, start: int) -> str:
        """The first sentence of the line `start` sits on ("到2025年,…"): its year governs what follows."""
        lead = line_start(text, clause, start)
        return text[lead:min(len(text), lead + 60, start)]

    @staticmethod
    def _relative(found: list[Candidate], clause_sims: list[float]) -> None:
        """Features that compare a candidate with the others of its question."""
        if not found:
            return
        sims = np.asarray([c.features["sim_sentence"] for c in found])
        order = np.argsort(-sims, kind="stable")
        ranks = np.empty(len(found), dtype=np.int64)
        ranks[order] = np.arange(1, len(found) + 1)
        best_sentence, best_clause = float(sims.max()), max(clause_sims)
        best_coverage = max(c.features["coverage_clause"] for c in found)
        best_bigrams = max(c.features["bigrams_sentence"] for c in found)
        for candidate, rank in zip(found, ranks.tolist()):
            f = candidate.features
            f["sim_sentence_margin"] = f["sim_sentence"] - best_sentence
            f["sim_sentence_rank_inv"] = 1.0 / rank
            f["sim_clause_margin"] = f["sim_clause"] - best_clause
            f["coverage_top"] = best_coverage
            f["bigrams_sentence_margin"] = f["bigrams_sentence"] - best_bigrams


def matrix(candidates: list[Candidate]) -> np.ndarray:
    """The candidates' features in FEATURES order."""
    return feature_matrix([c.features for c in candidates])
