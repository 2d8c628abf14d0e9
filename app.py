"""The Gradio app (chat for citizens, clause lookup for staff). Until the app lands, `make run` shows
what the corpus yields so a new user sees the ingest working."""

from pathlib import Path

from rag.config import Settings
from rag.ingest import ingest


def main() -> None:
    settings = Settings()
    report = ingest(settings.corpus_dirs, settings)
    print(f"政策问答: {len(report.documents)} documents, {len(report.clauses)} clauses from "
          f"{', '.join(str(Path(d)) for d in settings.corpus_dirs)}")
    for doc in report.documents:
        print(f"  {doc.document.doc_id}: {doc.document.title} ({len(doc.clauses)} clauses)")
    for skipped in report.skipped:
        print(f"  skipped {skipped.path}: {skipped.reason}")
    print("The chat app arrives with its issue; try `.venv/bin/policy-rag chunks` meanwhile.")


if __name__ == "__main__":
    main()
