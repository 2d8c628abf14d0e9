"""What the reader reads: windows cut from real seed clauses, token offsets that map back to exact text."""

from __future__ import annotations

import numpy as np
import pytest

from rag.reader.session import best_span
from rag.reader.windows import CONTEXT_CHARS, SENTENCE_CHARS, Window, encode, window_of


def _sentence(document: str, needle: str) -> tuple[int, int]:
    start = document.index(needle)
    return start, start + len(needle)


def test_window_holds_the_sentence_and_stays_inside_its_clause(seeds):
    doc = seeds["ruijin-carbon-peak-plan"]
    text = doc.document.text
    clause = next(c for c in doc.clauses if "30万千瓦" in c.text)
    start, end = _sentence(text, "新能源装机规模达力争到30万千瓦")
    window = window_of(clause.doc_id, clause.title, text, clause.start, clause.end, start, end)
    assert window.text == text[window.start:window.end]
    assert window.start <= start and end <= window.end
    assert clause.start <= window.start and window.end <= clause.end
    assert window.start >= start - CONTEXT_CHARS


def test_a_long_sentence_is_read_from_its_start(seeds):
    doc = seeds["chengdu-carbon-peak-plan"]
    clause = max(doc.clauses, key=lambda c: len(c.text))
    text = doc.document.text
    window = window_of(clause.doc_id, clause.title, text, clause.start, clause.end, clause.start, clause.end)
    assert window.sentence_end - window.sentence_start <= SENTENCE_CHARS
    assert window.end - window.start <= SENTENCE_CHARS + 2 * CONTEXT_CHARS


@pytest.mark.model
def test_token_offsets_map_back_to_window_text():
    from rag.config import Settings
    from rag.embed.encoder import converted_folder
    from rag.embed.onnx_export import shared_tokenizer

    tokenizer = shared_tokenizer(converted_folder(Settings()) / "tokenizer.json")
    text = "到2025年,建成充(换)电站3000座、充电桩17万个以上。"
    window = Window("d", "成都市方案", text, 100, 100 + len(text), 100, 100 + len(text))
    encoded = encode(tokenizer, "成都要建多少个充电桩？", window)
    pieces = [text[s:e] for s, e in encoded.spans.tolist() if s >= 0]
    assert "".join(pieces).replace("▁", "") == text.replace(" ", "")
    assert not encoded.answerable_tokens[:3].any()  # <s> and the question are never an answer


def test_best_span_picks_the_highest_start_plus_end_within_allowed_tokens():
    start = np.array([9.0, 0.1, 3.0, 0.2, 0.0])
    end = np.array([9.0, 0.0, 0.1, 2.5, 0.3])
    allowed = np.array([False, True, True, True, True])  # token 0 is the question
    assert best_span(start, end, allowed)[:2] == (2, 3)
    end_before_start = np.array([0.0, 5.0, 0.0, 0.0, 0.0])
    first, last, _ = best_span(np.array([0.0, 0.0, 0.0, 5.0, 0.0]), end_before_start, allowed)
    assert first <= last
