"""Tokenise (jieba) and score (BM25, bm25s) clauses: the sparse half of hybrid retrieval.

Clause text is already cleaned; a question goes through the same character normalisation first
(Traditional -> Simplified, NFKC), so 「新能源車」 and 「新能源车」 meet the same tokens.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .textnorm import normalize_query

WORD = re.compile(r"[\w\u4e00-\u9fff]")
# Function words and question words: they carry no topic and would let BM25 match on "多少" alone.
STOPWORDS = frozenset(
    "的 了 和 与 及 等 在 是 对 为 将 把 被 或 也 就 都 而 并 要 其 之 以 于 由 从 向 按 该 本 各 有 个 到 "
    "吗 呢 吧 啊 呀 请问 请 多少 什么 哪些 哪个 哪里 哪 怎么 怎样 如何 是否 有没有 能不能 可以 会 "
    "我 我们 你 你们 他们 它 这 那 这个 那个 一下 知道 想 问 关于 方面 情况".split()
)


# Policy vocabulary jieba's general dictionary splits into characters (碳/达/峰) or mis-joins (比/重要).
DOMAIN_WORDS = (
    "碳达峰 达峰 碳中和 双碳 非化石能源 化石能源 新能源 新能源汽车 新能源车 可再生能源 比重 占比 能耗 碳排放 碳汇 碳普惠 "
    "碳积分 碳足迹 碳市场 碳排放权 用能权 排污权 活立木 蓄积量 森林覆盖率 装机 装机容量 抽水蓄能 充电桩 充换电 "
    "加氢站 光伏 风电 氢能 储能 绿电 绿氢 绿色建筑 装配式建筑 超低能耗 近零碳 零碳 低碳 绿色出行 公共交通 "
    "多式联运 公转铁 两高 高耗能 高排放 清洁生产 循环经济 生活垃圾 建筑垃圾 资源化利用 秸秆 化肥 高标准农田 "
    "节能 节能审查 能效 数据中心 虚拟电厂 新型电力系统 绿道 湿地 国土绿化 生态修复 绿色金融 绿色信贷 碳金融 "
    "牵头 配合 咨询电话 联系人 十四五 十五五 十大行动 单位地区生产总值 二氧化碳 温室气体"
).split()


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    for word in DOMAIN_WORDS:
        jieba.add_word(word, freq=20000)
    return jieba


def add_words(words: Sequence[str]) -> None:
    """Teach jieba names the corpus uses (departments such as 市工信局) so they stay one token."""
    jieba = _jieba()
    for word in words:
        if 2 <= len(word) <= 20:
            jieba.add_word(word, freq=2000)


def words(text: str) -> list[str]:
    """jieba's segmentation (no HMM) of normalised text, in order, nothing removed."""
    return _jieba().lcut(normalize_query(text).lower(), HMM=False)


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens (words and their sub-words), lower-cased, without punctuation or stopwords.
    No HMM guessing of unknown words: it glues particles on ("车要") differently in questions and clauses."""
    tokens = _jieba().lcut_for_search(normalize_query(text).lower(), HMM=False)
    return [t for t in (tok.strip() for tok in tokens) if t and WORD.search(t) and t not in STOPWORDS]


class BM25Index:
    """bm25s over pre-tokenised clauses; saved as JSON and .npy arrays, loaded without pickle."""

    def __init__(self, model=None, size: int = 0):
        self.model = model
        self.size = size

    @classmethod
    def build(cls, corpus_tokens: Sequence[list[str]]) -> BM25Index:
        import bm25s

        if not corpus_tokens:
            return cls(None, 0)
        model = bm25s.BM25(k1=1.2, b=0.75)
        # A clause with no word tokens (a bare number) still needs a row: give it a token nothing matches.
        model.index([tokens or ["\u0000"] for tokens in corpus_tokens], show_progress=False)
        return cls(model, len(corpus_tokens))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        if self.model is None:
            return np.zeros(self.size, dtype=np.float32)
        known = [t for t in query_tokens if t in self.model.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.model.get_scores(known), dtype=np.float32)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> BM25Index:
        import bm25s

        if size == 0 or not (folder / "params.index.json").exists():
            return cls(None, size)
        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, load_corpus=False), size)
