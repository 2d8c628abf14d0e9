"""The reader's committed weights: what training adds to the base e5-small (its top layers and two heads, float16
safetensors) and a JSON record (base, layers, the sha256 of the tensors, the combiner, the thresholds, what it
was trained on). Nothing executable is loaded: safetensors and JSON only, the tensors hash-checked."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from ..files import load_checked_record

DATA = Path(__file__).resolve().parents[1] / "data"
READER_RECORD = DATA / "reader.json"
READER_TENSORS = DATA / "reader.safetensors"


class ReaderUnavailable(Exception):
    """The reader's weights are missing, altered or unreadable: the message says what to run."""


@dataclass
class ReaderWeights:
    """The record beside the tensors."""

    base: str  # the converted e5 folder's name: the tensors replace layers of exactly that model
    first_trained_layer: int
    tensors_sha256: str
    combiner: dict  # {"features": [...], "mean", "scale", "coef", "intercept"}: logistic regression
    answer_threshold: float
    refuse_threshold: float
    read_depth: int  # candidates read per question
    trained_on: dict = field(default_factory=dict)
    null_logit: float = 0.0  # the reader's logit for "none of the candidates read answers" (combiner.shares)
    decider: dict = field(default_factory=dict)  # combiner.QUESTION_FEATURES' logistic regression: P(answerable)

    @cached_property
    def version(self) -> str:
        """"rd-" and 10 hex digits of a SHA-256 over the tensors' hash, the combiner and the thresholds."""
        key = json.dumps([self.tensors_sha256, self.combiner, self.answer_threshold, self.refuse_threshold,
                          self.read_depth, self.first_trained_layer, self.null_logit, self.decider])
        return "rd-" + hashlib.sha256(key.encode()).hexdigest()[:10]

    def save(self, path: Path = READER_RECORD) -> None:
        """Write the record (with its version) as JSON."""
        data = {**asdict(self), "version": self.version}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = READER_RECORD, tensors: Path = READER_TENSORS) -> ReaderWeights:
        """The record at `path`, its tensors' sha256 checked; ReaderUnavailable when either is missing or wrong."""
        return load_checked_record(path, tensors, cls, ("阅读模型", "reader"), ReaderUnavailable)
