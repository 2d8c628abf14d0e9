"""The audit log: every publish, replacement and deletion, with who made it (a JSON-lines file)."""

from __future__ import annotations

from ..files import JsonLines


class AuditLog(JsonLines):
    """Every change to the published corpus, with who made it."""

    def append(self, user: str, action: str, file: str, sha256: str, **extra: object) -> dict:
        """The record appended to the log: UTC time, user, action, file, sha256 and any extra fields."""
        return self.add({"user": user, "action": action, "file": file, "sha256": sha256, **extra})
