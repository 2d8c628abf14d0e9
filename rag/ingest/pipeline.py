"""The ingest pipeline over a corpus: load -> clean -> parse -> chunk, one file at a time.

A file that cannot be read is skipped and reported with its reason; the rest of the corpus goes on. The index
build consumes the same stream: it passes the content hashes it already holds, and a file whose hash has not
changed comes back as `Unchanged` instead of being parsed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import Settings
from .clauses import Clause, build_clauses
from .clean import PolicyDocument, clean_document
from .load import CATALOG_NAMES, NOT_DOCUMENTS, SUFFIXES, LoadError, doc_id_for, load_document, read_catalog


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why (in Chinese, then English)."""

    path: str
    reason: str


@dataclass(frozen=True)
class IngestedDocument:
    """A cleaned document and its clauses."""

    document: PolicyDocument
    clauses: list[Clause]
    structured: bool  # numbered headings were found; otherwise clauses are paragraphs
    content_hash: str = ""  # of the file's bytes and catalogue entry (set by ingest_corpus)

    @property
    def doc_id(self) -> str:
        """The document's id (its file name without the suffix)."""
        return self.document.doc_id


@dataclass(frozen=True)
class Unchanged:
    """A file whose content hash is the one the caller already holds: its clauses stand as they were."""

    doc_id: str
    path: str
    content_hash: str


@dataclass
class IngestReport:
    """A whole corpus ingested: its documents and the files skipped."""

    documents: list[IngestedDocument] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def clauses(self) -> list[Clause]:
        """Every clause of every document, in corpus order."""
        return [clause for doc in self.documents for clause in doc.clauses]

    @property
    def unstructured(self) -> list[str]:
        """The ids of documents without numbered headings (split into paragraphs instead)."""
        return [doc.document.doc_id for doc in self.documents if not doc.structured]


def ingest_file(path: Path, catalog_entry: dict | None = None, settings: Settings | None = None) -> IngestedDocument:
    """One file loaded, cleaned and split into clauses; LoadError says why it cannot be."""
    settings = settings or Settings()
    document = clean_document(load_document(path, catalog_entry, settings.max_file_bytes))
    if not document.text.strip():
        raise LoadError(path, "清洗后没有正文 (no text left after removing page chrome)")
    clauses = build_clauses(
        document.doc_id, document.title, document.text, settings.chunk_max_chars, settings.chunk_min_chars
    )
    # A clause under a numbered heading has a section path: no need to parse the text a second time.
    return IngestedDocument(document, clauses, any(c.section_path for c in clauses))


def _candidates(directory: Path) -> Iterator[Path]:
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).parts
        if path.is_file() and not any(part.startswith(".") for part in relative):
            if path.name not in CATALOG_NAMES and path.name.lower() not in NOT_DOCUMENTS:
                yield path


def iter_corpus_files(directories: Iterable[Path]) -> Iterator[tuple[Path, dict | None, Skipped | None]]:
    """(path, catalogue entry, None) for every document file, or (path, None, why it is skipped)."""
    for directory in map(Path, directories):
        if not directory.is_dir():
            yield directory, None, Skipped(str(directory), "目录不存在 (corpus folder not found)")
            continue
        try:
            catalog = read_catalog(directory)
        except LoadError as exc:
            yield exc.path, None, Skipped(str(exc.path), exc.reason)
            catalog = {}
        for path in _candidates(directory):
            if path.suffix.lower() not in SUFFIXES:
                reason = (f"不支持的文件类型 (unsupported file type {path.suffix or 'without suffix'}; "
                          f"expected {', '.join(SUFFIXES)})")
                yield path, None, Skipped(str(path), reason)
            else:
                yield path, catalog.get(path.name), None


def content_hash(data: bytes, catalog_entry: dict | None) -> str:
    """SHA-256 of the file's bytes and its catalogue entry: editing either re-ingests the file."""
    digest = hashlib.sha256(data)
    digest.update(json.dumps(catalog_entry or {}, sort_keys=True, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()


def ingest_corpus(directories: Iterable[Path], settings: Settings | None = None,
                  known: Mapping[str, str] | None = None) -> Iterator[IngestedDocument | Unchanged | Skipped]:
    """Every document of the corpus folders in a stable order, or why a file was skipped. A document whose id
    is in `known` with the same content hash is yielded as `Unchanged`, not parsed again. A second file with
    an id already seen is skipped, whichever of the two changed (and even when the index build then leaves the
    first out as a near duplicate). A file over the size limit is skipped, however it was indexed before."""
    settings = settings or Settings()
    known = known or {}
    seen_ids: dict[str, Path] = {}
    for path, catalog_entry, skipped in iter_corpus_files(directories):
        if skipped:
            yield skipped
            continue
        try:
            # A file over the size limit is not read whole to be hashed: ingest_file refuses it by its size.
            too_large = path.stat().st_size > settings.max_file_bytes
            digest = "" if too_large else content_hash(path.read_bytes(), catalog_entry)
        except OSError as exc:
            yield Skipped(str(path), f"无法读取 (cannot read: {exc.strerror or exc})")
            continue
        doc_id = doc_id_for(path)
        if doc_id in seen_ids:
            yield Skipped(str(path), f"文档编号重复 (duplicate document id {doc_id!r}, also {seen_ids[doc_id]})")
            continue
        if known.get(doc_id) == digest:
            item: IngestedDocument | Unchanged = Unchanged(doc_id, str(path), digest)
        else:
            try:
                item = replace(ingest_file(path, catalog_entry, settings), content_hash=digest)
            except LoadError as exc:
                yield Skipped(str(exc.path), exc.reason)
                continue
        seen_ids[doc_id] = path
        yield item


def ingest(directories: Iterable[Path], settings: Settings | None = None) -> IngestReport:
    """Every document of the corpus folders, parsed, and the files skipped with their reasons."""
    report = IngestReport()
    for item in ingest_corpus(directories, settings):
        (report.skipped if isinstance(item, Skipped) else report.documents).append(item)
    return report
