"""The index on disk: clauses, their documents, dense vectors in FAISS, BM25 data and a manifest.

Layout of `index/` (no pickle anywhere; everything is JSON, .npy or FAISS's own format):

    manifest.json     format version, model id and dimension, per-file content hashes, counts, build time
    documents.jsonl   one cleaned document a line: id, title, metadata, contacts, text (what citations quote)
    clauses.jsonl     one clause a line, in row order (row i of the vectors and of BM25)
    vectors.npy       float32 [clauses x dim], L2-normalised; kept so unchanged files are never re-embedded
    dense.faiss       flat inner product by default; HNSW or IVF when configured
    bm25/             bm25s arrays and vocabulary
    lexicon.json      words this index adds to jieba (department names), so questions tokenise like its clauses
    sentences.npy     int64 [sentences x 3]: clause row, start, end (offsets in the document text)
    sentence_vectors.npy  float16 [sentences x dim]: each sentence embedded alone (`passage: `), so the answer
                      scorer costs one question encode and dot products

The build (build.py) swaps a finished folder in with two renames; a half-finished swap is repaired on the next
load. The manifest records the size and SHA-256 of every other file; loading checks them, so a damaged or
truncated file is reported with the rebuild command instead of failing deep inside FAISS or numpy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..embed import E5_DIM
from ..files import read_jsonl, recover_folder, sha256_of
from ..ingest import Clause, Contact, DuplicateFinder, PolicyDocument
from ..ingest.dates import DocumentDates, document_dates
from ..text import VOCABULARY_VERSION, Tokenizer
from .bm25 import BM25Index
from .dense import DenseBackend, load_backend

if TYPE_CHECKING:
    pass

FORMAT_VERSION = 1
# Bump when cleaning or chunking changes what a file yields: every file is then re-ingested.
PIPELINE_VERSION = 4


class IndexUnavailable(Exception):
    """The index is missing, unreadable, or was built by another model: the message says what to do."""


def rebuild_hint(folder: Path) -> str:
    """The command that rebuilds the index at `folder`, for error messages."""
    return f"run `policy-rag index --index {folder}` (with the --corpus folders it was built from) to rebuild it"


def file_checksums(folder: Path) -> dict[str, dict]:
    """Size and SHA-256 of every index file but the manifest, by path relative to the folder."""
    sums = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json"):
        sums[path.relative_to(folder).as_posix()] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
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
        if sha256_of(path) != want["sha256"]:
            raise IndexUnavailable(f"索引文件已损坏 (index file {path} does not match its checksum): "
                                   f"{rebuild_hint(folder)}")


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


class PolicyIndex:
    """A loaded index: clauses in row order, their documents, FAISS and BM25."""

    def __init__(self, folder: Path, manifest: dict, documents: dict[str, DocumentRecord], clauses: list[Clause],
                 vectors: np.ndarray, dense: DenseBackend, bm25: BM25Index, sentences: np.ndarray | None = None,
                 sentence_vectors: np.ndarray | None = None, lexicon: Sequence[str] = ()):
        self.folder, self.manifest, self.documents, self.clauses = folder, manifest, documents, clauses
        self.lexicon = tuple(lexicon)
        self.vectors, self.dense, self.bm25 = vectors, dense, bm25
        self.sentences = sentences if sentences is not None else np.zeros((0, 3), np.int64)
        self.sentence_vectors = sentence_vectors if sentence_vectors is not None else np.zeros((0, E5_DIM), np.float16)

    def dates(self, doc_id: str) -> DocumentDates:
        """The document's issued, effective and end-of-validity dates, read once from its text and catalogue."""
        cache = self.__dict__.setdefault("_dates", {})
        if doc_id not in cache:
            doc = self.documents[doc_id]
            cache[doc_id] = document_dates(doc.text, doc.metadata)
        return cache[doc_id]

    @property
    def tokenizer(self) -> Tokenizer:
        """jieba with this index's lexicon: how its clauses were cut for BM25, and so how questions must be."""
        return Tokenizer.for_lexicon(self.lexicon)

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
        recover_folder(folder)
        return (folder / "manifest.json").exists()

    @classmethod
    def load(cls, folder: Path) -> PolicyIndex:
        """The index at `folder`, checksums verified; IndexUnavailable says what is wrong and how to rebuild."""
        folder = Path(folder)
        recover_folder(folder)
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
            documents = {row["doc_id"]: DocumentRecord(**row) for row in read_jsonl(folder / "documents.jsonl")}
            clauses = [Clause.from_dict(row) for row in read_jsonl(folder / "clauses.jsonl")]
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
        return cls(folder, manifest, documents, clauses, vectors, dense, bm25, sentences, sentence_vectors, lexicon)


