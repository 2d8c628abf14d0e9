"""The index as a LangChain retriever: `PolicyRetriever(searcher=...)` plugs into any LangChain chain."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .search import ClauseSearcher, Filters, Hit


def hit_to_document(hit: Hit) -> Document:
    """The hit as a LangChain Document: the clause text, with its citation fields, rank and score as metadata."""
    clause = hit.clause
    return Document(
        page_content=clause.text,
        id=clause.chunk_id,
        metadata={
            "chunk_id": clause.chunk_id, "doc_id": clause.doc_id, "title": clause.title, "section": clause.section,
            "start": clause.start, "end": clause.end, "rank": hit.rank, "score": hit.score,
            "lead_departments": list(clause.lead_departments),
            "supporting_departments": list(clause.supporting_departments),
        },
    )


class PolicyRetriever(BaseRetriever):
    """Hybrid (or dense / BM25) clause retrieval; each Document carries the clause's citation metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: ClauseSearcher  # Searcher (in process) or rag.retrieve.milvus.MilvusSearcher
    k: int = 5
    mode: str = "hybrid"
    filters: Filters = Filters()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        hits = self.searcher.search(query, k=kwargs.get("k", self.k), mode=self.mode, filters=self.filters)
        return [hit_to_document(hit) for hit in hits]
