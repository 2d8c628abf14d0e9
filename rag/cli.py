"""`policy-rag`: the command line over the `rag` API (also `python -m rag`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .config import Settings
from .ingest import IngestReport, Skipped, ingest_corpus

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="政策问答: retrieval Q&A over Chinese policy texts, with citations down to the clause.",
)

CorpusOption = Annotated[
    Optional[list[Path]],
    typer.Option("--corpus", help="Corpus folder (repeatable). Default: corpus/ or POLICY_RAG_CORPUS_DIRS."),
]


@app.callback()
def _root() -> None:
    """政策问答 (policy Q&A): index policy texts, search clauses, ask questions."""


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _summary(report: IngestReport) -> None:
    clauses = report.clauses
    _err(f"documents: {len(report.documents)}  clauses: {len(clauses)}  skipped: {len(report.skipped)}")
    for skipped in report.skipped:
        _err(f"  skipped {skipped.path}: {skipped.reason}")
    for doc_id in report.unstructured:
        _err(f"  no numbered headings in {doc_id}: split into paragraphs instead")


@app.command()
def chunks(
    corpus: CorpusOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per clause, one per line.")] = False,
) -> None:
    """Print the clauses the corpus yields, then a summary of documents, clauses and skipped files."""
    settings = Settings()
    report = IngestReport()
    for item in ingest_corpus(corpus or settings.corpus_dirs, settings):
        if isinstance(item, Skipped):
            report.skipped.append(item)
            continue
        report.documents.append(item)
        for clause in item.clauses:
            if as_json:
                sys.stdout.write(json.dumps(clause.to_dict(), ensure_ascii=False) + "\n")
            else:
                duty = ""
                if clause.lead_departments or clause.supporting_departments:
                    duty = f"  [牵头: {'、'.join(clause.lead_departments) or '—'}; 配合: {'、'.join(clause.supporting_departments) or '—'}]"
                typer.echo(f"{clause.chunk_id}  {clause.title} › {clause.section or '(正文前)'}{duty}")
                typer.echo("    " + clause.text.replace("\n", "\n    "))
    _summary(report)
    if not report.documents:
        raise typer.Exit(1)


def main() -> None:
    app()
