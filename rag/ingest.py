"""The ingest pipeline over a corpus: load -> clean -> parse -> chunk, one file at a time.

A file that cannot be read is skipped and reported with its reason; the rest of the corpus goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .clauses import Clause, build_clauses
from .cleaning import PolicyDocument, clean_document
from .config import Settings
from .documents import CATALOG_NAMES, NOT_DOCUMENTS, SUFFIXES, LoadError, load_document, read_catalog


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class IngestedDocument:
    document: PolicyDocument
    clauses: list[Clause]
    structured: bool  # numbered headings were found; otherwise clauses are paragraphs


@dataclass
class IngestReport:
    documents: list[IngestedDocument] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def clauses(self) -> list[Clause]:
        return [clause for doc in self.documents for clause in doc.clauses]

    @property
    def unstructured(self) -> list[str]:
        return [doc.document.doc_id for doc in self.documents if not doc.structured]


def ingest_file(path: Path, catalog_entry: dict | None = None, settings: Settings | None = None) -> IngestedDocument:
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


def ingest_corpus(directories: Iterable[Path],
                  settings: Settings | None = None) -> Iterator[IngestedDocument | Skipped]:
    """Every document of the corpus folders in a stable order, or why a file was skipped."""
    settings = settings or Settings()
    seen_ids: dict[str, Path] = {}
    for path, catalog_entry, skipped in iter_corpus_files(directories):
        if skipped:
            yield skipped
            continue
        try:
            ingested = ingest_file(path, catalog_entry, settings)
        except LoadError as exc:
            yield Skipped(str(exc.path), exc.reason)
            continue
        doc_id = ingested.document.doc_id
        if doc_id in seen_ids:
            yield Skipped(str(path), f"文档编号重复 (duplicate document id {doc_id!r}, also {seen_ids[doc_id]})")
            continue
        seen_ids[doc_id] = path
        yield ingested


def ingest(directories: Iterable[Path], settings: Settings | None = None) -> IngestReport:
    report = IngestReport()
    for item in ingest_corpus(directories, settings):
        (report.skipped if isinstance(item, Skipped) else report.documents).append(item)
    return report
