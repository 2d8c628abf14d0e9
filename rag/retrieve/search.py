"""Retrieve: a question -> ranked clauses, by BM25, dense vectors, or both fused (reciprocal rank fusion).

Filters (document, region, level, section prefix) choose the candidate clauses before anything is ranked,
so a filtered search ranks within the filter instead of filtering a global top-k.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from ..config import Settings
from ..index import IndexUnavailable, PolicyIndex, top_rows
from ..ingest import Clause
from ..text import PlaceCatalogue, normalize_question, prepare_question

if TYPE_CHECKING:
    from ..embed.adapter import QueryAdapter

MODES = ("hybrid", "dense", "bm25")
RRF_K = 60
# Each list contributes this many candidates to the fusion.
FUSION_DEPTH = 50
MAX_K = 200  # a results page, not a dump of the index
# No place bonus in the fusion: a question's place names are among its words, which BM25 and the passages'
# title headers already match, and the answer scorer weighs the place (its place_match feature). A bonus for the
# documents a catalogue places there cost NCP dev recall@10 .943 -> .904 and citizen dev .929 -> .918: most NCP
# documents of 北京 are titled 北京：… or name it in the text, so the few titled 北京市… pushed the rest out.


@dataclass(frozen=True)
class Filters:
    """What a search is limited to; an empty Filters is false and limits nothing."""

    doc_ids: tuple[str, ...] = ()
    region: str | None = None  # substring of the catalogue region: "江西" matches 江西省赣州市瑞金市
    level: str | None = None  # province | city | district
    section_prefix: str | None = None

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.region or self.level or self.section_prefix)


@dataclass(frozen=True)
class Hit:
    """A ranked clause, with its fused score and its rank in each list (None where absent)."""

    rank: int
    score: float
    clause: Clause
    dense_rank: int | None = None
    bm25_rank: int | None = None

    def to_dict(self) -> dict:
        """The JSON object `policy-rag search --json` prints for a hit (DESIGN.md)."""
        c = self.clause
        return {
            "rank": self.rank, "score": round(self.score, 6), "chunk_id": c.chunk_id, "doc_id": c.doc_id,
            "title": c.title, "section": c.section, "text": c.text, "start": c.start, "end": c.end,
            "lead_departments": list(c.lead_departments), "supporting_departments": list(c.supporting_departments),
            "dense_rank": self.dense_rank, "bm25_rank": self.bm25_rank,
        }


def rrf(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: score(row) = sum over lists of 1 / (k + rank), ranks from 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, 1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


@runtime_checkable
class ClauseSearcher(Protocol):
    """The retriever interface: `Searcher` here (FAISS + BM25 in process), `milvus.MilvusSearcher` on Milvus."""

    def search(self, query: str, k: int = 5, mode: str = "hybrid", filters: Filters | None = None,
               vector: np.ndarray | None = None, normalized: bool = False) -> list[Hit]:
        """The k best clauses for the query, best first (`normalized`: the query is already normalised)."""
        ...


def search_request(query: str, k: int, mode: str, normalized: bool = False) -> tuple[str, int]:
    """What every backend searches for: the question cleaned and normalised like the text (unless `normalized`
    says the caller already did: the answerer's question was, once, when it was analysed), k bounded."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use {', '.join(MODES)}")
    return query if normalized else normalize_question(prepare_question(query)[0]), min(int(k), MAX_K)


@dataclass
class Searcher:
    """An index plus the embedder that built it; the model loads on the first dense query."""

    index: PolicyIndex
    settings: Settings = field(default_factory=Settings)
    embedder: object | None = None

    @classmethod
    def open(cls, settings: Settings | None = None, embedder: object | None = None) -> Searcher:
        """The index at settings.index_dir; `embedder` reuses a model already loaded (after a re-index)."""
        settings = settings or Settings()
        return cls(PolicyIndex.load(settings.index_dir), settings, embedder)

    def encoder(self) -> object:
        """The question encoder: the one given, else an Embedder made at first use (for the index's model only)."""
        if self.embedder is None:
            if self.settings.embedding_model != self.index.model_id:
                raise IndexUnavailable(
                    f"索引由另一个模型建立 (the index was built with {self.index.model_id}, the current model is "
                    f"{self.settings.embedding_model}): run `policy-rag index` to rebuild it"
                )
            from ..embed import Embedder

            self.embedder = Embedder(self.settings)
        return self.embedder

    @cached_property
    def catalogue(self) -> PlaceCatalogue:
        """The index's places: which documents belong to which place (computed once per searcher)."""
        return PlaceCatalogue.of_documents(self.index.documents)

    @property
    def places(self) -> dict[str, tuple[str, ...]]:
        """document id -> the places it belongs to (its region's last part, its title's first)."""
        return self.catalogue.places

    @cached_property
    def adapter(self) -> QueryAdapter | None:
        """The query adapter fitted for this index's model (rag/embed/adapter.py), or None: plain vectors."""
        from ..embed.adapter import load_adapter

        return load_adapter(self.index.model_id, getattr(self.settings, "query_adapter", True))

    def embed_question(self, question: str) -> np.ndarray:
        """The question's vector for searching clauses (loads the model on first use), through the query adapter
        when one is fitted for the index's model."""
        vector = self.encoder().encode_queries([question])[0]
        return self.adapter.apply(vector) if self.adapter is not None else vector

    def warm_up(self) -> None:
        """Load the model and run one query, so the first asker does not wait for it."""
        self.encoder().encode_queries(["政策"])  # any text: this loads the encoder, nothing reads the vector

    def allowed_rows(self, filters: Filters) -> np.ndarray | None:
        """The rows a filtered search ranks: documents are chosen first (few), then clauses by section."""
        if not filters:
            return None
        docs = self.index.documents
        chosen = [
            doc_id for doc_id in self.index.doc_rows
            if (not filters.doc_ids or doc_id in filters.doc_ids)
            and (not filters.region or filters.region in str(docs[doc_id].metadata.get("region", "")))
            and (not filters.level or docs[doc_id].metadata.get("level") == filters.level)
        ]
        rows = np.sort(np.concatenate([self.index.doc_rows[d] for d in chosen])) if chosen else np.zeros(0, np.int64)
        if filters.section_prefix:
            clauses = self.index.clauses
            rows = np.asarray([r for r in rows if clauses[r].section.startswith(filters.section_prefix)],
                              dtype=np.int64)
        return rows

    def _bm25_ranking(self, query: str, allowed: np.ndarray | None, depth: int) -> list[int]:
        scores = self.index.bm25.scores(self.index.tokenizer.tokenize(query))
        if allowed is not None:
            masked = np.full_like(scores, -1.0)
            masked[allowed] = scores[allowed]
            scores = masked
        return [int(row) for row in top_rows(scores, depth) if scores[row] > 0]

    def _dense_ranking(self, query_vector: np.ndarray, allowed: np.ndarray | None, depth: int) -> list[int]:
        return self.index.dense.search(query_vector, depth, allowed, self.index.vectors)

    def search(self, query: str, k: int = 5, mode: str = "hybrid", filters: Filters | None = None,
               vector: np.ndarray | None = None, normalized: bool = False) -> list[Hit]:
        """`vector`: the question already embedded (a multi-document answer searches each document with it);
        `normalized`: the query is already prepared and normalised (an analysed question's text), searched as is."""
        query, k = search_request(query, k, mode, normalized)
        if not query or not self.index.clauses or k < 1:
            return []
        allowed = self.allowed_rows(filters or Filters())
        depth = max(k, FUSION_DEPTH)
        dense = bm25 = []
        if mode in ("dense", "hybrid"):
            if vector is None:  # a lookup (staff, `search`, LangChain): the plain vector; the adapter serves answers
                vector = self.encoder().encode_queries([query])[0]
            dense = self._dense_ranking(vector, allowed, depth)
        if mode in ("bm25", "hybrid"):
            bm25 = self._bm25_ranking(query, allowed, depth)
        dense_rank = {row: rank for rank, row in enumerate(dense, 1)}
        bm25_rank = {row: rank for rank, row in enumerate(bm25, 1)}
        if mode == "hybrid":
            fused = rrf([dense, bm25])
        else:
            fused = [(row, 1.0 / (RRF_K + rank)) for rank, row in enumerate(dense or bm25, 1)]
        return [
            Hit(rank, score, self.index.clauses[row], dense_rank.get(row), bm25_rank.get(row))
            for rank, (row, score) in enumerate(fused[:k], 1)
        ]

    def timed_search(self, query: str, **kwargs: object) -> tuple[list[Hit], float]:
        """The search's hits and how long it took, in milliseconds."""
        started = time.perf_counter()
        hits = self.search(query, **kwargs)
        return hits, (time.perf_counter() - started) * 1000
