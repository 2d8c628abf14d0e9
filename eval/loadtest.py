"""Bounded load test on loopback: N concurrent gradio_client users ask real questions through /ask.

    python eval/loadtest.py                      # starts `python app.py` on a free port, N = 1, 8, 32
    python eval/loadtest.py --url http://127.0.0.1:7860/ --users 8 --requests 10

Each user is its own gradio_client.Client and asks `--requests` questions from eval/questions.jsonl (each
user starting at a different question), one after another. Reported per N: throughput, p50/p95/p99
latency as the user sees it, errors, answers that differ from the single-user answer to the same question
(a concurrency bug would show there), and the server's memory before and after. Not part of `make test`:
it takes minutes and measures this machine, not correctness. Writes eval/reports/load.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "eval" / "reports"


def questions() -> list[str]:
    rows = [json.loads(line) for line in open(ROOT / "eval" / "questions.jsonl", encoding="utf-8") if line.strip()]
    return [row["question"] for row in rows]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(index: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "POLICY_RAG_PORT": str(port), "POLICY_RAG_HOST": "127.0.0.1"}
    if index:
        env["POLICY_RAG_INDEX"] = index
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    for line in server.stdout:
        if "ready in" in line:
            return server, f"http://127.0.0.1:{port}/"
    raise SystemExit(f"the app did not start (exit {server.wait()})")


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 1e6


def one_user(url: str, asked: list[str]) -> list[tuple[str, float, str | None, dict | None]]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    results = []
    for question in asked:
        started = time.perf_counter()
        try:
            answer = client.predict(question, api_name="/ask")
            results.append((question, time.perf_counter() - started, None, answer))
        except Exception as exc:  # counted and reported, never hidden
            results.append((question, time.perf_counter() - started, f"{type(exc).__name__}: {exc}", None))
    return results


def run(url: str, users: int, per_user: int, pool: list[str]) -> list[tuple]:
    plans = [[pool[(u * 7 + i) % len(pool)] for i in range(per_user)] for u in range(users)]
    with ThreadPoolExecutor(users) as executor:
        return [r for rs in executor.map(lambda plan: one_user(url, plan), plans) for r in rs]


def summarise(results: list[tuple], seconds: float, reference: dict[str, str]) -> dict:
    latencies = np.array([r[1] for r in results]) * 1000
    errors = [r[2] for r in results if r[2]]
    differing = sum(1 for q, _, err, a in results if not err and reference.get(q) not in (None, a["answer"]))
    return {
        "requests": len(results), "seconds": round(seconds, 1), "throughput_rps": round(len(results) / seconds, 1),
        "p50_ms": round(float(np.percentile(latencies, 50))), "p95_ms": round(float(np.percentile(latencies, 95))),
        "p99_ms": round(float(np.percentile(latencies, 99))), "max_ms": round(float(latencies.max())),
        "errors": len(errors), "error_examples": sorted(set(errors))[:3], "answers_differing": differing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app; default: start one on a free port")
    parser.add_argument("--index", help="POLICY_RAG_INDEX for the app this script starts")
    parser.add_argument("--users", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=20, help="questions per user")
    args = parser.parse_args()

    server = None
    url = args.url
    if url is None:
        server, url = start_server(args.index)
    pool = questions()
    try:
        # The single-user answer to every question a user will ask: what concurrent answers must equal.
        reference = {q: a["answer"] for q, _, err, a in one_user(url, pool) if not err}
        rows = []
        for users in args.users:
            before = rss_mb(server.pid) if server else None
            started = time.perf_counter()
            results = run(url, users, args.requests, pool)
            row = {"users": users, **summarise(results, time.perf_counter() - started, reference)}
            if server:
                row["server_rss_mb_before"], row["server_rss_mb_after"] = round(before), round(rss_mb(server.pid))
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
    write_report(rows, url if args.url else "started by the script", args)


def write_report(rows: list[dict], url: str, args) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "server": url,
            "requests_per_user": args.requests, "endpoint": "/ask (gradio_client)"}
    (REPORTS / "load.json").write_text(json.dumps({"meta": meta, "rows": rows}, ensure_ascii=False, indent=2))
    lines = [f"# Load test ({meta['date']}, {meta['cpus']} CPUs, loopback, /ask through gradio_client)", "",
             f"Each user asks {args.requests} questions of eval/questions.jsonl in turn. Latency is what the user "
             "waits, queue included.", "",
             "| users | requests | throughput /s | p50 ms | p95 ms | p99 ms | max ms | errors | answers differing "
             "from single-user | server RSS MB before → after |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        memory = f"{r.get('server_rss_mb_before', '–')} → {r.get('server_rss_mb_after', '–')}"
        lines.append(f"| {r['users']} | {r['requests']} | {r['throughput_rps']} | {r['p50_ms']} | {r['p95_ms']} | "
                     f"{r['p99_ms']} | {r['max_ms']} | {r['errors']} | {r['answers_differing']} | {memory} |")
    (REPORTS / "load.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
