"""Answer: a question -> a cited, extractive answer: question analysis, features, the scorer, the answer rules."""

from ..text import OPENING_CHARS
from .answerer import Answerer
from .conversation import Conversation, resolve_follow_up
from .examples import EXAMPLES
from .features import CANDIDATE_CLAUSES, Candidate, matrix
from .intent import Intent, analyse, has_content
from .issue_date import ISSUE_QUESTION, asks_issue_date
from .messages import EMPTY_QUESTION, HEDGE, WELCOME
from .records import Answer, Citation, Decision
from .schema import FEATURES
from .scorer import MODEL_PATH, AnswerScorer, manifest_stamps, tradeoff

__all__ = [
    "Answer", "AnswerScorer", "Answerer", "CANDIDATE_CLAUSES", "Candidate", "Citation", "Conversation", "Decision",
    "EMPTY_QUESTION", "EXAMPLES", "FEATURES", "HEDGE", "ISSUE_QUESTION", "Intent", "MODEL_PATH", "OPENING_CHARS",
    "WELCOME", "analyse", "asks_issue_date", "has_content", "manifest_stamps", "matrix", "resolve_follow_up",
    "tradeoff",
]
