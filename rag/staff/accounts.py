"""Staff accounts: who may change the corpus.

Accounts live in a JSON file outside the repository (`Settings.staff_accounts`, made with
`policy-rag staff add NAME`), one scrypt hash per user name; no password is stored. A user name that keeps
failing is refused unchecked for a while, so a password cannot be guessed at the speed of the login form.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import deque
from pathlib import Path

from ..files import write_text_atomically

log = logging.getLogger(__name__)

# scrypt at n=2^14, r=8: ~50 ms and 16 MB a check on this machine; slow enough to make guessing costly.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 8
# Failed logins a user name may have in the window before further attempts are refused unchecked.
MAX_FAILURES, FAILURE_WINDOW_S = 5, 300


def hash_password(password: str) -> str:
    """A salted scrypt hash: "scrypt$n$r$p$salt$digest", salt and digest in base64."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def verify_password(password: str, stored: str) -> bool:
    """True when the password matches the stored hash (compared in constant time); False for a malformed one."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):  # a malformed entry never authenticates
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password("not-a-password")  # an unknown name costs what a known one does


class StaffAccounts:
    """User name -> password hash, read from the accounts file at each check (adding a user needs no restart
    once one exists)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._failures: dict[str, deque] = {}

    def load(self) -> dict[str, str]:
        """User name -> hash from the accounts file ({} when there is none; ValueError when it is malformed)."""
        if not self.path.is_file():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        accounts = data.get("accounts") if isinstance(data, dict) else None
        if not isinstance(accounts, dict):
            raise ValueError(f"{self.path}: expected {{\"accounts\": {{name: hash}}}}")
        return {str(k): str(v) for k, v in accounts.items()}

    def configured(self) -> bool:
        """True when the accounts file holds at least one account (False, logged, when it is unusable)."""
        try:
            return bool(self.load())
        except (OSError, ValueError) as exc:  # an unreadable file opens nothing, and says why in the log
            log.error("staff accounts unusable: %s", exc)
            return False

    def add(self, name: str, password: str) -> None:
        """Creates the account or replaces its password (ValueError for a bad name or a short password)."""
        name = name.strip()
        if not name or any(ch.isspace() for ch in name):
            raise ValueError("user name must be non-empty and contain no spaces")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
        accounts = self.load()
        accounts[name] = hash_password(password)
        self._save(accounts)

    def remove(self, name: str) -> bool:
        """True when the account existed and was deleted."""
        accounts = self.load()
        if accounts.pop(name, None) is None:
            return False
        self._save(accounts)
        return True

    def _save(self, accounts: dict[str, str]) -> None:
        # Atomic, so a login never reads half a file; the owner's only: hashes are not secrets, but need not be shared.
        write_text_atomically(self.path, json.dumps({"accounts": accounts}, ensure_ascii=False, indent=1), mode=0o600)

    def check(self, name: str, password: str) -> bool:
        """True for a known user with the right password; a name with too many recent failures is refused
        without checking (see MAX_FAILURES)."""
        now = time.monotonic()
        failures = self._failures.setdefault(name, deque())
        while failures and now - failures[0] > FAILURE_WINDOW_S:
            failures.popleft()
        if len(failures) >= MAX_FAILURES:
            return False
        try:
            stored = self.load().get(name)
        except (OSError, ValueError):
            stored = None
        ok = verify_password(password, stored or _DUMMY_HASH) and stored is not None
        if not ok:
            failures.append(now)
        return ok

    async def authenticate(self, name: str, password: str) -> bool:
        """Gradio's auth callable: scrypt runs in a worker thread, so logins never stall the pages' event loop."""
        return await asyncio.to_thread(self.check, name, password)
