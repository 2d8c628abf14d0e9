"""The index on disk: clauses, their documents, dense vectors in FAISS, BM25 data and a manifest.

Layout of `index/` (no pickle anywhere; everything is JSON, .npy or FAISS's own format):

    manifest.json     format version, model id and dimension, per-file content hashes, counts, build time
    documents.jsonl   one cleaned document a line: id, title, metadata, contacts, text (what citations quote)
    clauses.jsonl     one clause a line, in row order (row i of the vectors and of BM25)
    vectors.npy       float32 [clauses x dim], L2-normalised; kept so unchanged files are never re-embedded
    dense.faiss       flat inner product by default; HNSW or IVF when configured
    bm25/             bm25s arrays and vocabulary
    lexicon.json      words added to jieba (department names) so questions tokenise like clauses
    sentences.npy     int64 [sentences x 3]: clause row, start, end (offsets in the document text)
    sentence_vectors.npy  float16 [sentences x dim]: each sentence embedded alone (`passage: `), so the answer
                      scorer costs one question encode and dot products

A build holds a lock file beside the folder, writes a sibling temporary folder and swaps it in with two
renames; a crash, kill -9 or Ctrl-C leaves the previous index in place (a half-finished swap is repaired on
the next load, a dead build's temporary folder removed by the next build). The manifest records the size
and SHA-256 of every other file; loading checks them, so a damaged or truncated file is reported with the
rebuild command instead of failing deep inside FAISS or numpy.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import Settings
from ..ingest import Clause, Contact, Duplicate, DuplicateFinder, PolicyDocument, Skipped, Unchanged, ingest_corpus
from ..ingest import split as split_sentences
from ..text import VOCABULARY_VERSION, add_words, tokenize
from .bm25 import BM25Index
from .dense import DenseBackend, build_backend, load_backend

if TYPE_CHECKING:
    from ..embed import Progress

FORMAT_VERSION = 1
# Bump when cleaning or chunking changes what a file yields: every file is then re-ingested.
PIPELINE_VERSION = 3


class IndexUnavailable(Exception):
    """The index is missing, unreadable, or was built by another model: the message says what to do."""


def rebuild_hint(folder: Path) -> str:
    """The command that rebuilds the index at `folder`, for error messages."""
    return f"run `policy-rag index --index {folder}` (with the --corpus folders it was built from) to rebuild it"


def file_checksums(folder: Path) -> dict[str, dict]:
    """Size and SHA-256 of every index file but the manifest, by path relative to the folder."""
    sums = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json"):
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        sums[path.relative_to(folder).as_posix()] = {"bytes": path.stat().st_size, "sha256": digest}
    return sums


def verify_checksums(folder: Path, manifest: dict) -> None:
    """Raise IndexUnavailable naming the first file that is missing, truncated or altered."""
    expected = manifest.get("checksums")
    if expected is None:  # written before checksums were recorded: nothing to compare with
        return
    for name, want in expected.items():
        path = folder / name
        if not path.is_file():
            raise IndexUnavailable(f"索引文件缺失 (index file {path} is missing): {rebuild_hint(folder)}")
        if path.stat().st_size != want["bytes"]:
            raise IndexUnavailable(f"索引文件不完整 (index file {path} has {path.stat().st_size} bytes, the manifest "
                                   f"says {want['bytes']}: truncated or damaged): {rebuild_hint(folder)}")
        with open(path, "rb") as handle:
            if hashlib.file_digest(handle, "sha256").hexdigest() != want["sha256"]:
                raise IndexUnavailable(f"索引文件已损坏 (index file {path} does not match its checksum): "
                                       f"{rebuild_hint(folder)}")


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """One indexing run per index folder at a time; the OS drops the lock when its process dies."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock_path = folder.with_name(f".{folder.name}.lock")
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexUnavailable(f"另一个索引任务正在进行 (another indexing run holds {lock_path}): "
                                   "wait for it to finish") from None
        # Temporary folders left by a build that was killed: safe to remove now that we hold the lock.
        for stale in folder.parent.glob(f".{folder.name}.building-*"):
            shutil.rmtree(stale, ignore_errors=True)
        yield


@dataclass
class DocumentRecord:
    """A document as the index keeps it: the cleaned text citations slice, its metadata, contacts and hash."""

    doc_id: str
    title: str
    path: str
    content_hash: str
    metadata: dict
    contacts: list[dict]
    text: str
    # Other files holding the same policy (near duplicates), not indexed: {"doc_id", "path", "similarity"}.
    duplicates: list[dict] = field(default_factory=list)

    @classmethod
    def from_document(cls, document: PolicyDocument, content_hash: str) -> DocumentRecord:
        """The record of a freshly cleaned document."""
        return cls(document.doc_id, document.title, document.path, content_hash, document.metadata,
                   [asdict(c) for c in document.contacts], document.text)

    @property
    def contact_list(self) -> list[Contact]:
        """The document's contact lines as Contact records."""
        return [Contact(**c) for c in self.contacts]


@dataclass
class BuildReport:
    """What an index build did: documents added, changed, unchanged, removed, skipped; what it embedded."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    unstructured: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    sentences_embedded: int = 0
    clauses: int = 0
    rebuilt_because: str | None = None
    seconds: float = 0.0


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _recover(folder: Path) -> None:
    """Finish or undo a swap that a crash interrupted between its two renames."""
    previous = folder.with_name(folder.name + ".previous")
    if not folder.exists() and previous.exists():
        previous.rename(folder)


class PolicyIndex:
    """A loaded index: clauses in row order, their documents, FAISS and BM25."""

    def __init__(self, folder: Path, manifest: dict, documents: dict[str, DocumentRecord], clauses: list[Clause],
                 vectors: np.ndarray, dense: DenseBackend, bm25: BM25Index, sentences: np.ndarray | None = None,
                 sentence_vectors: np.ndarray | None = None):
        self.folder, self.manifest, self.documents, self.clauses = folder, manifest, documents, clauses
        self.vectors, self.dense, self.bm25 = vectors, dense, bm25
        self.sentences = sentences if sentences is not None else np.zeros((0, 3), np.int64)
        self.sentence_vectors = sentence_vectors if sentence_vectors is not None else np.zeros((0, 384), np.float16)

    @cached_property
    def clause_sentences(self) -> dict[int, np.ndarray]:
        """clause row -> its sentence rows, in order."""
        rows: dict[int, list[int]] = {}
        for i, row in enumerate(self.sentences[:, 0].tolist()):
            rows.setdefault(row, []).append(i)
        return {row: np.asarray(r, dtype=np.int64) for row, r in rows.items()}

    @property
    def model_id(self) -> str:
        """The embedding model the index was built with."""
        return self.manifest["model"]["id"]

    @cached_property
    def rows(self) -> dict[str, int]:
        """chunk id -> row: citations name clauses by id, and the id is what survives a rebuild."""
        return {clause.chunk_id: row for row, clause in enumerate(self.clauses)}

    @cached_property
    def doc_rows(self) -> dict[str, np.ndarray]:
        """document id -> its clause rows in order: filters and per-document lookups without a full scan."""
        rows: dict[str, list[int]] = {}
        for row, clause in enumerate(self.clauses):
            rows.setdefault(clause.doc_id, []).append(row)
        return {doc_id: np.asarray(r, dtype=np.int64) for doc_id, r in rows.items()}

    @cached_property
    def duplicate_finder(self) -> DuplicateFinder:
        """The indexed documents' MinHash signatures, to check an upload by the build's near-duplicate rule (the
        texts stay in `documents`; a candidate is shingled when its exact similarity is needed)."""
        finder = DuplicateFinder(texts=lambda doc_id: self.documents[doc_id].text)
        for doc_id, document in self.documents.items():
            finder.add(doc_id, document.text)
        return finder

    def clause(self, chunk_id: str) -> Clause | None:
        """The clause with this chunk id, or None when the index has none."""
        row = self.rows.get(chunk_id)
        return None if row is None else self.clauses[row]

    @classmethod
    def exists(cls, folder: Path) -> bool:
        """Whether `folder` holds an index (after finishing an interrupted swap)."""
        _recover(folder)
        return (folder / "manifest.json").exists()

    @classmethod
    def load(cls, folder: Path) -> PolicyIndex:
        """The index at `folder`, checksums verified; IndexUnavailable says what is wrong and how to rebuild."""
        folder = Path(folder)
        _recover(folder)
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            raise IndexUnavailable(f"没有找到索引 (no index at {folder}): run `policy-rag index` first")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"索引清单已损坏 (manifest {manifest_path} is unreadable: {exc}): "
                                   f"{rebuild_hint(folder)}") from exc
        if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
            found = manifest.get("format_version") if isinstance(manifest, dict) else None
            raise IndexUnavailable(f"index at {folder} has format {found}, this version reads "
                                   f"{FORMAT_VERSION}: {rebuild_hint(folder)}")
        verify_checksums(folder, manifest)
        try:
            documents = {row["doc_id"]: DocumentRecord(**row) for row in _read_jsonl(folder / "documents.jsonl")}
            clauses = [Clause.from_dict(row) for row in _read_jsonl(folder / "clauses.jsonl")]
            # Only a rebuild reads these (FAISS holds its own copy): mapped, not loaded, to spare the memory.
            vectors = np.load(folder / "vectors.npy", allow_pickle=False, mmap_mode="r")
            dense = load_backend(folder / "dense.faiss")
            lexicon = json.loads((folder / "lexicon.json").read_text(encoding="utf-8"))
            bm25 = BM25Index.load(folder / "bm25", len(clauses))
            sentences = np.load(folder / "sentences.npy", allow_pickle=False)
            sentence_vectors = np.load(folder / "sentence_vectors.npy", allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise IndexUnavailable(f"索引已损坏 (index at {folder} is unreadable: {exc}): "
                                   f"{rebuild_hint(folder)}") from exc
        if manifest.get("vocabulary_version") != VOCABULARY_VERSION:
            raise IndexUnavailable(f"索引使用的词表版本不同 (index at {folder} was built with vocabulary "
                                   f"{manifest.get('vocabulary_version')}, this version uses {VOCABULARY_VERSION}): "
                                   f"{rebuild_hint(folder)}")
        counts = (manifest.get("clause_count"), vectors.shape[0], len(dense))
        if any(n != len(clauses) for n in counts) or sentence_vectors.shape[0] != len(sentences):
            raise IndexUnavailable(f"索引不一致 (index at {folder}: clauses, vectors and FAISS disagree): "
                                   f"{rebuild_hint(folder)}")
        add_words(lexicon)
        return cls(folder, manifest, documents, clauses, vectors, dense, bm25, sentences, sentence_vectors)


def _previous(folder: Path, settings: Settings, model_id: str,
              encoder: str | None = None) -> tuple[PolicyIndex | None, str | None]:
    """The index to reuse vectors from, or None and why everything is rebuilt."""
    if not PolicyIndex.exists(folder):
        return None, None
    try:
        previous = PolicyIndex.load(folder)
    except IndexUnavailable as exc:
        return None, str(exc)
    m = previous.manifest
    if m["model"]["id"] != model_id:
        return None, f"model changed from {m['model']['id']} to {model_id}"
    recorded = m["model"].get("encoder")
    if encoder and recorded and recorded != encoder:
        return None, f"encoder changed from {recorded} to {encoder}"
    if m.get("vocabulary_version") != VOCABULARY_VERSION:
        return None, f"vocabulary changed from {m.get('vocabulary_version')} to {VOCABULARY_VERSION}"
    wanted = {"pipeline_version": PIPELINE_VERSION, "chunk_max_chars": settings.chunk_max_chars,
              "chunk_min_chars": settings.chunk_min_chars, "passage_header": settings.passage_header}
    # Indexes written before passage_header was recorded always had the header.
    if any(m.get(key, True if key == "passage_header" else None) != value for key, value in wanted.items()):
        return None, "cleaning or chunking settings changed"
    return previous, None


def build_index(
    corpus_dirs: Iterable[Path],
    folder: Path,
    settings: Settings,
    embedder_factory: Callable[[], object],
    progress: Progress = False,
) -> BuildReport:
    """Build or update the index at `folder` from the corpus: only new or changed files are embedded."""
    folder = Path(folder)
    with build_lock(folder):
        return _build(corpus_dirs, folder, settings, embedder_factory, progress)


def _build(corpus_dirs: Iterable[Path], folder: Path, settings: Settings, embedder_factory: Callable[[], object],
           progress: Progress) -> BuildReport:
    started = time.perf_counter()
    # The embedder is made first: which encoder computes the vectors decides whether old ones can be reused.
    embedder = embedder_factory()
    model_id = settings.embedding_model
    report = BuildReport()
    previous, report.rebuilt_because = _previous(folder, settings, model_id, getattr(embedder, "encoder_id", None))
    # Keyed by document id (the file name), so a moved corpus folder is not re-embedded.
    old_docs = dict(previous.documents) if previous else {}

    documents: dict[str, DocumentRecord] = {}
    clauses: list[Clause] = []
    vectors: list[np.ndarray | None] = []  # per clause: reused vector, or None to embed
    finder = DuplicateFinder()
    duplicate_hashes: dict[str, str] = {}
    known = {doc_id: record.content_hash for doc_id, record in old_docs.items()}
    for item in ingest_corpus(corpus_dirs, settings, known):
        if isinstance(item, Skipped):
            report.skipped.append(item)
            continue
        old = old_docs.pop(item.doc_id, None)
        if isinstance(item, Unchanged):
            record, doc_clauses, doc_vectors, status = old, None, None, report.unchanged
            record.path, record.duplicates = item.path, []
        else:
            record = DocumentRecord.from_document(item.document, item.content_hash)
            doc_clauses, doc_vectors = item.clauses, [None] * len(item.clauses)
            status = report.changed if old is not None else report.added
            if not item.structured:
                report.unstructured.append(record.doc_id)
        same = finder.check(record.doc_id, record.text)
        if same:
            # Indexed once, under the first copy in corpus order; the other source is recorded on it.
            kept, similarity = same
            duplicate = Duplicate(record.doc_id, record.path, kept, similarity)
            report.duplicates.append(duplicate)
            duplicate_hashes[record.path] = record.content_hash
            documents[kept].duplicates.append({"doc_id": record.doc_id, "path": record.path, "similarity": similarity})
            continue
        documents[record.doc_id] = record
        status.append(record.doc_id)
        if doc_clauses is None:  # unchanged: clauses and vectors come from the previous index
            rows = previous.doc_rows.get(record.doc_id, ())
            doc_clauses = [previous.clauses[row] for row in rows]
            doc_vectors = [previous.vectors[row] for row in rows]
        clauses.extend(doc_clauses)
        vectors.extend(doc_vectors)
    report.removed = sorted(record.doc_id for record in old_docs.values())

    todo = [i for i, vector in enumerate(vectors) if vector is None]
    if todo:
        model_id = embedder.model_id
        texts = [clauses[i].passage(settings.passage_header) for i in todo]
        encoded = embedder.encode_passages(texts, progress=progress)
        for i, vector in zip(todo, encoded):
            vectors[i] = vector
    report.embedded, report.reused, report.clauses = len(todo), len(clauses) - len(todo), len(clauses)
    dim = embedder.dim
    matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)
    sentences, sentence_matrix = _sentence_vectors(clauses, documents, previous, dim, embedder, progress, report)
    lexicon = sorted({d for c in clauses for d in (*c.lead_departments, *c.supporting_departments)})
    add_words(lexicon)
    bm25 = BM25Index.build([tokenize(c.passage(settings.passage_header)) for c in clauses])
    manifest = {
        "format_version": FORMAT_VERSION, "pipeline_version": PIPELINE_VERSION,
        "model": {"id": model_id, "dim": int(matrix.shape[1]) if matrix.size else dim,
                  "encoder": getattr(embedder, "encoder_id", None)},
        "passage_header": settings.passage_header,
        "faiss_index": settings.faiss_index, "chunk_max_chars": settings.chunk_max_chars,
        "chunk_min_chars": settings.chunk_min_chars, "clause_count": len(clauses), "document_count": len(documents),
        "sentence_count": len(sentences), "vocabulary_version": VOCABULARY_VERSION,
        "answer_model": _answer_model_version(),
        "files": {
            **{d.path: {"doc_id": d.doc_id, "content_hash": d.content_hash} for d in documents.values()},
            **{d.path: {"doc_id": d.doc_id, "content_hash": duplicate_hashes[d.path], "duplicate_of": d.kept,
                        "similarity": d.similarity} for d in report.duplicates},
        },
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    dense = build_backend(settings.faiss_index, matrix, matrix.shape[1])
    _write_atomically(folder, manifest, list(documents.values()), clauses, matrix, dense, bm25, lexicon, sentences,
                      sentence_matrix)
    report.seconds = time.perf_counter() - started
    return report


def _answer_model_version() -> str | None:
    from ..answer import AnswerScorer

    return AnswerScorer.version_on_disk()


def _sentence_vectors(clauses: list[Clause], documents: dict[str, DocumentRecord], previous: PolicyIndex | None,
                      dim: int, embedder, progress: Progress, report: BuildReport) -> tuple[np.ndarray, np.ndarray]:
    """Every clause's sentences and their vectors; a sentence whose text the previous index holds is reused."""
    rows = [(row, s.start, s.end) for row, clause in enumerate(clauses) for s in split_sentences(clause, row)]
    texts = [documents[clauses[row].doc_id].text[start:end] for row, start, end in rows]
    known: dict[str, np.ndarray] = {}
    if previous is not None and len(previous.sentences):
        for i, (row, start, end) in enumerate(previous.sentences.tolist()):
            known.setdefault(previous.documents[previous.clauses[row].doc_id].text[start:end], i)
    matrix = np.zeros((len(rows), dim), np.float16)
    todo = []
    for i, text in enumerate(texts):
        if text in known:
            matrix[i] = previous.sentence_vectors[known[text]]
        else:
            todo.append(i)
    if todo:
        encoded = embedder.encode_passages([texts[i] for i in todo], progress=progress)
        matrix[todo] = encoded.astype(np.float16)
    report.sentences_embedded = len(todo)
    table = np.asarray(rows, dtype=np.int64).reshape(len(rows), 3)
    return table, matrix


def _write_atomically(folder: Path, manifest: dict, documents: list[DocumentRecord], clauses: list[Clause],
                      matrix: np.ndarray, dense: DenseBackend, bm25: BM25Index, lexicon: list[str],
                      sentences: np.ndarray, sentence_matrix: np.ndarray) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.building-", dir=folder.parent))
    try:
        _write_jsonl(work / "documents.jsonl", (asdict(d) for d in documents))
        _write_jsonl(work / "clauses.jsonl", (c.to_dict() for c in clauses))
        np.save(work / "vectors.npy", matrix, allow_pickle=False)
        np.save(work / "sentences.npy", sentences, allow_pickle=False)
        np.save(work / "sentence_vectors.npy", sentence_matrix, allow_pickle=False)
        dense.save(work / "dense.faiss")
        bm25.save(work / "bm25")
        (work / "lexicon.json").write_text(json.dumps(lexicon, ensure_ascii=False), encoding="utf-8")
        manifest = {**manifest, "checksums": file_checksums(work)}
        # The manifest goes last: a folder without one is never mistaken for an index.
        (work / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        os.chmod(work, 0o755)
        previous = folder.with_name(folder.name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        if folder.exists():
            folder.rename(previous)
        work.rename(folder)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
