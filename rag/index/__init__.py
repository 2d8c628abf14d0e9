"""Index: the clauses, their vectors (FAISS) and BM25 on disk; built atomically, loaded and verified."""

from .bm25 import BM25Index
from .build import BuildReport, build_index, build_lock
from .dense import top_rows
from .store import DocumentRecord, IndexUnavailable, PolicyIndex

__all__ = [
    "BM25Index", "BuildReport", "DocumentRecord", "IndexUnavailable", "PolicyIndex", "build_index", "build_lock",
    "top_rows",
]
