"""The query adapter: a committed, hash-checked linear map on question vectors; refused when altered."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rag.embed.adapter import (
    ADAPTER_RECORD,
    ADAPTER_TENSORS,
    AdapterRecord,
    AdapterUnavailable,
    QueryAdapter,
    load_adapter,
)


def test_the_committed_adapter_loads_for_the_default_model_only():
    adapter = QueryAdapter.load()
    assert adapter.version.startswith("qa-") and adapter.delta.shape == (384, 384)
    assert ADAPTER_TENSORS.stat().st_size <= 20 * 1024 * 1024
    assert load_adapter(adapter.record.base) is not None
    assert load_adapter("intfloat/some-other-model") is None and load_adapter(adapter.record.base, False) is None


def test_applied_vectors_stay_unit_length_and_zero_maps_nothing():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(3, 384)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    adapted = QueryAdapter.load().apply(q)
    assert np.allclose(np.linalg.norm(adapted, axis=1), 1.0, atol=1e-5) and not np.allclose(adapted, q)
    assert np.allclose(QueryAdapter(np.zeros((384, 384)), AdapterRecord("m", "")).apply(q), q, atol=1e-6)


def test_an_altered_adapter_is_refused(tmp_path):
    record, tensors = tmp_path / "a.json", tmp_path / "a.safetensors"
    shutil.copyfile(ADAPTER_RECORD, record)
    data = bytearray(ADAPTER_TENSORS.read_bytes())
    data[-1] ^= 1
    tensors.write_bytes(bytes(data))
    with pytest.raises(AdapterUnavailable, match="sha256"):
        QueryAdapter.load(record, tensors)
    with pytest.raises(AdapterUnavailable, match="unreadable"):
        QueryAdapter.load(tmp_path / "missing.json", tensors)


def test_saving_and_loading_gives_the_same_map(tmp_path):
    delta = np.eye(384, dtype=np.float32) * 0.1
    saved = QueryAdapter(delta, AdapterRecord("m", "")).save(tmp_path / "a.safetensors", tmp_path / "a.json",
                                                               {"seed": 1})
    loaded = QueryAdapter.load(tmp_path / "a.json", tmp_path / "a.safetensors")
    assert loaded.version == saved.version and np.array_equal(loaded.delta, delta)
