"""Answer: a question -> a cited, extractive answer: question analysis, features, the scorer, the answer rules."""

from .answerer import ISSUE_QUESTION, OPENING_CHARS, Answer, Answerer, Citation
from .examples import EXAMPLES
from .features import FEATURES, matrix
from .intent import analyse
from .scorer import MODEL_PATH, AnswerScorer, manifest_stamps, tradeoff

__all__ = [
    "Answer", "AnswerScorer", "Answerer", "Citation", "EXAMPLES", "FEATURES", "ISSUE_QUESTION", "MODEL_PATH",
    "OPENING_CHARS", "analyse", "manifest_stamps", "matrix", "tradeoff",
]
