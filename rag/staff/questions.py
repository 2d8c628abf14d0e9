"""The question log: every question the citizen page answers, what became of it, and nothing about the asker.

Append-only JSON lines, one `write` and an fsync per record, so a process killed mid-write loses at most the
line it was writing, and a torn last line is skipped on reading. Numbers a citizen types that identify a person
(phones, 身份证, bank cards) are masked before anything is written: staff never see them. Entries older than
the retention period (POLICY_RAG_QUESTION_LOG_DAYS) are purged, in one atomic rewrite.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from filelock import FileLock

from ..files import write_text_atomically

ANSWERED, HEDGED, REFUSED, FLAGGED, OFFICIAL = "answered", "hedged", "refused", "flagged", "official"
WITHDRAWN = "withdrawn"  # an official answer taken down because its cited clause changed: its question is back
OUTCOMES = (ANSWERED, HEDGED, REFUSED, FLAGGED, OFFICIAL, WITHDRAWN)
# What staff must act on: the documents did not settle it, only hinted, the asker rated the answer 有误, or
# the official answer that settled it was withdrawn.
NEEDS_ATTENTION = (REFUSED, HEDGED, FLAGGED, WITHDRAWN)

# Longest first, so a 身份证 number is not read as a phone number followed by digits.
PERSONAL_NUMBERS = (
    ("身份证号", re.compile(r"(?<![0-9])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[0-9Xx](?![0-9])")),
    ("银行卡号", re.compile(r"(?<![0-9])\d{4}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?(?![0-9])")),
    ("手机号", re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![0-9])")),
    ("电话", re.compile(r"(?<![0-9])0\d{2,3}[ -]?\d{7,8}(?![0-9])")),
)


def mask_personal(text: str) -> str:
    """The text with every phone, 身份证 and bank card number replaced by what it was: [手机号已隐去]."""
    for label, pattern in PERSONAL_NUMBERS:
        text = pattern.sub(f"[{label}已隐去]", text)
    return text


def outcome_of(answer: dict) -> str:
    """What became of a question, from its answer in the `ask --json` contract."""
    if answer.get("mode") == "official":
        return OFFICIAL
    if answer.get("refused"):
        return REFUSED
    return HEDGED if answer.get("confidence") == "low" else ANSWERED


@dataclass(frozen=True)
class LoggedQuestion:
    """One asked question: when (UTC), the words (masked), what became of it, what it cited, which model."""

    time: str
    question: str
    outcome: str
    citations: tuple[str, ...] = ()
    model: str | None = None
    official_id: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def when(self) -> datetime:
        """The time as an aware datetime."""
        return datetime.fromisoformat(self.time)


class QuestionLog:
    """The log file, its retention, and reading it back (oldest first)."""

    def __init__(self, path: Path, retention_days: int = 180):
        self.path = Path(path)
        self.retention = timedelta(days=retention_days)
        self._lock = threading.Lock()
        self._file_lock = FileLock(str(self.path.with_name(f".{self.path.name}.lock")), thread_local=False)

    def record(self, answer: dict, outcome: str | None = None) -> LoggedQuestion:
        """Append the question of an answer (`ask --json` contract) with its outcome; returns the entry."""
        entry = LoggedQuestion(
            datetime.now(timezone.utc).isoformat(timespec="seconds"), mask_personal(str(answer.get("question", ""))),
            outcome or outcome_of(answer), tuple(c["chunk_id"] for c in answer.get("citations", ()) if "chunk_id" in c),
            answer.get("model"), (answer.get("official") or {}).get("id"))
        line = json.dumps({k: v for k, v in asdict(entry).items() if k != "extra"}, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self._file_lock, open(self.path, "a+b") as handle:
            if handle.tell() > 0:  # after a line torn by a kill, start a new one: the torn one alone is lost
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        return entry

    def entries(self, since: datetime | None = None, outcomes: tuple[str, ...] = OUTCOMES) -> list[LoggedQuestion]:
        """The entries within retention (and since `since`) whose outcome is one of `outcomes`, oldest first."""
        cutoff = datetime.now(timezone.utc) - self.retention
        if since is not None:
            cutoff = max(cutoff, since if since.tzinfo else since.replace(tzinfo=timezone.utc))
        return [e for e in self._read() if e.when >= cutoff and e.outcome in outcomes]

    def purge(self) -> int:
        """Remove the entries older than the retention period; returns how many went."""
        cutoff = datetime.now(timezone.utc) - self.retention
        with self._lock, self._file_lock:
            entries = self._read()
            kept = [e for e in entries if e.when >= cutoff]
            if len(kept) < len(entries):
                write_text_atomically(self.path, "".join(
                    json.dumps({k: v for k, v in asdict(e).items() if k != "extra"}, ensure_ascii=False) + "\n"
                    for e in kept))
        return len(entries) - len(kept)

    def _read(self) -> list[LoggedQuestion]:
        if not self.path.is_file():
            return []
        entries = []
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                    entries.append(LoggedQuestion(row["time"], row["question"], row["outcome"],
                                                  tuple(row.get("citations") or ()), row.get("model"),
                                                  row.get("official_id")))
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line torn by a kill mid-write: the rest of the log stands
        return entries
