"""Evaluate: question sets, metrics, the harness and its report, and training the answer scorer on dev sets."""

from .metrics import QuestionSetError, is_held_out

__all__ = [
    "QuestionSetError", "is_held_out",
]
