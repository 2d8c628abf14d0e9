"""The combiner: a logistic regression over what the scorer and the reader say of a read candidate, and the
answer-kind check. Training fits it (sklearn); answering applies it here (numpy)."""

from __future__ import annotations

import math

import numpy as np

# answered_logit is the question's, the same for each of its candidates: the reader's mass on "one of those read
# answers" (1 - none) separates answerable from not best (held-out AUC citizen .84 against the combined .67), while
# the per-candidate features pick which one.
FEATURES = ("scorer_logit", "reader_logit", "reader_share_logit", "span_score", "asks_detail", "detail_missing",
            "read_rank_inv", "answered_logit")


def logit(p: float) -> float:
    """log(p / (1 - p)), with p kept off 0 and 1."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def shares(logits: np.ndarray, null_logit: float) -> np.ndarray:
    """Each read candidate's share of the question's answer, the reader's softmax over the candidates read and
    "none of them answers" (a constant logit learned in training): the reader is trained on exactly this, so a
    question whose candidates all miss puts its mass on none."""
    z = np.concatenate([[null_logit], np.asarray(logits, dtype=np.float64)])
    e = np.exp(z - z.max())
    return (e / e.sum())[1:]


def row(scorer_p: float, reader_logit: float, share: float, span_score: float, kinds: tuple[float, float],
        rank: int, answered: float) -> list:
    """One read candidate's features, in FEATURES order; `answered`: the sum of the question's read shares."""
    return [logit(scorer_p), reader_logit, logit(share), span_score, *kinds, 1.0 / rank, logit(answered)]


def probability(combiner: dict, x: np.ndarray, features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """P(answers) for rows of `features`, with the fitted standardisation, coefficients and intercept."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, len(features))
    if not len(x):
        return np.zeros(0)
    z = (x - np.asarray(combiner["mean"])) / np.asarray(combiner["scale"]) @ np.asarray(combiner["coef"])
    return 1.0 / (1.0 + np.exp(-np.clip(z + combiner["intercept"], -30, 30)))


# The question's decision (answer, hedge or refuse), apart from which candidate to quote: the combiner ranks the
# candidates well (the best is gold .59 of the time on held-out NCP) but, fitted pair by pair, separates answerable
# questions from the rest worse than the reader's own "none" (held-out citizen AUC .69 against .84).
QUESTION_FEATURES = ("best_combined_logit", "answered_logit", "best_reader_logit", "best_scorer_logit")


def question_row(combined: np.ndarray, shares_read: np.ndarray, reader_logits: np.ndarray,
                 scorer_p: np.ndarray) -> list:
    """A question's decision features from its read candidates (QUESTION_FEATURES order)."""
    return [logit(float(np.max(combined))), logit(float(np.sum(shares_read))), float(np.max(reader_logits)),
            logit(float(np.max(scorer_p)))]


def decided(decider: dict, combined: np.ndarray, row: list) -> np.ndarray:
    """The read candidates' probabilities with the best one's set to P(the question is answerable) and the rest
    scaled alike, so the order stays the combiner's and one number decides; unchanged without a decider."""
    if not decider or not len(combined):
        return combined
    answerable = float(probability(decider, np.asarray([row]), QUESTION_FEATURES)[0])
    return combined * (answerable / max(float(np.max(combined)), 1e-9))
