"""The combiner: a logistic regression over what the scorer and the reader say of a read candidate, and the
answer-kind check. Training fits it (sklearn); answering applies it here (numpy)."""

from __future__ import annotations

import math

import numpy as np

FEATURES = ("scorer_logit", "reader_logit", "span_score", "asks_detail", "detail_missing", "read_rank_inv")


def logit(p: float) -> float:
    """log(p / (1 - p)), with p kept off 0 and 1."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def row(scorer_p: float, reader_logit: float, span_score: float, kinds: tuple[float, float], rank: int) -> list:
    """One read candidate's features, in FEATURES order."""
    return [logit(scorer_p), reader_logit, span_score, *kinds, 1.0 / rank]


def probability(combiner: dict, x: np.ndarray) -> np.ndarray:
    """P(answers) for rows of FEATURES, with the fitted standardisation, coefficients and intercept."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, len(FEATURES))
    if not len(x):
        return np.zeros(0)
    z = (x - np.asarray(combiner["mean"])) / np.asarray(combiner["scale"]) @ np.asarray(combiner["coef"])
    return 1.0 / (1.0 + np.exp(-np.clip(z + combiner["intercept"], -30, 30)))
