"""`make bench-scale`: where one machine ends — retrieval and answers at 10⁴, 10⁵ and 10⁶ clauses.

The clauses are the real ones of a built index (default: index-full, the 5 + 93 documents, else index/),
replicated with new ids until the size is reached. Each copy is perturbed so it is a near neighbour, not
a duplicate: its vector is the real one plus Gaussian noise (cosine ≈ 0.9 to the original, like a
paraphrase from another region's plan) and its BM25 tokens lose a random tenth and have their numbers
changed. The questions are the 133 of eval/questions.jsonl, embedded by the real question encoder.

Reported per size, in one run: memory (RSS growth) and build time of FAISS flat / IVF / HNSW (the product's
own settings from rag.index) and of BM25; p50/p95 search latency; recall@10 of each approximate index
against exact (flat) search; and the p95 of a whole hybrid search and a whole extractive answer through the
product's Searcher and Answerer. Writes eval/reports/scale.{json,md}.

    python eval/scale.py [--index index-full] [--sizes 10000,100000,1000000] [--hnsw-max 100000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.index import PolicyIndex  # noqa: E402
from rag.index.bm25 import BM25Index  # noqa: E402
from rag.index.dense import build_backend  # noqa: E402

NOISE = 0.025  # per dimension: |noise| ≈ 0.49, cosine to the original ≈ 0.90 in 384 dimensions


def rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 1e6


def ms(values: list[float], p: float) -> float:
    return round(float(np.percentile(np.asarray(values) * 1000, p)), 1)


def replicate(base: PolicyIndex, tokens: list[list[str]], n: int, rng: np.random.Generator):
    """n clauses, vectors and token lists: the real ones first, then perturbed copies with new ids."""
    n0 = len(base.clauses)
    source = np.arange(n) % n0
    copy = np.arange(n) // n0
    vectors = np.asarray(base.vectors, dtype=np.float32)[source]
    noisy = copy > 0
    vectors[noisy] += NOISE * rng.standard_normal((int(noisy.sum()), vectors.shape[1]), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    clauses, token_lists, digit_maps, intern_digits = [], [], {}, {}
    for row, (i, k) in enumerate(zip(source, copy)):
        clause = base.clauses[i]
        if k == 0:
            clauses.append(clause)
            token_lists.append(tokens[i])
            continue
        clauses.append(dataclasses.replace(clause, chunk_id=f"{clause.chunk_id}~{k}"))
        if k not in digit_maps:  # each copy writes its numbers with its own digit permutation
            digit_maps[k] = str.maketrans("0123456789", "".join(map(str, rng.permutation(10))))
        keep = rng.random(len(tokens[i])) > 0.1
        # A token without digits stays the same object: 10⁶ clauses must not hold 10⁸ fresh strings.
        changed = (t.translate(digit_maps[k]) for t, kept in zip(tokens[i], keep) if kept)
        token_lists.append([intern_digits.setdefault(t, t) for t in changed])
    return clauses, vectors, token_lists


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def measure(base: PolicyIndex, tokens, questions, query_vectors, n: int, hnsw_max: int, rng) -> dict:
    from rag.answer.answerer import Answerer
    from rag.retrieve.search import Searcher

    row: dict = {"clauses": n}
    before = rss_mb()
    clauses, vectors, token_lists = replicate(base, tokens, n, rng)
    row["data_mb"] = round(rss_mb() - before)

    indexes = {}
    for kind in ("flat", "ivf", "hnsw"):
        if kind == "hnsw" and n > hnsw_max:
            continue
        before = rss_mb()
        indexes[kind], seconds = timed(lambda: build_backend(kind, vectors, vectors.shape[1]))
        row[f"{kind}_build_s"], row[f"{kind}_mb"] = round(seconds, 1), round(rss_mb() - before)
    before = rss_mb()
    bm25, seconds = timed(lambda: BM25Index.build(token_lists))  # noqa: F821 (deleted below, after this call)
    row["bm25_build_s"], row["bm25_mb"] = round(seconds, 1), round(rss_mb() - before)
    del token_lists

    _, truth = indexes["flat"].index.search(query_vectors, 10)
    for kind, index in indexes.items():
        times, found = [], []
        for q in query_vectors:
            (_, rows), seconds = timed(lambda: index.index.search(q.reshape(1, -1), 10))
            times.append(seconds)
            found.append(rows[0])
        row[f"{kind}_p50_ms"], row[f"{kind}_p95_ms"] = ms(times, 50), ms(times, 95)
        row[f"{kind}_recall@10"] = round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])), 3)
    times = [timed(lambda: bm25.scores(base.tokenizer.tokenize(q)))[1] for q in questions]
    row["bm25_p50_ms"], row["bm25_p95_ms"] = ms(times, 50), ms(times, 95)

    # The product end to end: the approximate index the settings would choose at this size.
    kind = "flat" if n <= 100_000 else "ivf"
    index = PolicyIndex(base.folder, base.manifest, base.documents, clauses, vectors, indexes[kind], bm25)
    searcher = Searcher(index, Settings(faiss_index=kind))
    times = [timed(lambda: searcher.search(q, k=10, vector=v))[1] for q, v in zip(questions, query_vectors)]
    row["hybrid_index"], row["hybrid_p50_ms"], row["hybrid_p95_ms"] = kind, ms(times, 50), ms(times, 95)
    answerer = Answerer(searcher)
    _, row["answerer_first_use_s"] = timed(lambda: answerer.ask(questions[0]))
    row["answerer_first_use_s"] = round(row["answerer_first_use_s"], 1)
    times = [timed(lambda: answerer.ask(q))[1] for q in questions]
    row["ask_p50_ms"], row["ask_p95_ms"] = ms(times, 50), ms(times, 95)
    row["rss_mb"] = round(rss_mb())
    print(json.dumps(row), flush=True)
    return row


def markdown(meta: dict, rows: list[dict]) -> str:
    def cell(r, key, suffix=""):
        return f"{r[key]}{suffix}" if key in r else "–"

    lines = [f"# Scale ({meta['date']}, {meta['cpus']} CPUs; base: {meta['base_clauses']} real clauses of "
             f"{meta['base_index']})", "",
             "Real clauses replicated with new ids and perturbed (vector noise, cosine ≈ 0.9; a tenth of the BM25 "
             "tokens dropped, numbers changed). 133 real questions. Latency per question, one thread. Memory is "
             "the process's RSS growth while building each structure.", "",
             "| clauses | FAISS | build s | memory MB | p50 ms | p95 ms | recall@10 vs exact |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        for kind in ("flat", "ivf", "hnsw"):
            if f"{kind}_build_s" in r:
                lines.append(f"| {r['clauses']:,} | {kind} | {r[f'{kind}_build_s']} | {r[f'{kind}_mb']} | "
                             f"{r[f'{kind}_p50_ms']} | {r[f'{kind}_p95_ms']} | {r[f'{kind}_recall@10']} |")
            else:
                lines.append(f"| {r['clauses']:,} | {kind} | not built (over --hnsw-max) | | | | |")
    lines += ["", "| clauses | BM25 build s | BM25 MB | BM25 p95 ms | hybrid search (index) p50 / p95 ms | "
              "answer p50 / p95 ms | answerer first use s | process RSS MB |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['clauses']:,} | {r['bm25_build_s']} | {r['bm25_mb']} | {r['bm25_p95_ms']} | "
                     f"{r['hybrid_p50_ms']} / {r['hybrid_p95_ms']} ({r['hybrid_index']}) | {r['ask_p50_ms']} / "
                     f"{r['ask_p95_ms']} | {cell(r, 'answerer_first_use_s')} | {r['rss_mb']} |")
    lines += ["", "Hybrid search is given the question's vector (the e5 question encoder adds ~20 ms at any size); "
              "the answer includes it. Clause texts are shared between copies here, so a real corpus of this size "
              f"needs about {meta['text_mb_per_million']} MB more per million clauses for their text."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "index-full" if (ROOT / "index-full" / "manifest.json").exists() else "index"
    parser.add_argument("--index", default=default)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="HNSW builds take tens of minutes at 10⁶ here")
    args = parser.parse_args()

    from rag.embed.encoder import Embedder

    base = PolicyIndex.load(ROOT / args.index)
    settings = Settings(index_dir=ROOT / args.index)
    questions = [json.loads(line)["question"] for line in open(ROOT / "eval" / "questions.jsonl", encoding="utf-8")
                 if line.strip()]
    query_vectors = Embedder(settings).encode_queries(questions).astype(np.float32)
    tokens = [base.tokenizer.tokenize(c.passage(base.manifest.get("passage_header", True))) for c in base.clauses]
    rng = np.random.default_rng(0)
    rows = [measure(base, tokens, questions, query_vectors, int(n), args.hnsw_max, rng) for n in args.sizes.split(",")]
    text_bytes = np.mean([len(c.text.encode("utf-8")) + len(c.section.encode("utf-8")) for c in base.clauses])
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "base_index": args.index,
            "base_clauses": len(base.clauses), "text_mb_per_million": round(float(text_bytes))}
    out = ROOT / "eval" / "reports"
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    report = markdown(meta, rows)
    (out / "scale.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
