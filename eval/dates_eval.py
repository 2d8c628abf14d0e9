"""Date extraction measured against hand labels: eval/dates_labelled.jsonl (40 documents drawn at random, seed
20261202, from ../shared/ncp/corpus and ../shared/corpus-extra: eval/dates_sample.txt, labelled by reading each
document without the extractor). Writes eval/reports/dates.md and .json.

    python eval/dates_eval.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.files import read_jsonl  # noqa: E402
from rag.ingest import ingest_file  # noqa: E402
from rag.ingest.dates import document_dates  # noqa: E402

FIELDS = ("issued", "effective", "expires")


def same(found: str | None, labelled: str | None) -> bool:
    """A found date agrees with the label when equal, or when the label is coarser (2020-02 for 2020-02-10); an
    end at an event agrees with a label that ends at an event (the labeller's words for it may differ)."""
    if found is None or labelled is None:
        return found == labelled
    if found.startswith("open:") and labelled.startswith("open:"):
        return True
    return found == labelled or found.startswith(labelled + "-")


def main() -> None:
    rows = read_jsonl(ROOT / "eval" / "dates_labelled.jsonl")
    counts = {f: {"found": 0, "labelled": 0, "right": 0} for f in FIELDS}
    for row in rows:
        document = ingest_file(ROOT / row["path"]).document
        dates = document_dates(document.text, document.metadata)
        for field in FIELDS:
            found = getattr(dates, field)
            value, label = (found.value if found else None), row.get(field)
            counts[field]["found"] += value is not None
            counts[field]["labelled"] += label is not None
            counts[field]["right"] += value is not None and same(value, label)
    table = {f: {**c, "precision": round(c["right"] / c["found"], 3) if c["found"] else None,
                 "recall": round(c["right"] / c["labelled"], 3) if c["labelled"] else None}
             for f, c in counts.items()}
    out = ROOT / "eval" / "reports"
    (out / "dates.json").write_text(json.dumps({"documents": len(rows), "fields": table}, indent=1), encoding="utf-8")
    lines = [f"# Document dates against hand labels ({len(rows)} documents, eval/dates_labelled.jsonl)", "",
             "| field | labelled | found | right | precision | recall |", "|---|---|---|---|---|---|"]
    lines += [f"| {f} | {c['labelled']} | {c['found']} | {c['right']} | {c['precision']} | {c['recall']} |"
              for f, c in table.items()]
    (out / "dates.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
