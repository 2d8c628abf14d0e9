"""Evaluate: question sets and retrieval metrics (Recall@k, MRR@k, nDCG@k), per kind and overall.

A retrieved clause is a hit for an evidence string when the clause text contains it. Recall@k is the
share of a question's evidence strings found in the top k (a multi-document question needs all of them);
MRR@k and nDCG@k use the rank of each hit.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("citizen", "staff", "numeric", "multi-doc", "out-of-scope", "noisy")


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


def load_questions(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(
                str(row["id"]), row["question"], row.get("kind", "citizen"), row.get("lang", "zh-Hans"),
                tuple(row.get("evidence") or ()), tuple(row.get("must_contain") or ()), row.get("answer") or "",
            ))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QuestionSetError(f"{path} line {number}: {exc}") from exc
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


@dataclass
class RetrievalResult:
    per_question: list[dict] = field(default_factory=list)

    def summary(self, ks: Sequence[int] = (1, 5, 10)) -> dict[str, dict[str, float]]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in self.per_question:
            groups["all"].append(row)
            groups[row["kind"]].append(row)
        table = {}
        for name, rows in groups.items():
            metrics = {f"recall@{k}": sum(recall_at(r["ranks"], k) for r in rows) / len(rows) for k in ks}
            metrics["mrr@10"] = sum(mrr_at(r["ranks"], 10) for r in rows) / len(rows)
            metrics["ndcg@10"] = sum(ndcg_at(r["ranks"], 10) for r in rows) / len(rows)
            metrics["n"] = len(rows)
            table[name] = metrics
        return table


@dataclass
class RetrievalEvaluator:
    """Runs a search function over the answerable questions and scores where the evidence came back."""

    questions: Sequence[Question]
    k: int = 10

    def __call__(self, search: Callable[[str, int], list[str]]) -> RetrievalResult:
        result = RetrievalResult()
        for q in self.questions:
            if not q.evidence:
                continue
            retrieved = search(q.question, self.k)
            result.per_question.append({
                "id": q.id, "kind": q.kind, "question": q.question, "evidence": list(q.evidence),
                "ranks": hit_ranks(q.evidence, retrieved), "top": retrieved[:3],
            })
        return result
