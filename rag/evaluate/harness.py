"""The eval harness: build (or update) the indexes a run needs, score retrieval and answers, write the report.

One run compares bm25 / dense / hybrid (and the answer scorer's reranking of hybrid), optionally each without
the contextual header too (the ablation index is built beside the main one, `<index>-noheader`; both update
incrementally, so a second run embeds nothing). Answers are scored live or from an `ask --batch` output file.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from ..answer import manifest_stamps
from ..config import Settings
from ..files import read_jsonl
from ..index import PolicyIndex, build_index
from ..retrieve import MODES, Searcher
from .metrics import (
    AnswerEvaluator,
    EvidenceLocator,
    Question,
    QuestionSetError,
    RetrievalEvaluator,
    check_evidence,
    is_held_out,
    load_questions,
    percentile,
)

NO_HEADER = " (no header)"


def _hit_dict(hit) -> dict:
    c = hit.clause
    return {"doc_id": c.doc_id, "start": c.start, "end": c.end, "text": c.text, "title": c.title, "section": c.section}


def _hits(searcher: Searcher, mode: str, scorer=None) -> Callable[[str, int], list[dict]]:
    """Search in `mode`, or hybrid reordered by `scorer` (an Answerer) when one is given."""

    def search(question: str, k: int) -> list[dict]:
        hits = scorer.rerank(question, k=k) if scorer else searcher.search(question, k=k, mode=mode)
        return [_hit_dict(h) for h in hits]

    return search


AnswerSource = Callable[[Question], "dict | None"]


def _answer_source(answerer, answers_file: Path | None) -> tuple[AnswerSource | None, str]:
    if answers_file is not None:
        rows = {str(row["id"]): row for row in read_jsonl(answers_file)}
        return (lambda q: rows.get(q.id)), f"file {answers_file}"
    return (lambda q: answerer.ask(q.question).to_dict()), "live (rag.answer)"


def _signature(questions_file: Path, index: PolicyIndex) -> str:
    digest = hashlib.sha256(questions_file.read_bytes())
    digest.update(json.dumps(sorted(f["content_hash"] for f in index.manifest["files"].values())).encode())
    return digest.hexdigest()[:16]


def _worst(per_question: Sequence[dict], limit: int = 10) -> list[dict]:
    def badness(row: dict) -> tuple:
        missing = sum(1 for r in row["ranks"] if r is None)
        return (-missing, -max((r or 0) for r in row["ranks"]))

    failing = [row for row in per_question if any(r is None or r > 1 for r in row["ranks"])]
    return sorted(failing, key=badness)[:limit]


def run_evaluation(
    questions_file: Path,
    corpus_dirs: Sequence[Path],
    index_dir: Path,
    settings: Settings,
    answers_file: Path | None = None,
    modes: Sequence[str] = MODES,
    log: Callable[[str], None] = print,
    ablation: bool = True,
    rerank: bool = True,
) -> dict:
    """The run's metrics (retrieval per method, answers, worst failures), as write_report takes them."""
    questions = load_questions(questions_file)
    from ..embed import Embedder

    embedder = Embedder(settings)
    searchers = {}
    locator, unlocated = None, 0
    for header in (True, False) if ablation else (True,):
        variant = settings.model_copy(update={"passage_header": header})
        folder = index_dir if header else index_dir.with_name(index_dir.name + "-noheader")
        report = build_index(corpus_dirs, folder, variant, lambda: embedder, stamps=manifest_stamps())
        log(f"index {folder}: {report.clauses} clauses ({report.embedded} embedded, {report.reused} reused)")
        searchers[header] = Searcher(PolicyIndex.load(folder), variant, embedder)
        if header:  # a broken question set fails before anything else is embedded
            locator = EvidenceLocator({d: doc.text for d, doc in searchers[True].index.documents.items()})
            problems, unlocated = check_evidence(questions, locator)
            if unlocated:
                log(f"{unlocated} evidence spans of a set written elsewhere are not in the cleaned corpus")
            if problems:
                raise QuestionSetError(f"{questions_file}: {len(problems)} problems\n" + "\n".join(problems))
    main = searchers[True]
    from ..answer import Answerer

    answerer = Answerer(main)  # one, for reranking and answering: its corpus statistics are built once

    # Searches are scored to depth 30 (how deep the candidate pool would have to go); a reranked search is scored
    # as answers use it, over the CANDIDATE_CLAUSES the answerer reads.
    deep, as_answered = RetrievalEvaluator(questions, locator, k=30), RetrievalEvaluator(questions, locator, k=10)
    retrieval = {}
    for header, searcher in searchers.items():
        searcher.warm_up()
        methods = [(mode, False) for mode in modes] + ([("hybrid", True)] if header and rerank else [])
        for mode, reranked in methods:
            result = (as_answered if reranked else deep)(_hits(searcher, mode, answerer if reranked else None))
            latencies = [row["latency_ms"] for row in result.per_question]
            retrieval[mode + (" + rerank" if reranked else "") + ("" if header else NO_HEADER)] = {
                "summary": result.summary((1, 5, 10) if reranked else (1, 5, 10, 20, 30)),
                "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
                "per_question": result.per_question,
            }
    failures = _worst(retrieval["hybrid" if "hybrid" in modes else modes[0]]["per_question"])
    for data in retrieval.values():  # keep the per-question record small: what plots and comparisons need
        kept = ("id", "kind", "ranks", "latency_ms")
        data["per_question"] = [{k: row[k] for k in kept} for row in data["per_question"]]
    answer, answers_from = _answer_source(answerer, answers_file)
    answers = AnswerEvaluator(questions, locator)(answer) if answer else None
    metrics = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "questions_file": str(questions_file),
        "n_questions": len(questions),
        "kinds": {kind: sum(1 for q in questions if q.kind == kind) for kind in sorted({q.kind for q in questions})},
        "corpus": {"dirs": [str(d) for d in corpus_dirs], "documents": len(main.index.documents),
                   "clauses": len(main.index.clauses)},
        "signature": _signature(questions_file, main.index),
        "retrieval": retrieval,
        "answers": {"source": answers_from, "summary": answers.summary() if answers else None,
                    "per_question": answers.per_question if answers else []},
        "failures": failures,
        "extractive_gold_not_in_corpus": unlocated,
    }
    return aggregate_only(metrics) if is_held_out(questions_file) else metrics


def aggregate_only(metrics: dict) -> dict:
    """A test set's metrics with the tables and what the plots need, and nothing that names a question: no
    failures, no ids, text or answers, rows not in file order. Nobody can tune on it failure by failure."""
    def anonymous(rows: list[dict], kept: tuple[str, ...]) -> list[dict]:
        rows = [{k: row[k] for k in kept if k in row} for row in rows]
        return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))

    retrieval = {method: {**data, "per_question": anonymous(data["per_question"], ("kind", "ranks", "latency_ms"))}
                 for method, data in metrics["retrieval"].items()}
    answers = metrics.get("answers") or {}
    answer_rows = anonymous(answers.get("per_question", []), ("kind", "refused", "probability", "latency_ms"))
    return {**metrics, "held_out": True, "failures": [], "retrieval": retrieval,
            "answers": {**answers, "per_question": answer_rows}}


def default_out_dir(root: Path = Path("eval/reports")) -> Path:
    """A new report folder under `root`, named by the current local time (YYYYmmdd-HHMMSS)."""
    return root / time.strftime("%Y%m%d-%H%M%S")
