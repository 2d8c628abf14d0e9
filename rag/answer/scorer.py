"""The answer scorer: a logistic regression that gives each candidate sentence a calibrated probability of
answering the question, and the two thresholds that turn the best probability into answer / hedge / refuse.

Its weights are plain JSON in the package (`rag/data/answer_model.json`, no pickle), written by
`policy-rag train` (rag/training.py) from the dev sets with a fixed seed; scoring is a dot product in numpy,
so answering needs no scikit-learn. The version (a hash of the weights) is recorded in the index manifest and
in every answer's JSON (`model`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from .schema import FEATURES

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "answer_model.json"


class ScorerUnavailable(Exception):
    """The weights file is missing, unreadable or for other features: the message says what to run."""


@dataclass
class AnswerScorer:
    """The fitted logistic regression (standardisation, coefficients, intercept) and its two thresholds."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    answer_threshold: float  # at or above: a confident answer
    refuse_threshold: float  # below: refused; between the two: the closest clause, in hedged words
    trained_on: dict = field(default_factory=dict)  # what data, how many rows, the command, the seed

    @cached_property
    def version(self) -> str:
        """The scorer's id: "lr-" and the first 10 hex digits of a SHA-256 over its weights and thresholds."""
        weights = json.dumps([self.features, self.mean, self.scale, self.coef, self.intercept,
                              self.answer_threshold, self.refuse_threshold])
        return "lr-" + hashlib.sha256(weights.encode()).hexdigest()[:10]

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(the sentence answers the question) for each row of features (FEATURES order)."""
        if x.size == 0:
            return np.zeros(len(x))
        mean, scale, coef = self._arrays
        logits = (x - mean) / scale @ coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """mean, scale and coefficients as arrays, made once (every answer scores with them)."""
        return np.asarray(self.mean), np.asarray(self.scale), np.asarray(self.coef)

    def weights_by_importance(self) -> list[tuple[str, float]]:
        """Standardised coefficients, largest effect first: what the model says matters."""
        return sorted(zip(self.features, self.coef), key=lambda item: -abs(item[1]))

    def save(self, path: Path = MODEL_PATH) -> None:
        """Writes the weights, thresholds, training record and version to `path` as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {**asdict(self), "version": self.version}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> AnswerScorer:
        """The scorer saved at `path` (cached per path); ScorerUnavailable if unreadable or for other features."""
        return _load(Path(path))

    @classmethod
    def version_on_disk(cls, path: Path = MODEL_PATH) -> str | None:
        """The version of the scorer saved at `path`, or None when it cannot be loaded."""
        try:
            return cls.load(path).version
        except ScorerUnavailable:
            return None


@lru_cache(maxsize=4)
def _load(path: Path) -> AnswerScorer:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("version", None)
        scorer = AnswerScorer(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise ScorerUnavailable(f"答案评分模型不可用 (answer model {path} is unreadable: {exc}): "
                                "run `policy-rag train`") from exc
    if tuple(scorer.features) != FEATURES:
        raise ScorerUnavailable(f"答案评分模型与特征不符 (answer model {path} was trained on other features): "
                                "run `policy-rag train`")
    return scorer


def tradeoff(outcomes: list[dict], thresholds: np.ndarray) -> list[dict]:
    """For each refuse threshold: false refusals (answerable refused), unanswerable refused, and how often an
    answer's best sentence is correct. An outcome is {"answerable", "p" (the best sentence's probability),
    "correct"}; training reads it out of fold, the eval report from the answers given."""
    answerable = [o for o in outcomes if o["answerable"]]
    other = [o for o in outcomes if not o["answerable"]]
    curve = []
    for t in thresholds.tolist():
        answered = [o for o in answerable if o["p"] >= t]
        curve.append({
            "threshold": t,
            "false_refusals": 1 - len(answered) / max(len(answerable), 1),
            "unanswerable_refused": sum(o["p"] < t for o in other) / max(len(other), 1),
            "precision": sum(o["correct"] for o in answered) / max(len(answered), 1),
        })
    return curve


def manifest_stamps() -> dict[str, str | None]:
    """What an index manifest records of the answer stage: the answer model's, the reader's and the query
    adapter's versions on disk (None when one cannot be loaded), so an index says which models served from it."""
    from ..embed.adapter import AdapterUnavailable, QueryAdapter
    from ..reader import ReaderUnavailable, ReaderWeights

    try:
        reader = ReaderWeights.load().version
    except ReaderUnavailable:
        reader = None
    from ..config import Settings

    try:  # switched off (POLICY_RAG_QUERY_ADAPTER=0), no answer goes through it: the manifest says none
        adapter = QueryAdapter.load().version if Settings().query_adapter else None
    except AdapterUnavailable:
        adapter = None
    return {"answer_model": AnswerScorer.version_on_disk(), "reader": reader, "query_adapter": adapter}
