"""Evaluate: question sets, retrieval metrics (Recall@k, MRR@k, nDCG@k) and answer metrics (key facts,
citations, refusals, script, latency, char-level ROUGE-L), per kind and overall.

Evidence is located in the cleaned documents after the normalisation the text itself went through (NFKC,
Traditional -> Simplified, pinyin annotations and all whitespace removed), so a set written by others against
the raw documents (a line break inside a date, full-width digits) runs. A retrieved clause is a hit for an
evidence span when the two overlap by at least half of the shorter one: a short span inside the clause, or a
clause inside a long span. Recall@k is the share of a question's evidence strings found in the top k (a
multi-document question needs all of them); MRR@k and nDCG@k use the rank of each hit.

Two input formats: ours (DESIGN.md: id, question, kind, lang, evidence, must_contain, answer) and the one
public extractive QA sets use ({"id", "question", "answer": {"text": …}}), whose gold text plays the part
of the evidence and is scored against the answer with char-level ROUGE-L F1.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from rapidfuzz.distance import LCSseq

from ..files import JsonLineError, numbered_json_lines, sha256_of

KINDS = ("citizen", "staff", "numeric", "multi-doc", "out-of-scope", "noisy", "extractive", "ncp")
# Sets written elsewhere against raw documents: a span that cannot be located is counted, not fatal.
FOREIGN_KINDS = ("extractive", "ncp")


class QuestionSetError(Exception):
    """A question set that cannot be read or does not check out; the message names the file and line."""


# The test sets: reported on once, in aggregate; never trained or tuned on, never read failure by failure.
HELD_OUT = ("eval/questions.jsonl", "ncp/test.jsonl")


def is_held_out(path: Path) -> bool:
    """Whether a question file is one of the test sets: by its path (links resolved), or by its bytes, so a copy
    or a run from another folder is recognised too."""
    path = Path(path)
    if any(p.as_posix().endswith(held) for p in (path, path.resolve()) for held in HELD_OUT):
        return True
    return path.is_file() and sha256_of(path) in _held_out_digests()


@lru_cache(maxsize=1)
def _held_out_digests() -> frozenset[str]:
    root = Path(__file__).resolve().parents[2]
    files = (root / "eval" / "questions.jsonl", root.parent / "shared" / "ncp" / "test.jsonl")
    return frozenset(sha256_of(f) for f in files if f.is_file())


@dataclass(frozen=True)
class Question:
    """One evaluation question: its kind and script, the evidence strings, the key facts and any gold answer."""

    id: str
    question: str
    kind: str = "citizen"
    lang: str = "zh-Hans"
    evidence: tuple[str, ...] = ()
    must_contain: tuple[str, ...] = ()
    answer: str = ""
    gold: str | None = None  # the extractive format's answer text

    @property
    def answerable(self) -> bool:
        """True unless the question is out of scope (the corpus should not answer it)."""
        return self.kind != "out-of-scope"


def _question(row: dict) -> Question:
    answer = row.get("answer")
    if isinstance(answer, dict):  # public extractive QA: {"id", "question", "answer": {"text": ...}}
        gold = str(answer["text"])
        lang = row.get("lang", "zh-Hans")
        return Question(str(row["id"]), row["question"], "extractive", lang, (gold,), (), gold, gold)
    kind = row.get("kind", "citizen")
    return Question(
        str(row["id"]), row["question"], kind, row.get("lang", "zh-Hans"),
        tuple(row.get("evidence") or ()), tuple(row.get("must_contain") or ()), answer or "",
        (answer or None) if kind in FOREIGN_KINDS else None,
    )


def load_questions(path: Path) -> list[Question]:
    """The questions of a JSON-lines file in either format; QuestionSetError for a bad line or an empty set."""
    questions, number = [], 0
    try:
        for number, row in numbered_json_lines(Path(path)):
            questions.append(_question(row))
    except JsonLineError as exc:
        raise QuestionSetError(f"{path} line {exc.number}: {exc}") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise QuestionSetError(f"{path} line {number}: {exc}") from exc
    if not questions:
        raise QuestionSetError(f"{path}: no questions")
    return questions


def normalize_evidence(text: str) -> str:
    """Evidence in the form it is searched for: the text's own character normalisation, no whitespace."""
    from ..text import normalize_query

    return "".join(normalize_query(text).split())


class EvidenceLocator:
    """Finds evidence strings in cleaned documents, ignoring whitespace (kept in the text, removed here)."""

    def __init__(self, texts: dict[str, str]):
        self.squeezed: dict[str, tuple[str, list[int]]] = {}
        for doc_id, text in texts.items():
            offsets = [i for i, ch in enumerate(text) if not ch.isspace()]
            self.squeezed[doc_id] = ("".join(text[i] for i in offsets), offsets)
        self._found: dict[str, list[tuple[str, int, int]]] = {}

    def locate(self, evidence: str) -> list[tuple[str, int, int]]:
        """Every document holding the evidence, with its first (start, end) in that document's text."""
        if evidence not in self._found:
            self._found[evidence] = self._scan(evidence)
        return self._found[evidence]

    def _scan(self, evidence: str) -> list[tuple[str, int, int]]:
        needle = normalize_evidence(evidence)
        if not needle:
            return []
        found = []
        for doc_id, (squeezed, offsets) in self.squeezed.items():
            at = squeezed.find(needle)
            if at >= 0:
                found.append((doc_id, offsets[at], offsets[at + len(needle) - 1] + 1))
        return found


def check_evidence(questions: Sequence[Question], locator: EvidenceLocator) -> tuple[list[str], int]:
    """Problems with a question set, and how many spans of sets written elsewhere could not be located."""
    problems, unlocated = [], 0
    for q in questions:
        if q.kind not in KINDS:
            problems.append(f"{q.id}: unknown kind {q.kind!r}")
        if q.kind == "out-of-scope" and q.evidence:
            problems.append(f"{q.id}: out-of-scope questions have no evidence")
        if q.kind != "out-of-scope" and not q.evidence:
            problems.append(f"{q.id}: no evidence")
        for evidence in q.evidence:
            if not locator.locate(evidence):
                if q.kind in FOREIGN_KINDS:
                    unlocated += 1
                else:
                    problems.append(f"{q.id}: evidence not in the cleaned corpus: {evidence!r}")
    return problems, unlocated


Span = tuple[str, int, int]  # doc_id, start, end in the cleaned text


def overlaps(span: Span, hit: dict) -> bool:
    """A hit holds an evidence span when they overlap by at least half of the shorter of the two."""
    doc_id, start, end = span
    if hit.get("doc_id") != doc_id:
        return False
    common = min(end, hit["end"]) - max(start, hit["start"])
    return common > 0 and common * 2 >= min(end - start, hit["end"] - hit["start"])


def hit_ranks(evidence: Sequence[Sequence[Span]], retrieved: Sequence[dict]) -> list[int | None]:
    """For each evidence string (its located spans), the 1-based rank of the first hit holding it."""
    return [next((rank for rank, hit in enumerate(retrieved, 1) if any(overlaps(s, hit) for s in spans)), None)
            for spans in evidence]


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of evidence strings whose first hit ranks at k or better (0.0 with no evidence)."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    """1 / the best rank at which any evidence string is found within k, else 0.0."""
    found = [r for r in ranks if r is not None and r <= k]
    return 1.0 / min(found) if found else 0.0


def ndcg_at(ranks: Sequence[int | None], k: int) -> float:
    """nDCG@k with binary relevance, each evidence string one item (0.0 with no evidence). Two strings found in
    one clause take that rank and the next (the ideal list holds them at 1 and 2), so [1, 1] scores as [1, 2]."""
    if not ranks:
        return 0.0
    placed: list[int] = []
    for rank in sorted(r for r in ranks if r is not None):
        placed.append(max(rank, placed[-1] + 1) if placed else rank)
    dcg = sum(1.0 / math.log2(r + 1) for r in placed if r <= k)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(ranks), k)))
    return dcg / ideal


def by_kind(rows: Sequence[dict]) -> dict[str, list[dict]]:
    """Per-question rows grouped under "all" and under their kind: every table is overall and per kind."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups["all"].append(row)
        groups[row["kind"]].append(row)
    return groups


@dataclass
class RetrievalResult:
    """Per-question retrieval records: kind, evidence, the rank each evidence string was found at, latency."""

    per_question: list[dict] = field(default_factory=list)

    def summary(self, ks: Sequence[int] = (1, 5, 10)) -> dict[str, dict[str, float]]:
        """Mean recall@k for each k, MRR@10, nDCG@10 and n, overall ("all") and per kind."""
        table = {}
        for name, rows in by_kind(self.per_question).items():
            metrics = {f"recall@{k}": sum(recall_at(r["ranks"], k) for r in rows) / len(rows) for k in ks}
            metrics["mrr@10"] = sum(mrr_at(r["ranks"], 10) for r in rows) / len(rows)
            metrics["ndcg@10"] = sum(ndcg_at(r["ranks"], 10) for r in rows) / len(rows)
            metrics["n"] = len(rows)
            table[name] = metrics
        return table


@dataclass
class RetrievalEvaluator:
    """Runs a search function over the answerable questions and scores where the evidence came back.
    `search(question, k)` returns hits as dicts with "doc_id", "start", "end", "text" (and "title", "section"
    for reports)."""

    questions: Sequence[Question]
    locator: EvidenceLocator
    k: int = 10

    def __call__(self, search: Callable[[str, int], list[dict]]) -> RetrievalResult:
        result = RetrievalResult()
        for q in self.questions:
            spans = [self.locator.locate(e) for e in q.evidence]
            if not q.evidence or not any(spans):
                continue
            started = time.perf_counter()
            hits = search(q.question, self.k)
            latency = (time.perf_counter() - started) * 1000
            result.per_question.append({
                "id": q.id, "kind": q.kind, "question": q.question, "evidence": list(q.evidence),
                "ranks": hit_ranks(spans, hits), "latency_ms": latency,
                "top": [{"title": h.get("title", ""), "section": h.get("section", ""), "text": h["text"][:120]}
                        for h in hits[:3]],
            })
        return result


# ---- answers ------------------------------------------------------------------------------------------


def has_key_facts(answer: str, facts: Sequence[str]) -> bool:
    """True when every key fact appears in the answer (compared in Simplified, ignoring spaces)."""
    answer = normalize_evidence(answer)
    return all(normalize_evidence(fact) in answer for fact in facts)


def citation_recall(citations: Sequence[dict], evidence: Sequence[str],
                    spans: Sequence[Sequence[Span]] = ()) -> float:
    """Share of evidence strings that some cited quote contains or, located, overlaps (half the shorter)."""
    if not evidence:
        return 0.0
    quotes = [normalize_evidence(c.get("quote", "")) for c in citations]
    cited = [c for c in citations if {"doc_id", "start", "end"} <= c.keys()]
    spans = list(spans) or [()] * len(evidence)
    wanted = [normalize_evidence(e) for e in evidence]  # once each, not once per quote
    found = sum(1 for e, located in zip(wanted, spans)
                if any(e in q for q in quotes) or any(overlaps(s, c) for s in located for c in cited))
    return found / len(evidence)


def rouge_l_f1(candidate: str, reference: str) -> float:
    """Char-level ROUGE-L F1: longest common subsequence over characters, as policy-QA contests score."""
    a, b = normalize_evidence(candidate), normalize_evidence(reference)
    if not a or not b:
        return 0.0
    lcs = LCSseq.similarity(a, b)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def script_matches(question: Question, answer: dict) -> bool:
    """True when the answer is in the question's script: Traditional for a Traditional one, else Simplified."""
    from ..text import to_simplified

    text = answer.get("answer", "")
    if question.lang == "zh-Hant":
        return answer.get("script") == "zh-Hant" and (to_simplified(text) != text or not text)
    return answer.get("script", "zh-Hans") == "zh-Hans" and to_simplified(text) == text


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100), interpolated linearly between ranks (numpy's default); None for no values."""
    return float(np.percentile(values, p)) if len(values) else None


@dataclass
class AnswerResult:
    """Per-question answer records: refusal, key facts, citation recall, script, ROUGE-L, confidence, latency."""

    per_question: list[dict] = field(default_factory=list)

    def summary(self) -> dict[str, dict]:
        """Answer metrics (accuracy, refusal rates, ROUGE-L, latency percentiles) overall ("all") and per kind."""
        table = {}
        for name, rows in by_kind(self.per_question).items():
            answerable = [r for r in rows if r["kind"] != "out-of-scope"]
            foreign = [r for r in rows if r["kind"] == "out-of-scope"]
            with_facts = [r for r in answerable if r["key_facts"] is not None]
            with_gold = [r for r in rows if r["rouge_l"] is not None]
            latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
            mean = lambda values: sum(values) / len(values) if values else None  # noqa: E731
            table[name] = {
                "n": len(rows),
                "key_fact_accuracy": mean([float(r["key_facts"]) for r in with_facts]),
                "citation_accuracy": mean([r["citation"] for r in answerable if r["citation"] is not None]),
                "refusal_rate_out_of_scope": mean([float(r["refused"]) for r in foreign]),
                "false_refusal_rate": mean([float(r["refused"]) for r in answerable]),
                "script_accuracy": mean([float(r["script_ok"]) for r in rows]),
                "rouge_l_f1": mean([r["rouge_l"] for r in with_gold]),
                "rouge_l_quotes": mean([r["rouge_l_quotes"] for r in with_gold]),
                "rouge_l_short_answer": mean([r["rouge_l_short"] for r in with_gold]),
                "answered_share": mean([float(not r["refused"]) for r in answerable]),
                "hedged_share": mean([float(r.get("hedged", False)) for r in rows]),
                "latency_p50_ms": percentile(latencies, 50),
                "latency_p95_ms": percentile(latencies, 95),
            }
        return table


@dataclass
class AnswerEvaluator:
    """Scores answers in the `policy-rag ask --json` contract, produced live or read from a file."""

    questions: Sequence[Question]
    locator: EvidenceLocator | None = None

    def __call__(self, answer: Callable[[Question], dict | None]) -> AnswerResult:
        result = AnswerResult()
        for q in self.questions:
            given = answer(q)
            if given is None:
                continue
            refused = bool(given.get("refused"))
            text = given.get("answer", "")
            citations = given.get("citations", [])
            spans = [self.locator.locate(e) for e in q.evidence] if self.locator else []
            quotes = "".join(c.get("quote", "") for c in citations) if not refused else ""
            short = (given.get("short_answer") or {}).get("text", "") if not refused else ""
            result.per_question.append({
                "id": q.id, "kind": q.kind, "lang": q.lang, "question": q.question, "answer": text,
                "refused": refused,
                "key_facts": has_key_facts(text, q.must_contain) if q.answerable and q.must_contain else None,
                "citation": citation_recall(citations, q.evidence, spans) if q.answerable else None,
                "script_ok": script_matches(q, given),
                "rouge_l": (rouge_l_f1(text, q.gold) if not refused else 0.0) if q.gold else None,
                "rouge_l_quotes": rouge_l_f1(quotes, q.gold) if q.gold else None,
                "rouge_l_short": rouge_l_f1(short, q.gold) if q.gold else None,
                "hedged": given.get("confidence") == "low" and not refused,
                "probability": given.get("probability"),
                "latency_ms": given.get("latency_ms"),
            })
        return result
