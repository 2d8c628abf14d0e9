"""Evaluate: question sets, retrieval metrics (Recall@k, MRR@k, nDCG@k) and answer metrics (key facts,
citations, refusals, script, latency, char-level ROUGE-L), per kind and overall.

A retrieved clause is a hit for an evidence string when the clause text contains it. Recall@k is the
share of a question's evidence strings found in the top k (a multi-document question needs all of them);
MRR@k and nDCG@k use the rank of each hit.

Two input formats: ours (DESIGN.md: id, question, kind, lang, evidence, must_contain, answer) and the one
public extractive QA sets use ({"id", "question", "answer": {"text": …}}), whose gold text plays the part
of the evidence and is scored against the answer with char-level ROUGE-L F1.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("citizen", "staff", "numeric", "multi-doc", "out-of-scope", "noisy", "extractive")


class QuestionSetError(Exception):
    pass


@dataclass(frozen=True)
class Question:
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
        return self.kind != "out-of-scope"


def _question(row: dict) -> Question:
    answer = row.get("answer")
    if isinstance(answer, dict):  # public extractive QA: {"id", "question", "answer": {"text": ...}}
        gold = str(answer["text"])
        return Question(str(row["id"]), row["question"], "extractive", row.get("lang", "zh-Hans"), (gold,), (), gold, gold)
    return Question(
        str(row["id"]), row["question"], row.get("kind", "citizen"), row.get("lang", "zh-Hans"),
        tuple(row.get("evidence") or ()), tuple(row.get("must_contain") or ()), answer or "",
    )


def load_questions(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            questions.append(_question(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise QuestionSetError(f"{path} line {number}: {exc}") from exc
    if not questions:
        raise QuestionSetError(f"{path}: no questions")
    return questions


def check_evidence(questions: Sequence[Question], texts: Sequence[str]) -> list[str]:
    """Problems with a question set: evidence that is not an exact substring of any cleaned text."""
    problems = []
    for q in questions:
        if q.kind not in KINDS:
            problems.append(f"{q.id}: unknown kind {q.kind!r}")
        if q.kind == "out-of-scope" and q.evidence:
            problems.append(f"{q.id}: out-of-scope questions have no evidence")
        if q.kind != "out-of-scope" and not q.evidence:
            problems.append(f"{q.id}: no evidence")
        if q.kind == "extractive":
            continue  # a public set's gold text may not survive cleaning verbatim: counted, not fatal
        for evidence in q.evidence:
            if not any(evidence in text for text in texts):
                problems.append(f"{q.id}: evidence not in the cleaned corpus: {evidence!r}")
    return problems


def hit_ranks(evidence: Sequence[str], retrieved: Sequence[str]) -> list[int | None]:
    """For each evidence string, the 1-based rank of the first retrieved text containing it."""
    return [next((rank for rank, text in enumerate(retrieved, 1) if e in text), None) for e in evidence]


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    found = [r for r in ranks if r is not None and r <= k]
    return 1.0 / min(found) if found else 0.0


def ndcg_at(ranks: Sequence[int | None], k: int) -> float:
    """Binary relevance: each evidence string is one relevant item, found at its first rank."""
    if not ranks:
        return 0.0
    gains = {r for r in ranks if r is not None and r <= k}
    dcg = sum(1.0 / math.log2(r + 1) for r in gains)
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
    per_question: list[dict] = field(default_factory=list)

    def summary(self, ks: Sequence[int] = (1, 5, 10)) -> dict[str, dict[str, float]]:
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
    `search(question, k)` returns hits as dicts with at least "text" (and "title", "section" for reports)."""

    questions: Sequence[Question]
    k: int = 10

    def __call__(self, search: Callable[[str, int], list[dict]]) -> RetrievalResult:
        result = RetrievalResult()
        for q in self.questions:
            if not q.evidence:
                continue
            started = time.perf_counter()
            hits = search(q.question, self.k)
            latency = (time.perf_counter() - started) * 1000
            result.per_question.append({
                "id": q.id, "kind": q.kind, "question": q.question, "evidence": list(q.evidence),
                "ranks": hit_ranks(q.evidence, [h["text"] for h in hits]), "latency_ms": latency,
                "top": [{"title": h.get("title", ""), "section": h.get("section", ""), "text": h["text"][:120]}
                        for h in hits[:3]],
            })
        return result


# ---- answers ------------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    from .textnorm import normalize_query

    return "".join(normalize_query(text).split())


def has_key_facts(answer: str, facts: Sequence[str]) -> bool:
    """Every key fact appears in the answer (compared in Simplified, ignoring spaces)."""
    answer = _norm(answer)
    return all(_norm(fact) in answer for fact in facts)


def citation_recall(citations: Sequence[dict], evidence: Sequence[str]) -> float:
    """Share of evidence strings that some cited quote contains."""
    if not evidence:
        return 0.0
    quotes = [_norm(c.get("quote", "")) for c in citations]
    return sum(1 for e in evidence if any(_norm(e) in q for q in quotes)) / len(evidence)


def rouge_l_f1(candidate: str, reference: str) -> float:
    """Char-level ROUGE-L F1: longest common subsequence over characters, as policy-QA contests score."""
    a, b = _norm(candidate), _norm(reference)
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for ch in a:
        current = [0]
        for j, other in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if ch == other else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def script_matches(question: Question, answer: dict) -> bool:
    """A Traditional question gets a Traditional answer and a Simplified one a Simplified answer."""
    from .textnorm import to_simplified

    text = answer.get("answer", "")
    if question.lang == "zh-Hant":
        return answer.get("script") == "zh-Hant" and (to_simplified(text) != text or not text)
    return answer.get("script", "zh-Hans") == "zh-Hans" and to_simplified(text) == text


def percentile(values: Sequence[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = (len(ordered) - 1) * p / 100
    low, high = math.floor(index), math.ceil(index)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


@dataclass
class AnswerResult:
    per_question: list[dict] = field(default_factory=list)

    def summary(self) -> dict[str, dict]:
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
                "latency_p50_ms": percentile(latencies, 50),
                "latency_p95_ms": percentile(latencies, 95),
            }
        return table


@dataclass
class AnswerEvaluator:
    """Scores answers in the `policy-rag ask --json` contract, produced live or read from a file."""

    questions: Sequence[Question]

    def __call__(self, answer: Callable[[Question], dict | None]) -> AnswerResult:
        result = AnswerResult()
        for q in self.questions:
            given = answer(q)
            if given is None:
                continue
            refused = bool(given.get("refused"))
            text = given.get("answer", "")
            result.per_question.append({
                "id": q.id, "kind": q.kind, "lang": q.lang, "question": q.question, "answer": text,
                "refused": refused,
                "key_facts": has_key_facts(text, q.must_contain) if q.answerable and q.must_contain else None,
                "citation": citation_recall(given.get("citations", []), q.evidence) if q.answerable else None,
                "script_ok": script_matches(q, given),
                "rouge_l": rouge_l_f1(text, q.gold) if q.gold else None,
                "latency_ms": given.get("latency_ms"),
            })
        return result
