"""The eval report: metrics.json, report.md (tables, worst failures, change against the previous report)
and three matplotlib plots (recall@k per method, accuracy per kind, latency distribution)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

HEADLINE = ("recall@1", "recall@5", "recall@10", "recall@20", "recall@30", "mrr@10", "ndcg@10")
ANSWER_COLUMNS = (
    ("key_fact_accuracy", "key facts"), ("citation_accuracy", "citations"),
    ("refusal_rate_out_of_scope", "refuses out-of-scope"), ("false_refusal_rate", "false refusals"),
    ("script_accuracy", "script"), ("rouge_l_f1", "ROUGE-L"), ("rouge_l_quotes", "ROUGE-L quotes"),
    ("rouge_l_short_answer", "ROUGE-L short answer"),
    ("answered_share", "answered"), ("hedged_share", "hedged"),
    ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"),
)


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:.1f}"
    return str(value)


def find_previous(reports_root: Path, current: Path, signature: str | None = None) -> dict | None:
    """The newest earlier report in the same folder over the same questions and corpus (the same signature):
    a change against another question set would mean nothing."""
    for path in sorted((p for p in reports_root.glob("*/metrics.json") if p.parent != current), reverse=True):
        try:
            metrics = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if signature is None or metrics.get("signature") == signature:
            metrics["_path"] = str(path)
            return metrics
    return None


def retrieval_table(metrics: dict) -> list[str]:
    """Markdown table lines: each retrieval method's headline metrics (all questions) and latency percentiles."""
    lines = ["| method | " + " | ".join(HEADLINE) + " | p50 ms | p95 ms |", "|---" * (len(HEADLINE) + 3) + "|"]
    for method, data in metrics["retrieval"].items():
        s = data["summary"]["all"]
        lines.append(f"| {method} | " + " | ".join(_fmt(s.get(m)) for m in HEADLINE)
                     + f" | {_fmt(data['latency_ms']['p50'])} | {_fmt(data['latency_ms']['p95'])} |")
    return lines


def _per_kind_table(summary: dict, columns: tuple[tuple[str, str], ...]) -> list[str]:
    kinds = ["all"] + sorted(k for k in summary if k != "all")
    lines = ["| kind | n | " + " | ".join(label for _, label in columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for kind in kinds:
        row = summary[kind]
        lines.append(f"| {kind} | {row['n']} | " + " | ".join(_fmt(row.get(key)) for key, _ in columns) + " |")
    return lines


def _changes(metrics: dict, previous: dict | None) -> list[str]:
    if not previous:
        return ["No earlier report over the same questions and corpus."]
    lines = [f"Against `{previous['_path']}` ({previous.get('when')}; same questions and corpus)", "",
             "| method | metric | before | now | change |", "|---|---|---|---|---|"]
    for method, data in metrics["retrieval"].items():
        before = previous.get("retrieval", {}).get(method)
        if not before:
            continue
        for metric in ("recall@5", "mrr@10"):
            old, new = before["summary"]["all"][metric], data["summary"]["all"][metric]
            lines.append(f"| {method} | {metric} | {old:.3f} | {new:.3f} | {new - old:+.3f} |")
    old_answers = (previous.get("answers") or {}).get("summary")
    new_answers = (metrics.get("answers") or {}).get("summary")
    if old_answers and new_answers:
        for key, label in ANSWER_COLUMNS[:5]:
            old, new = old_answers["all"].get(key), new_answers["all"].get(key)
            if old is not None and new is not None:
                lines.append(f"| answers | {label} | {old:.3f} | {new:.3f} | {new - old:+.3f} |")
    return lines


def markdown(metrics: dict, previous: dict | None) -> str:
    """The report.md text: retrieval and answer tables, worst failures, the change against `previous`, plots."""
    corpus = metrics["corpus"]
    kinds = ", ".join(f"{k} {n}" for k, n in metrics["kinds"].items())
    lines = [
        f"# Evaluation report — {metrics['when']}", "",
        f"Questions: `{metrics['questions_file']}` ({metrics['n_questions']}: {kinds}). "
        f"Corpus: {', '.join(corpus['dirs'])} — {corpus['documents']} documents, {corpus['clauses']} clauses.", "",
        "## Retrieval", "",
        "A hit is a retrieved clause that holds the evidence (located after normalisation; overlapping by half the "
        "shorter of the two). \"+ rerank\" is hybrid search reordered by the answer scorer. "
        "\"(no header)\" is the ablation index whose "
        "clauses are embedded and BM25-indexed without the document title and section path.", "",
        *retrieval_table(metrics), "",
    ]
    best = "hybrid" if "hybrid" in metrics["retrieval"] else next(iter(metrics["retrieval"]))
    lines += [f"### {best} per kind", "", *_per_kind_table(
        metrics["retrieval"][best]["summary"], tuple((m, m) for m in HEADLINE)), ""]
    answers = metrics.get("answers") or {}
    lines += ["## Answers", "", f"Source: {answers.get('source')}.", ""]
    if answers.get("summary"):
        lines += [*_per_kind_table(answers["summary"], ANSWER_COLUMNS), ""]
    if metrics.get("extractive_gold_not_in_corpus"):
        lines += [f"{metrics['extractive_gold_not_in_corpus']} extractive gold answers do not occur verbatim in the "
                  "cleaned corpus: those questions cannot be hits.", ""]
    lines += ["## Worst retrieval failures (" + best + ")", ""]
    if metrics.get("held_out"):
        lines.append("Not listed: this is a test set, reported on in aggregate only.")
    elif not metrics["failures"]:
        lines.append("None: every evidence string came back first.")
    for row in metrics["failures"]:
        ranks = ", ".join("missed" if r is None else f"rank {r}" for r in row["ranks"])
        lines += [f"- **{row['id']}** ({row['kind']}) {row['question']} — {ranks}",
                  f"  - expected: {' / '.join(row['evidence'])}"]
        for n, hit in enumerate(row["top"], 1):
            lines.append(f"  - got {n}: {hit['title']} › {hit['section']}: {hit['text'][:60].replace(chr(10), ' ')}…")
    lines += ["", "## Change against the previous report", "", *_changes(metrics, previous), "",
              "## Plots", "", "![recall@k](recall_at_k.png)", "![per kind](per_kind.png)", "![latency](latency.png)",
              "![refusal trade-off](tradeoff.png)", ""]
    return "\n".join(lines)


def plots(metrics: dict, out: Path) -> None:
    """Writes recall_at_k.png, per_kind.png, latency.png and (with answer probabilities) tradeoff.png to `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .metrics import recall_at

    ks = list(range(1, 11))
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, data in metrics["retrieval"].items():
        rows = data["per_question"]
        ax.plot(ks, [sum(recall_at(r["ranks"], k) for r in rows) / len(rows) for k in ks], marker="o", label=method,
                linestyle="--" if "no header" in method else "-")
    ax.set(xlabel="k", ylabel="recall@k", title="Recall@k per method", ylim=(0, 1.02))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "recall_at_k.png", dpi=110)
    plt.close(fig)

    best = "hybrid" if "hybrid" in metrics["retrieval"] else next(iter(metrics["retrieval"]))
    summary = metrics["retrieval"][best]["summary"]
    kinds = sorted(k for k in summary if k != "all")
    answers = (metrics.get("answers") or {}).get("summary") or {}
    fig, ax = plt.subplots(figsize=(6, 4))
    width = 0.4 if answers else 0.6
    positions = range(len(kinds))
    ax.bar([p - (width / 2 if answers else 0) for p in positions], [summary[k]["recall@5"] for k in kinds], width,
           label=f"{best} recall@5")
    if answers:
        values = []
        for kind in kinds:
            row = answers.get(kind, {})
            key = "refusal_rate_out_of_scope" if kind == "out-of-scope" else "key_fact_accuracy"
            values.append(row.get(key))
        ax.bar([p + width / 2 for p in positions], [v or 0 for v in values], width,
               label="answers: key facts (refusals for out-of-scope)")
    ax.set_xticks(list(positions), kinds, rotation=20)
    ax.set(ylabel="share", title="Accuracy per kind", ylim=(0, 1.05))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "per_kind.png", dpi=110)
    plt.close(fig)

    _tradeoff(metrics, out)

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, data in metrics["retrieval"].items():
        if "no header" not in method:
            ax.hist([r["latency_ms"] for r in data["per_question"]], bins=30, alpha=0.5, label=f"search {method}")
    latencies = [r["latency_ms"] for r in (metrics.get("answers") or {}).get("per_question", []) if r.get("latency_ms")]
    if latencies:
        ax.hist(latencies, bins=30, alpha=0.5, label="answers")
    ax.set(xlabel="ms", ylabel="questions", title="Latency distribution")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)


def plot_tradeoff(curve: list[dict], path: Path, title: str, chosen: float | None = None,
                  limit: float | None = None) -> None:
    """Writes the refusal trade-off (false refusals against unanswerable questions refused, one point per
    threshold) as an image at `path`; `chosen` marks a threshold, `limit` the false-refusal bound."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.plot([c["false_refusals"] for c in curve], [c["unanswerable_refused"] for c in curve], marker=".", lw=1)
    if chosen is not None:
        pick = min(curve, key=lambda c: abs(c["threshold"] - chosen))
        ax.scatter([pick["false_refusals"]], [pick["unanswerable_refused"]], color="red", zorder=3,
                   label=f"refuse threshold {chosen:.3f}")
        ax.legend(fontsize=8)
    if limit is not None:
        ax.axvline(limit, color="grey", ls="--", lw=0.8)
    ax.set(xlabel="false refusals (answerable questions refused)", ylabel="unanswerable questions refused",
           title=title, xlim=(0, 1), ylim=(0, 1.02))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def answer_outcomes(rows: list[dict]) -> list[dict]:
    """The answers given, as scorer.tradeoff reads outcomes. An answer without a probability was decided by
    another rule: a refusal stays refused at every threshold (p = -1), an answer stays answered (p = inf)."""
    return [{"answerable": r["kind"] != "out-of-scope", "correct": False,
             "p": r["probability"] if r.get("probability") is not None else (-1.0 if r["refused"] else math.inf)}
            for r in rows]


def _tradeoff(metrics: dict, out: Path) -> None:
    """The trade-off had refusal been decided at each threshold of the scorer's probability. A question refused
    for another reason (a place with no document) stays refused at every threshold."""
    from ..answer import tradeoff

    rows = (metrics.get("answers") or {}).get("per_question", [])
    if not any(r.get("probability") is not None for r in rows):
        return
    curve = tradeoff(answer_outcomes(rows), np.linspace(0.0, 1.0, 101))
    plot_tradeoff(curve, out / "tradeoff.png", "Refusal trade-off over the scorer's threshold")


def write_report(metrics: dict, out: Path, reports_root: Path | None = None) -> Path:
    """The path of report.md, written to `out` with metrics.json and the plots."""
    out.mkdir(parents=True, exist_ok=True)
    previous = find_previous(reports_root or out.parent, out, metrics.get("signature"))
    (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    plots(metrics, out)
    (out / "report.md").write_text(markdown(metrics, previous), encoding="utf-8")
    return out / "report.md"
