"""Index: the clauses, their vectors (FAISS) and BM25 on disk; built atomically, loaded and verified."""

from .dense import top_rows
from .store import BuildReport, IndexUnavailable, PolicyIndex, build_index

__all__ = [
    "BuildReport", "IndexUnavailable", "PolicyIndex", "build_index", "top_rows",
]
