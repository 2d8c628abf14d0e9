"""Staff: accounts, the audit log, the upload desk, official answers (标准答复), the question log and its queue."""

from .accounts import MIN_PASSWORD, StaffAccounts, hash_password, verify_password
from .audit import AuditLog
from .desk import DocumentDesk, Staged
from .official import OfficialAnswer, OfficialAnswerError, OfficialAnswers
from .official_match import OfficialMatcher
from .questions import QuestionLog, mask_personal
from .queue import QueueDecisions, QueueGroup, open_queue
from .serving import Hotline, beijing_date, beijing_time

__all__ = [
    "AuditLog", "DocumentDesk", "Hotline", "MIN_PASSWORD", "OfficialAnswer", "OfficialAnswerError",
    "OfficialAnswers", "OfficialMatcher", "QuestionLog", "QueueDecisions", "QueueGroup", "StaffAccounts", "Staged",
    "beijing_date", "beijing_time", "hash_password", "mask_personal", "open_queue", "verify_password",
]
