"""Shared fixtures: the five seed documents in corpus/ are the fixtures; corpus-extra when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest import IngestReport, ingest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
EXTRA = ROOT.parent / "shared" / "corpus-extra"

SEEDS = {
    "gongqingcheng": "gongqingcheng-carbon-peak-pilot-interpretation",
    "ruijin": "ruijin-carbon-peak-plan",
    "chengdu": "chengdu-carbon-peak-plan",
    "jiangxi": "jiangxi-carbon-peak-neutrality-opinions",
    "huaiyin": "huaiyin-carbon-peak-plan-interpretation",
}


@pytest.fixture(scope="session")
def corpus_report() -> IngestReport:
    return ingest([CORPUS])


@pytest.fixture(scope="session")
def seeds(corpus_report):
    """doc_id -> IngestedDocument for the five seed documents."""
    return {doc.document.doc_id: doc for doc in corpus_report.documents}


@pytest.fixture(scope="session")
def extra_report() -> IngestReport:
    if not EXTRA.is_dir():
        pytest.skip("../shared/corpus-extra is not beside the project")
    return ingest([EXTRA])


def raw(name: str) -> str:
    return (CORPUS / f"{SEEDS[name]}.txt").read_text(encoding="utf-8")
