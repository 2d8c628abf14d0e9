"""Build or update an index folder from the corpus: only new or changed files are embedded.

A build holds a lock file beside the folder, writes a sibling temporary folder and swaps it in with two
renames (rag/files.py), so a crash, kill -9 or Ctrl-C leaves the previous index in place; a dead build's
temporary folder is removed by the next build.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import Settings
from ..files import Busy, folder_lock, replace_folder, write_jsonl
from ..ingest import Clause, Duplicate, DuplicateFinder, Skipped, Unchanged, ingest_corpus
from ..ingest import split as split_sentences
from ..text import VOCABULARY_VERSION, Tokenizer
from .bm25 import BM25Index
from .dense import DenseBackend, build_backend
from .store import FORMAT_VERSION, PIPELINE_VERSION, DocumentRecord, IndexUnavailable, PolicyIndex, file_checksums

if TYPE_CHECKING:
    from ..embed import Progress

BUILDING = "building"  # the temporary folder's infix: .<index>.building-XXXX


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


@dataclass
class _Gathered:
    """What the corpus stream yields for the new index: documents, clauses in row order, and per clause the
    vector reused from the previous index (None: to embed)."""

    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    clauses: list[Clause] = field(default_factory=list)
    vectors: list[np.ndarray | None] = field(default_factory=list)
    duplicate_hashes: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """One indexing run per index folder at a time; the OS drops the lock when its process dies."""
    try:
        with folder_lock(folder):
            # Temporary folders left by a build that was killed: safe to remove now that we hold the lock.
            for stale in folder.parent.glob(f".{folder.name}.{BUILDING}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            yield
    except Busy as busy:
        raise IndexUnavailable(f"另一个索引任务正在进行 (another indexing run holds {busy}): "
                               "wait for it to finish") from None


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
    stamps: Mapping[str, object] | None = None,
) -> BuildReport:
    """Build or update the index at `folder` from the corpus: only new or changed files are embedded.
    `stamps`: what the manifest records besides the index's own facts, such as the answer model's version
    (rag.answer.manifest_stamps), so an index says which models served from it."""
    folder = Path(folder)
    with build_lock(folder):
        return _build(corpus_dirs, folder, settings, embedder_factory, progress, dict(stamps or {}))


def _build(corpus_dirs: Iterable[Path], folder: Path, settings: Settings, embedder_factory: Callable[[], object],
           progress: Progress, stamps: dict[str, object]) -> BuildReport:
    started = time.perf_counter()
    # The embedder is made first: which encoder computes the vectors decides whether old ones can be reused.
    embedder = embedder_factory()
    report = BuildReport()
    previous, report.rebuilt_because = _previous(folder, settings, settings.embedding_model,
                                                 getattr(embedder, "encoder_id", None))
    gathered = _gather(corpus_dirs, settings, previous, report)
    model_id = _embed_missing(gathered, settings, embedder, progress, report)
    dim = embedder.dim
    vectors = gathered.vectors
    matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)
    sentences, sentence_matrix = _sentence_vectors(gathered.clauses, gathered.documents, previous, dim, embedder,
                                                   progress, report)
    clauses = gathered.clauses
    lexicon = sorted({d for c in clauses for d in (*c.lead_departments, *c.supporting_departments)})
    tokenizer = Tokenizer.for_lexicon(tuple(lexicon))
    bm25 = BM25Index.build([tokenizer.tokenize(c.passage(settings.passage_header)) for c in clauses])
    manifest = _manifest(settings, embedder, model_id, matrix, gathered, report, len(sentences), stamps)
    dense = build_backend(settings.faiss_index, matrix, matrix.shape[1])
    _write(folder, manifest, list(gathered.documents.values()), clauses, matrix, dense, bm25, lexicon, sentences,
           sentence_matrix)
    report.seconds = time.perf_counter() - started
    return report


def _gather(corpus_dirs: Iterable[Path], settings: Settings, previous: PolicyIndex | None,
            report: BuildReport) -> _Gathered:
    """The corpus stream turned into the new index's documents and clauses; an unchanged file's clauses and
    vectors come from the previous index, a near duplicate is indexed once (under the first copy in corpus
    order, the other source recorded on it)."""
    # Keyed by document id (the file name), so a moved corpus folder is not re-embedded.
    old_docs = dict(previous.documents) if previous else {}
    gathered, finder = _Gathered(), DuplicateFinder()
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
            kept, similarity = same
            report.duplicates.append(Duplicate(record.doc_id, record.path, kept, similarity))
            gathered.duplicate_hashes[record.path] = record.content_hash
            gathered.documents[kept].duplicates.append(
                {"doc_id": record.doc_id, "path": record.path, "similarity": similarity})
            continue
        gathered.documents[record.doc_id] = record
        status.append(record.doc_id)
        if doc_clauses is None:
            rows = previous.doc_rows.get(record.doc_id, ())
            doc_clauses = [previous.clauses[row] for row in rows]
            doc_vectors = [previous.vectors[row] for row in rows]
        gathered.clauses.extend(doc_clauses)
        gathered.vectors.extend(doc_vectors)
    report.removed = sorted(record.doc_id for record in old_docs.values())
    return gathered


def _embed_missing(gathered: _Gathered, settings: Settings, embedder: object, progress: Progress,
                   report: BuildReport) -> str:
    """Embeds the clauses without a reused vector; returns the model id the vectors come from."""
    model_id = settings.embedding_model
    vectors, clauses = gathered.vectors, gathered.clauses
    todo = [i for i, vector in enumerate(vectors) if vector is None]
    if todo:
        model_id = embedder.model_id
        encoded = embedder.encode_passages([clauses[i].passage(settings.passage_header) for i in todo],
                                           progress=progress)
        for i, vector in zip(todo, encoded):
            vectors[i] = vector
    report.embedded, report.reused, report.clauses = len(todo), len(clauses) - len(todo), len(clauses)
    return model_id


def _sentence_vectors(clauses: list[Clause], documents: dict[str, DocumentRecord], previous: PolicyIndex | None,
                      dim: int, embedder: object, progress: Progress,
                      report: BuildReport) -> tuple[np.ndarray, np.ndarray]:
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


def _manifest(settings: Settings, embedder: object, model_id: str, matrix: np.ndarray, gathered: _Gathered,
              report: BuildReport, sentence_count: int, stamps: dict[str, object]) -> dict:
    """What the index is and how it was made: versions, settings, counts and every file's content hash."""
    documents = gathered.documents
    return {
        "format_version": FORMAT_VERSION, "pipeline_version": PIPELINE_VERSION,
        "model": {"id": model_id, "dim": int(matrix.shape[1]) if matrix.size else embedder.dim,
                  "encoder": getattr(embedder, "encoder_id", None)},
        "passage_header": settings.passage_header,
        "faiss_index": settings.faiss_index, "chunk_max_chars": settings.chunk_max_chars,
        "chunk_min_chars": settings.chunk_min_chars, "clause_count": len(gathered.clauses),
        "document_count": len(documents), "sentence_count": sentence_count,
        "vocabulary_version": VOCABULARY_VERSION,
        **stamps,
        "files": {
            **{d.path: {"doc_id": d.doc_id, "content_hash": d.content_hash} for d in documents.values()},
            **{d.path: {"doc_id": d.doc_id, "content_hash": gathered.duplicate_hashes[d.path], "duplicate_of": d.kept,
                        "similarity": d.similarity} for d in report.duplicates},
        },
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _write(folder: Path, manifest: dict, documents: list[DocumentRecord], clauses: list[Clause],
           matrix: np.ndarray, dense: DenseBackend, bm25: BM25Index, lexicon: list[str],
           sentences: np.ndarray, sentence_matrix: np.ndarray) -> None:
    """Every index file into a temporary folder, the manifest last (a folder without one is never mistaken for
    an index), then swapped in for the old folder."""
    def write(work: Path) -> None:
        write_jsonl(work / "documents.jsonl", (asdict(d) for d in documents))
        write_jsonl(work / "clauses.jsonl", (c.to_dict() for c in clauses))
        np.save(work / "vectors.npy", matrix, allow_pickle=False)
        np.save(work / "sentences.npy", sentences, allow_pickle=False)
        np.save(work / "sentence_vectors.npy", sentence_matrix, allow_pickle=False)
        dense.save(work / "dense.faiss")
        bm25.save(work / "bm25")
        (work / "lexicon.json").write_text(json.dumps(lexicon, ensure_ascii=False), encoding="utf-8")
        checked = {**manifest, "checksums": file_checksums(work)}
        (work / "manifest.json").write_text(json.dumps(checked, ensure_ascii=False, indent=2), encoding="utf-8")

    replace_folder(folder, write, prefix=BUILDING, mode=0o755)
