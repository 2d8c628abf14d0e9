"""The Milvus backend against the in-process searcher on the test questions: same index, same vectors.

    python eval/milvus_compare.py INDEX_DIR MILVUS_URI     # e.g. index ./milvus.db (needs '.[milvus]')

Uploads INDEX_DIR into the Milvus collection (replacing it), then prints recall@k / MRR@10 and p95 latency
per mode for both backends. Numbers from one run of this machine; the README quotes the last one.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.evaluate.metrics import RetrievalEvaluator, load_questions  # noqa: E402
from rag.index import PolicyIndex  # noqa: E402
from rag.retrieve.milvus import MilvusSearcher  # noqa: E402
from rag.retrieve.search import Searcher  # noqa: E402


def main(index_dir: str, uri: str) -> None:
    settings = Settings(index_dir=Path(index_dir))
    evaluator = RetrievalEvaluator(load_questions(ROOT / "eval" / "questions.jsonl"), k=10)
    local = Searcher.open(settings)
    started = time.perf_counter()
    remote = MilvusSearcher.connect(uri, settings=settings, embedder=local.encoder())
    count = remote.upload(PolicyIndex.load(Path(index_dir)))
    print(f"uploaded {count} clauses in {time.perf_counter() - started:.1f}s")
    for name, searcher in (("in-process", local), ("milvus", remote)):
        for mode in ("bm25", "dense", "hybrid"):
            result = evaluator(lambda q, k: [h.to_dict() for h in searcher.search(q, k=k, mode=mode)])
            latencies = sorted(p["latency_ms"] for p in result.per_question)
            summary = {key: round(value, 3) for key, value in result.summary()["all"].items()}
            print(name, mode, json.dumps(summary), f"p95 {latencies[int(0.95 * len(latencies)) - 1]:.1f} ms")


if __name__ == "__main__":
    main(*sys.argv[1:3])
