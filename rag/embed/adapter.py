"""The query adapter: a learned linear map on question vectors, q -> normalise(q + q·D), that moves a citizen's
wording toward the clauses that answer it. It is fitted on dev questions against the frozen clause vectors
(`policy-rag train`, rag/evaluate/adapter_training.py); clauses are untouched, so no index is rebuilt, and
question-to-question similarity (official answers, the queue's groups) keeps the plain e5 vectors.

What the repository keeps: D as float32 safetensors (384 x 384, 0.6 MB) and a JSON record (base model, the
tensor's sha256, what it was trained on and its held-out figures). Nothing executable is loaded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..files import load_checked_record, sha256_of

DATA = Path(__file__).resolve().parents[1] / "data"
ADAPTER_RECORD = DATA / "query_adapter.json"
ADAPTER_TENSORS = DATA / "query_adapter.safetensors"
TENSOR = "delta"


class AdapterUnavailable(Exception):
    """The adapter's files are missing, altered or unreadable: the message says what to run."""


@dataclass
class AdapterRecord:
    """The record beside the tensor."""

    base: str  # the encoder whose question vectors it maps (the index's model id)
    tensors_sha256: str
    trained_on: dict = field(default_factory=dict)

    @cached_property
    def version(self) -> str:
        """"qa-" and 10 hex digits of a SHA-256 over the tensor's hash and the base."""
        return "qa-" + hashlib.sha256(json.dumps([self.base, self.tensors_sha256]).encode()).hexdigest()[:10]

    def save(self, path: Path = ADAPTER_RECORD) -> None:
        """Write the record (with its version) as JSON."""
        data = {**asdict(self), "version": self.version}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


class QueryAdapter:
    """D and its record; `apply` maps question vectors (rows, L2-normalised) to adapted ones."""

    def __init__(self, delta: np.ndarray, record: AdapterRecord):
        self.delta = np.asarray(delta, dtype=np.float32)
        self.record = record

    @property
    def version(self) -> str:
        """The record's version (qa-…)."""
        return self.record.version

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """normalise(q + q·D) for each row (a single vector is one row)."""
        q = np.asarray(vectors, dtype=np.float32)
        if q.shape[-1] != self.delta.shape[0]:  # another encoder's vectors (a test's stand-in): left as they are
            return q
        mapped = q + q @ self.delta
        norms = np.linalg.norm(mapped, axis=-1, keepdims=True)
        return (mapped / np.maximum(norms, 1e-12)).astype(np.float32)

    def save(self, tensors: Path = ADAPTER_TENSORS, record_path: Path = ADAPTER_RECORD,
             trained_on: dict | None = None) -> QueryAdapter:
        """Write D (safetensors) and the record with its sha256; the saved adapter, as loading would give it."""
        from safetensors.numpy import save_file

        save_file({TENSOR: np.ascontiguousarray(self.delta)}, str(tensors), metadata={"base": self.record.base})
        tensors.chmod(0o644)
        record = AdapterRecord(self.record.base, sha256_of(tensors), trained_on or self.record.trained_on)
        record.save(record_path)
        return QueryAdapter(self.delta, record)

    @classmethod
    def load(cls, record_path: Path = ADAPTER_RECORD, tensors: Path = ADAPTER_TENSORS) -> QueryAdapter:
        """The adapter on disk, its tensor's sha256 checked; AdapterUnavailable when missing or altered."""
        from safetensors.numpy import load_file

        record = load_checked_record(record_path, tensors, AdapterRecord, ("问题适配器", "query adapter"),
                                     AdapterUnavailable)
        delta = load_file(str(tensors))[TENSOR]
        if delta.ndim != 2 or delta.shape[0] != delta.shape[1]:
            raise AdapterUnavailable(f"问题适配器形状不对 (query adapter {tensors}: shape {delta.shape})")
        return cls(delta, record)


def load_adapter(model_id: str, enabled: bool = True) -> QueryAdapter | None:
    """The adapter for questions embedded by `model_id`, when switched on and fitted for that model; None
    otherwise (questions are searched with their plain vectors)."""
    if not enabled:
        return None
    try:
        adapter = QueryAdapter.load()
    except AdapterUnavailable:
        return None
    return adapter if adapter.record.base == model_id else None
