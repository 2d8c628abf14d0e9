"""A second retriever backend on Milvus: the same `search()` as `Searcher`, for corpora past one machine.

Milvus does in the engine what search.py does in process: BM25 over Chinese text (its `chinese` analyzer
is jieba), dense inner-product search over the same e5 vectors, reciprocal rank fusion (k = 60) and the
catalogue filters as boolean expressions. The clauses are stored with every field a citation needs, so
hits come back as the same `Hit` records; `PolicyRetriever(searcher=MilvusSearcher(...))` is the LangChain
retriever over it.

    policy-rag milvus-upload --uri ./milvus.db          # Milvus Lite, a local file (pip install '.[milvus]')
    policy-rag milvus-upload --uri http://milvus:19530  # a Milvus server or cluster

Differences from the in-process searcher, by design of the engine: BM25 uses Milvus's jieba dictionary (not
our policy vocabulary).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..config import Settings
from ..index import PolicyIndex
from ..ingest import SECTION_SEPARATOR, Clause
from ..text import PlaceCatalogue, normalize_query
from .search import FUSION_DEPTH, RRF_K, Filters, Hit, search_request

if TYPE_CHECKING:
    from ..embed import Embedder

COLLECTION = "policy_clauses"
OUTPUT = ["chunk_id", "doc_id", "title", "section", "text", "start", "end", "departments", "part", "parts"]


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a Milvus string literal: double quotes, escapes


def filter_expression(filters: Filters | None) -> str:
    """The catalogue filters as a Milvus boolean expression ('' for none)."""
    if not filters:
        return ""
    parts = []
    if filters.doc_ids:
        parts.append(f"doc_id in [{', '.join(_quoted(d) for d in filters.doc_ids)}]")
    if filters.region:
        parts.append(f"region like {_quoted('%' + filters.region.replace('%', '') + '%')}")
    if filters.level:
        parts.append(f"level == {_quoted(filters.level)}")
    if filters.section_prefix:
        parts.append(f"section like {_quoted(filters.section_prefix.replace('%', '') + '%')}")
    return " and ".join(parts)


def _schema(client, dim: int):
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False)
    schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
    schema.add_field("region", DataType.VARCHAR, max_length=256)
    schema.add_field("level", DataType.VARCHAR, max_length=32)
    schema.add_field("title", DataType.VARCHAR, max_length=2048)
    schema.add_field("section", DataType.VARCHAR, max_length=4096)
    schema.add_field("text", DataType.VARCHAR, max_length=16384)
    schema.add_field("lexical", DataType.VARCHAR, max_length=24576, enable_analyzer=True,
                     analyzer_params={"type": "chinese"})
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("part", DataType.INT64)
    schema.add_field("parts", DataType.INT64)
    schema.add_field("departments", DataType.JSON)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["lexical"],
                                 output_field_names=["sparse"]))
    return schema


def _row(clause: Clause, vector: np.ndarray, metadata: dict, header: bool) -> dict:
    return {
        "chunk_id": clause.chunk_id, "doc_id": clause.doc_id, "region": str(metadata.get("region") or ""),
        "level": str(metadata.get("level") or ""), "title": clause.title, "section": clause.section,
        "text": clause.text, "lexical": normalize_query(clause.passage(header)), "start": clause.start,
        "end": clause.end, "part": clause.part, "parts": clause.parts,
        "departments": {"lead": list(clause.lead_departments), "supporting": list(clause.supporting_departments)},
        "dense": [float(x) for x in vector],
    }


def _clause(entity: dict) -> Clause:
    section = entity["section"]
    return Clause(
        chunk_id=entity["chunk_id"], doc_id=entity["doc_id"], title=entity["title"],
        section_path=tuple(section.split(SECTION_SEPARATOR)) if section else (), text=entity["text"],
        start=int(entity["start"]), end=int(entity["end"]),
        lead_departments=tuple(entity["departments"]["lead"]),
        supporting_departments=tuple(entity["departments"]["supporting"]),
        part=int(entity["part"]), parts=int(entity["parts"]),
    )


@dataclass
class MilvusSearcher:
    """Hybrid / dense / BM25 clause search in a Milvus collection; `search()` as in `Searcher`."""

    client: object
    collection: str = COLLECTION
    settings: Settings = field(default_factory=Settings)
    embedder: object | None = None
    catalogue: PlaceCatalogue = field(default_factory=lambda: PlaceCatalogue.of_titles(()))  # the answerer's places

    @classmethod
    def connect(cls, uri: str, collection: str = COLLECTION, settings: Settings | None = None,
                embedder: Embedder | None = None) -> MilvusSearcher:
        """A searcher on the Milvus at `uri`, with each stored document's places when the collection exists."""
        from pymilvus import MilvusClient

        client = MilvusClient(uri)
        rows = []
        if client.has_collection(collection):
            rows = client.query(collection, filter="part == 1", output_fields=["doc_id", "title", "region"],
                                limit=16384)
        catalogue = PlaceCatalogue.of_titles((r["doc_id"], r["title"], r["region"]) for r in rows)
        return cls(client, collection, settings or Settings(), embedder, catalogue)

    def upload(self, index: PolicyIndex, batch: int = 512) -> int:
        """Replace the collection with the index's clauses and vectors; returns the number stored."""
        from pymilvus import MilvusClient

        client: MilvusClient = self.client
        if client.has_collection(self.collection):
            client.drop_collection(self.collection)
        dim = int(index.manifest["model"]["dim"])
        params = client.prepare_index_params()
        params.add_index("dense", index_type="AUTOINDEX", metric_type="IP")
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        client.create_collection(self.collection, schema=_schema(client, dim), index_params=params)
        header = index.manifest.get("passage_header", True)
        for begin in range(0, len(index.clauses), batch):
            rows = [_row(c, index.vectors[begin + i], index.documents[c.doc_id].metadata, header)
                    for i, c in enumerate(index.clauses[begin:begin + batch])]
            client.insert(self.collection, rows)
        client.flush(self.collection)
        client.load_collection(self.collection)
        self.catalogue = PlaceCatalogue.of_documents(index.documents)
        return len(index.clauses)

    def _vector(self, query: str) -> np.ndarray:
        if self.embedder is None:
            from ..embed import Embedder

            self.embedder = Embedder(self.settings)
        return self.embedder.encode_queries([query])[0]

    def search(self, query: str, k: int = 5, mode: str = "hybrid", filters: Filters | None = None,
               vector: np.ndarray | None = None, normalized: bool = False) -> list[Hit]:
        """The top k clauses for the query in `mode` within `filters`, ranked 1…k (hybrid: RRF);
        `normalized`: the query is already prepared and normalised (an analysed question's text)."""
        from pymilvus import AnnSearchRequest, RRFRanker

        query, k = search_request(query, k, mode, normalized)
        if not query or k < 1:
            return []
        expr = filter_expression(filters)
        depth = max(k, FUSION_DEPTH)
        dense = {"data": [list(map(float, self._vector(query) if vector is None else vector))], "anns_field": "dense",
                 "param": {"metric_type": "IP"}, "limit": depth, "expr": expr}
        sparse = {"data": [query], "anns_field": "sparse", "param": {"metric_type": "BM25"}, "limit": depth,
                  "expr": expr}
        if mode == "hybrid":
            found = self.client.hybrid_search(self.collection, [AnnSearchRequest(**dense), AnnSearchRequest(**sparse)],
                                              RRFRanker(RRF_K), limit=depth, output_fields=OUTPUT)[0]
        else:
            request = dense if mode == "dense" else sparse
            found = self.client.search(self.collection, data=request["data"], anns_field=request["anns_field"],
                                       search_params=request["param"], limit=depth, filter=expr,
                                       output_fields=OUTPUT)[0]
        scored = [(float(h["distance"]), _clause(h["entity"])) for h in found]
        return [Hit(rank, score, clause) for rank, (score, clause) in enumerate(scored[:k], 1)]
