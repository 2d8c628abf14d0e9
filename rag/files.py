"""Files the package writes and reads: content hashes, files and folders replaced in one rename, a lock per
folder and JSON-lines files. One home for each, so no stage writes its own and a crash never leaves half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from filelock import FileLock, Timeout

T = TypeVar("T")


class Busy(Exception):
    """Another process holds the lock on this folder."""


def sha256_of(path: Path) -> str:
    """The file's SHA-256, hex, read in blocks (a model file is 70 MB)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def load_checked_record(record: Path, tensors: Path, make: Callable[..., T], names: tuple[str, str],
                        unavailable: type[Exception]) -> T:
    """`make(**fields)` of the JSON record at `record` (its derived "version" dropped), once `tensors` matches the
    sha256 the record names: the trained weights committed beside a record (the query adapter, the reader).
    `unavailable`, saying which (names: Chinese, English) and what to run, when either is unreadable or altered."""
    zh, en = names
    try:
        data = json.loads(Path(record).read_text(encoding="utf-8"))
        data.pop("version", None)
        loaded = make(**data)
        actual = sha256_of(tensors)
    except (OSError, ValueError, TypeError) as exc:
        raise unavailable(f"{zh}不可用 ({en} {record} or {tensors} is unreadable: {exc}): "
                          "run `policy-rag train`") from exc
    if actual != data.get("tensors_sha256"):
        raise unavailable(f"{zh}已损坏 ({en} {tensors} does not match the sha256 in {record}): "
                          "restore it from git or run `policy-rag train`")
    return loaded


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of `data`, hex."""
    return hashlib.sha256(data).hexdigest()


def write_text_atomically(path: Path, text: str, mode: int | None = None) -> None:
    """Writes `text` to a sibling temporary file, then renames it over `path`: readers see the old or the new
    file, never half of one. `mode`: the permission bits the file gets before it appears (0o600: the owner's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8",
                                         prefix=f".{path.name}.")
    try:
        with handle:
            handle.write(text)
        if mode is not None:
            os.chmod(handle.name, mode)
        os.replace(handle.name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)


def previous_of(folder: Path) -> Path:
    """Where a replaced folder waits while its successor is renamed into place."""
    return folder.with_name(folder.name + ".previous")


def recover_folder(folder: Path) -> None:
    """Finish or undo a swap that a crash interrupted between its two renames."""
    previous = previous_of(folder)
    if not folder.exists() and previous.exists():
        previous.rename(folder)


def replace_folder(folder: Path, write: Callable[[Path], object], prefix: str = "writing",
                   keep_existing: Callable[[Path], bool] = lambda folder: False, mode: int | None = None) -> Path:
    """`write(work)` fills a sibling temporary folder, which then replaces `folder`: the old one is renamed
    aside, the new one into place, and the old one removed (`recover_folder` undoes a crash in between). When
    `keep_existing(folder)` says another process already finished the same folder, theirs is kept. `mode`: the
    folder's permission bits (a temporary folder is the owner's only)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{prefix}-", dir=folder.parent))
    try:
        write(work)
        if keep_existing(folder):
            return folder
        if mode is not None:
            os.chmod(work, mode)
        previous = previous_of(folder)
        shutil.rmtree(previous, ignore_errors=True)
        if folder.exists():
            folder.rename(previous)
        work.rename(folder)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[Path]:
    """Holds `.<folder>.lock` beside the folder, or raises Busy at once; the OS drops the lock when the process
    dies. Yields the lock file's path."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = folder.with_name(f".{folder.name}.lock")
    lock = FileLock(path, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise Busy(str(path)) from None
    try:
        yield path
    finally:
        lock.release()


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """One JSON object a line, UTF-8, Chinese kept as written."""
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


class JsonLineError(ValueError):
    """A line of a JSON-lines file that is not JSON: `number` is its line, `msg` what the parser said."""

    def __init__(self, error: json.JSONDecodeError, number: int):
        super().__init__(str(error))
        self.number, self.msg = number, error.msg


def numbered_json_lines(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, value) of every non-blank line; JsonLineError names the first line that is not JSON."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise JsonLineError(exc, number) from exc


def read_jsonl(path: Path) -> list[dict]:
    """Every JSON object of a JSON-lines file, blank lines skipped."""
    return [row for _, row in numbered_json_lines(path)]


class JsonLines:
    """An append-only JSON-lines log, each record stamped with the UTC time: the audit and feedback logs."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def add(self, record: dict) -> dict:
        """The record as written: the time first, then its fields."""
        record = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **record}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return record

    def records(self) -> list[dict]:
        """Every record, oldest first ([] before the first one)."""
        return read_jsonl(self.path) if self.path.is_file() else []
