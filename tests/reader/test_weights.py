"""The reader's committed weights: hash-checked safetensors and a JSON record, refused when altered."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rag.reader import combiner
from rag.reader.weights import READER_RECORD, READER_TENSORS, ReaderUnavailable, ReaderWeights


def test_the_committed_weights_load_and_name_their_version():
    weights = ReaderWeights.load()
    assert weights.version.startswith("rd-") and len(weights.version) == 13
    assert READER_TENSORS.stat().st_size <= 20 * 1024 * 1024
    assert 0.0 <= weights.refuse_threshold <= weights.answer_threshold <= 1.0
    assert list(weights.combiner["features"]) == list(combiner.FEATURES)


def test_altered_tensors_are_refused(tmp_path):
    record, tensors = tmp_path / "reader.json", tmp_path / "reader.safetensors"
    shutil.copyfile(READER_RECORD, record)
    data = bytearray(READER_TENSORS.read_bytes())
    data[-1] ^= 1
    tensors.write_bytes(bytes(data))
    with pytest.raises(ReaderUnavailable, match="sha256"):
        ReaderWeights.load(record, tensors)
    with pytest.raises(ReaderUnavailable, match="unreadable"):
        ReaderWeights.load(tmp_path / "missing.json", tensors)


def test_the_combiner_prefers_what_the_reader_says_answers():
    weights = ReaderWeights.load()
    reads = np.asarray([combiner.row(0.3, 4.0, 8.0, (1.0, 0.0), 1), combiner.row(0.3, -4.0, 8.0, (1.0, 0.0), 1)])
    high, low = combiner.probability(weights.combiner, reads)
    assert high > low
