"""Retrieve: a question -> ranked clauses (BM25, dense, fused), in process or on Milvus; a LangChain retriever."""

from .search import MODES, Filters, Hit, Searcher

__all__ = [
    "Filters", "Hit", "MODES", "Searcher",
]
