"""The dense half's vector index: one small FAISS backend per index kind, as txtai keeps its ANN backends.

`flat` is exact inner product (the default: exact and fast up to ~10^5 clauses); `hnsw` and `ivf` are
approximate, for large corpora. Each backend knows how to build its index and which search parameters carry a
row filter; a narrow filter on an approximate index is scored exactly over the rows' own vectors instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

# A filter leaving at most this many rows on an approximate index is scored exactly (~10 ms at 50,000).
EXACT_FILTERED_MAX = 50_000


def top_rows(scores: np.ndarray, depth: int) -> np.ndarray:
    """The `depth` best rows, best first (ties by row): a partition first, so 10⁶ scores are not sorted."""
    if len(scores) > depth:
        part = np.argpartition(-scores, depth - 1)[:depth]
        return part[np.lexsort((part, -scores[part]))]
    return np.argsort(-scores, kind="stable")


class DenseBackend:
    """A FAISS index over the clause vectors, searched with or without a filter on the rows."""

    kind: ClassVar[str]
    approximate: ClassVar[bool] = True

    def __init__(self, index) -> None:
        self.index = index

    def __len__(self) -> int:
        return self.index.ntotal

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int) -> DenseBackend:
        """A backend holding `vectors` (rows in clause order)."""
        index = cls._create(vectors, dim)
        if len(vectors):
            index.add(vectors)
        return cls(index)

    @classmethod
    def _create(cls, vectors: np.ndarray, dim: int):
        raise NotImplementedError

    def _parameters(self, selector):
        import faiss

        return faiss.SearchParameters(sel=selector)

    def search(self, query: np.ndarray, depth: int, allowed: np.ndarray | None = None,
               vectors: np.ndarray | None = None) -> list[int]:
        """The rows nearest to `query`, best first; only rows in `allowed` when it is given. `vectors` (all the
        clause vectors) lets an approximate index score a narrow filter exactly."""
        import faiss

        n = len(self) if allowed is None else len(allowed)
        if n == 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if allowed is None:
            _, rows = self.index.search(query, min(depth, n))
            return [int(row) for row in rows[0] if row >= 0]
        if self.approximate and vectors is not None and n <= EXACT_FILTERED_MAX:
            # An approximate index searched through a narrow filter misses rows (IVF probes only some lists):
            # the filtered rows' own vectors, scored exactly, are both right and fast.
            scores = np.asarray(vectors[allowed], dtype=np.float32) @ query[0]
            return [int(allowed[i]) for i in top_rows(scores, depth)]
        params = self._parameters(faiss.IDSelectorBatch(allowed))
        _, rows = self.index.search(query, min(depth, n), params=params)
        return [int(row) for row in rows[0] if row >= 0]

    def save(self, path: Path) -> None:
        """Write the index with FAISS's own format (no pickle)."""
        import faiss

        faiss.write_index(self.index, str(path))


class Flat(DenseBackend):
    """Exact inner product over every vector."""

    kind = "flat"
    approximate = False

    @classmethod
    def _create(cls, vectors: np.ndarray, dim: int):
        import faiss

        return faiss.IndexFlatIP(dim)


class HNSW(DenseBackend):
    """A navigable small-world graph: approximate, no training, more memory than flat."""

    kind = "hnsw"
    EF_CONSTRUCTION, EF_SEARCH = 80, 128

    @classmethod
    def _create(cls, vectors: np.ndarray, dim: int):
        import faiss

        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction, index.hnsw.efSearch = cls.EF_CONSTRUCTION, cls.EF_SEARCH
        return index

    def _parameters(self, selector):
        import faiss

        return faiss.SearchParametersHNSW(sel=selector, efSearch=self.index.hnsw.efSearch)


class IVF(DenseBackend):
    """Inverted lists (√n of them, an eighth probed): approximate, trained on the vectors it holds."""

    kind = "ivf"

    @classmethod
    def _create(cls, vectors: np.ndarray, dim: int):
        import faiss

        nlist = max(1, int(np.sqrt(max(len(vectors), 1))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = max(1, nlist // 8)
        return index

    def _parameters(self, selector):
        import faiss

        return faiss.SearchParametersIVF(sel=selector, nprobe=self.index.nprobe)


BACKENDS: dict[str, type[DenseBackend]] = {backend.kind: backend for backend in (Flat, HNSW, IVF)}


def build_backend(kind: str, vectors: np.ndarray, dim: int) -> DenseBackend:
    """The backend `kind` (flat, hnsw, ivf) over `vectors`; a ValueError names the kinds there are."""
    if kind not in BACKENDS:
        raise ValueError(f"unknown faiss_index {kind!r}: use {', '.join(BACKENDS)}")
    return BACKENDS[kind].build(vectors, dim)


def load_backend(path: Path) -> DenseBackend:
    """The backend saved at `path`, by the kind of FAISS index it holds."""
    import faiss

    index = faiss.read_index(str(path))
    kind = "hnsw" if isinstance(index, faiss.IndexHNSW) else "ivf" if isinstance(index, faiss.IndexIVF) else "flat"
    return BACKENDS[kind](index)
