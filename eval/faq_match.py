"""The official-answer match threshold, chosen on eval/faq_paraphrases.jsonl (written by the team for this).

Each group is one need in several wordings. Leave-one-out by wording: the group's first wording is the official
answer's question and its second a paraphrase staff added; every other wording must match that answer
(a hit) and nothing else; each near miss (same topic and place, another need) and each unrelated question must
match none. Writes eval/reports/faq-match.json and .md: the figures at each threshold, and the one chosen.

    python eval/faq_match.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.embed import Embedder  # noqa: E402
from rag.files import read_jsonl  # noqa: E402
from rag.staff.official_match import MATCH_THRESHOLD, normalized  # noqa: E402
from rag.staff.questions import LoggedQuestion  # noqa: E402
from rag.staff.queue import GROUP_THRESHOLD, group_questions  # noqa: E402

THRESHOLDS = [round(t, 3) for t in np.arange(0.85, 0.975, 0.005)]


def main() -> None:
    rows = read_jsonl(ROOT / "eval" / "faq_paraphrases.jsonl")
    groups = [r["questions"] for r in rows if "questions" in r]
    near = [q for r in rows for q in r.get("near_misses", [])]
    unrelated = [q for r in rows for q in r.get("unrelated", [])]
    encoder = Embedder(Settings())
    embed = lambda texts: encoder.encode_queries([normalized(t) for t in texts])  # noqa: E731
    official = [embed(g[:2]) for g in groups]  # the question and one paraphrase per answer
    probes = ([(i, q) for i, g in enumerate(groups) for q in g[2:]] + [("near", q) for q in near]
              + [("unrelated", q) for q in unrelated])
    vectors = embed([q for _, q in probes])
    best = np.stack([(o @ vectors.T).max(axis=0) for o in official])  # answers x probes
    table = []
    for t in THRESHOLDS:
        hits, wrong = 0, {"paraphrase": 0, "near": 0, "unrelated": 0}
        for j, (group, _) in enumerate(probes):
            top = int(best[:, j].argmax())
            matched = top if best[top, j] >= t else None
            if isinstance(group, int):
                hits += matched == group
                wrong["paraphrase"] += matched is not None and matched != group
            else:
                wrong[group] += matched is not None
        paraphrases = sum(1 for g, _ in probes if isinstance(g, int))
        table.append({"threshold": t, "match_rate": round(hits / paraphrases, 3),
                      "false_matches": wrong, "paraphrases": paraphrases, "near": len(near),
                      "unrelated": len(unrelated)})
    # A wrong answer labelled as reviewed is worse than the extractive answer it displaces: the threshold is the
    # one that matches most paraphrases minus near misses, among those matching no unrelated question and no
    # paraphrase to the wrong answer (ties: the higher threshold).
    safe = [r for r in table if r["false_matches"]["unrelated"] == 0 and r["false_matches"]["paraphrase"] == 0]
    chosen = max(safe, key=lambda r: (r["match_rate"] - r["false_matches"]["near"] / max(1, len(near)),
                                      r["threshold"])) if safe else None
    grouping = queue_grouping(groups, near + unrelated, encoder)
    report = {"groups": len(groups), "table": table, "chosen": chosen, "in_code": MATCH_THRESHOLD,
              "queue_grouping": grouping, "queue_threshold_in_code": GROUP_THRESHOLD}
    out = ROOT / "eval" / "reports"
    (out / "faq-match.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    lines = ["# Official-answer match threshold (eval/faq_paraphrases.jsonl)", "",
             f"{len(groups)} needs; each answer holds its first two wordings, the other {table[0]['paraphrases']} "
             f"are asked, with {len(near)} near misses (same topic and place, another need) and {len(unrelated)} "
             "unrelated questions.", "",
             "| threshold | paraphrases matched | to a wrong answer | near misses matched | unrelated matched |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['threshold']} | {r['match_rate']:.3f} | {r['false_matches']['paraphrase']} | "
              f"{r['false_matches']['near']} of {len(near)} | {r['false_matches']['unrelated']} of {len(unrelated)} |"
              for r in table]
    lines += ["", f"Chosen: {chosen['threshold'] if chosen else 'none'}; in code (rag/staff/official_match.py): "
              f"{MATCH_THRESHOLD}."]
    lines += ["", "## The queue's groups (rag/staff/queue.py)", "",
              "Every wording of the needs above and every near miss and unrelated question (each its own need) "
              "grouped as the queue groups them; pairs of questions put in one group that are one need "
              "(precision), pairs of one need put in one group (recall).", "",
              "| threshold | groups | needs | pair precision | pair recall |", "|---|---|---|---|---|"]
    lines += [f"| {g['threshold']} | {g['groups']} | {g['needs']} | {g['precision']:.3f} | {g['recall']:.3f} |"
              for g in grouping]
    lines += ["", f"In code: {GROUP_THRESHOLD}."]
    (out / "faq-match.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def queue_grouping(groups: list[list[str]], singles: list[str], encoder) -> list[dict]:
    """Pair precision and recall of the queue's grouping at several thresholds."""
    questions = ([(i, q) for i, g in enumerate(groups) for q in g]
                 + [(len(groups) + j, q) for j, q in enumerate(singles)])
    rows = []
    for t in (0.88, 0.9, 0.92, 0.94, 0.95):
        entries = [LoggedQuestion("2026-12-02T00:00:00+00:00", q, "refused") for _, q in questions]
        found = group_questions(entries, encoder, t)
        label = {q: need for need, q in questions}
        together = {(a, b) for g in found for a, _ in g.questions for b, _ in g.questions if a < b}
        same = {(a, b) for a in label for b in label if a < b and label[a] == label[b]}
        right = len(together & same)
        rows.append({"threshold": t, "groups": len(found), "needs": len(groups) + len(singles),
                     "precision": right / len(together) if together else 1.0, "recall": right / len(same)})
    return rows


if __name__ == "__main__":
    main()
