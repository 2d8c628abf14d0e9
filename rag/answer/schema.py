"""The answer scorer's feature schema: the names, in the order the weights were fitted in.

One home, read by the features that compute them (features.py), the scorer that checks its weights were
trained on exactly these (scorer.py) and training's feature table. Renaming, adding or reordering a feature
makes the shipped weights refuse to load until `policy-rag train` is run again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

FEATURES = (
    # how close the question's meaning is to the sentence and its clause (e5 vectors)
    "sim_sentence", "sim_sentence_margin", "sim_sentence_rank_inv", "sim_clause", "sim_clause_margin",
    # where the clause ranked in fused, dense and BM25 search
    "fused_rank_inv", "dense_rank_inv", "bm25_rank_inv",
    # how much of the question's information the sentence and clause hold
    "coverage_sentence", "coverage_clause", "coverage_top",
    # whether the sentence holds what the question's kind asks for
    "numeric_match", "numeric_miss", "year_match", "year_miss", "duty_match", "duty_miss", "date_match",
    "date_miss", "definition_match", "place_match", "place_miss",
    # the sentence's shape and the question's kind
    "log_length", "first_sentence", "heading", "kind_numeric", "kind_staff", "kind_definition", "kind_general",
    # literal overlap that survives any segmentation, position, and the rarest term left unmatched
    "bigrams_sentence", "bigrams_clause", "bigrams_sentence_margin", "position_inv", "general_length",
    "missing_rarest",
)


def feature_matrix(rows: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Feature dicts as a [rows x FEATURES] array in FEATURES order (a missing name is a KeyError: no feature
    is silently zero)."""
    return np.asarray([[row[name] for name in FEATURES] for row in rows], dtype=np.float64).reshape(
        len(rows), len(FEATURES))
