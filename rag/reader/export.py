"""The reader as one ONNX graph in the user cache: the base e5-small with the committed tensors put in place,
exported once (torch, at first use, like the encoder) and then run by ONNX Runtime alone."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path

from ..embed.onnx_export import onnx_problem, package
from ..files import replace_folder
from .weights import READER_TENSORS, ReaderWeights

log = logging.getLogger(__name__)
RECIPE = "r1"
VARIANTS = ("int8", "fp32")


def reader_folder(cache_dir: Path, weights: ReaderWeights, variant: str = "int8") -> Path:
    """Where the merged reader of these weights lives: named by the tensors' hash, so new weights export anew."""
    suffix = RECIPE if variant == "fp32" else f"{RECIPE}-{variant}"
    return cache_dir / f"reader-{weights.base}-{weights.tensors_sha256[:12]}-onnx-{suffix}"


def ensure_reader_onnx(cache_dir: Path, weights: ReaderWeights, converted: Callable[[], Path],
                       tensors: Path = READER_TENSORS, variant: str = "int8") -> Path:
    """The checked ONNX folder of the reader (`variant`: int8 weights, or fp32), exported (atomically) when
    missing or damaged."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown reader variant {variant!r}: one of {', '.join(VARIANTS)}")
    folder = reader_folder(cache_dir, weights, variant)
    problem = onnx_problem(folder)
    if problem is None:
        return folder
    log.warning("阅读模型%s，正在导出（只需一次，约需一分钟） (reader ONNX %s %s: merging and exporting)",
                "不存在" if problem == "missing" else "已损坏", folder, problem)
    source = converted()
    return replace_folder(folder, lambda work: _build(source, tensors, work, variant),
                          keep_existing=lambda folder: onnx_problem(folder) is None)


def _build(source: Path, tensors: Path, work: Path, variant: str) -> None:
    single = work / "model-single.onnx"
    export(source, tensors, single)
    package(single, work, source, variant,
            {"from": str(source), "tensors": str(tensors), "recipe": RECIPE, "variant": variant})


def export(source: Path, tensors: Path, target: Path) -> None:
    """torch.onnx.export of the merged reader: (input_ids, attention_mask) -> (answer, start, end)."""
    import torch
    from safetensors.torch import load_file

    from .model import load_reader

    model = load_reader(str(source), load_file(str(tensors)))
    ids = torch.tensor([[0, 6, 7, 8, 2], [0, 9, 10, 2, 1]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.int64)
    tokens = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids, mask), str(target), input_names=["input_ids", "attention_mask"],
                          output_names=["answer", "start", "end"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": tokens, "attention_mask": tokens, "answer": {0: "batch"},
                                        "start": tokens, "end": tokens})
