"""Staff: accounts, the audit log and the upload desk that publishes documents into the index."""

from .accounts import MIN_PASSWORD, StaffAccounts, hash_password, verify_password
from .audit import AuditLog
from .desk import DocumentDesk, Staged

__all__ = [
    "AuditLog", "DocumentDesk", "MIN_PASSWORD", "StaffAccounts", "Staged", "hash_password", "verify_password",
]
