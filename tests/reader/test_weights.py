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
    logits = np.asarray([4.0, -4.0])
    share = combiner.shares(logits, weights.null_logit)
    reads = np.asarray([combiner.row(0.3, z, s, 8.0, (1.0, 0.0), 1, share.sum()) for z, s in zip(logits, share)])
    high, low = combiner.probability(weights.combiner, reads)
    assert high > low
    # The same candidate, in a question whose candidates the reader thinks none answers, is less likely an answer.
    missed = combiner.shares(np.asarray([-4.0, -4.0]), weights.null_logit)
    alone = combiner.probability(weights.combiner, [combiner.row(0.3, -4.0, missed[0], 8.0, (1.0, 0.0), 1,
                                                                 missed.sum())])[0]
    assert alone < high


def test_shares_split_the_answer_between_the_candidates_and_none():
    share = combiner.shares(np.asarray([2.0, 0.0, -1.0]), null_logit=1.0)
    assert np.all(np.diff(share) < 0) and 0.0 < share.sum() < 1.0  # what is left is "none of them answers"
    assert combiner.shares(np.asarray([-9.0, -9.0]), null_logit=3.0).sum() < 0.01
    assert combiner.shares(np.asarray([9.0]), null_logit=0.0)[0] > 0.99
