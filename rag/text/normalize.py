"""Character-level normalisation shared by documents and questions.

The same function runs on corpus text while cleaning and on every question before retrieval, so a
Traditional or full-width question meets the index in the form the index was built from.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

# Pinyin annotations glued after characters by some government sites: 關(guān)於, 區(qū).
# Every annotation seen carries a tone mark; requiring one keeps `(kg)` or `(de)`-like text safe.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
PINYIN_ANNOTATION = re.compile(rf"(?<=\S)\s*(?:\((?=[a-z{_TONED}]*[{_TONED}])[a-z{_TONED}]{{1,7}}\))+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """The text in Simplified characters (OpenCC t2s)."""
    return _t2s().convert(text)


def _needs_nfkc(ch: str) -> bool:
    # Letters, digits and spaces (full-width digits, U+3000, NBSP, circled numbers) and the Kangxi and
    # CJK radical blocks fold to their plain forms; punctuation and quotes stay as published.
    if "\u2e80" <= ch <= "\u2fdf":
        return True
    return unicodedata.category(ch)[0] in "LNZ" and not ch.isascii()


def normalize_chars(text: str) -> str:
    """NFKC for compatibility letters, digits and spaces; drop zero-width characters."""
    text = text.translate(ZERO_WIDTH)
    if text.isascii():
        return text
    return "".join(unicodedata.normalize("NFKC", ch) if _needs_nfkc(ch) else ch for ch in text)


def strip_pinyin(text: str) -> str:
    """The text without tone-marked pinyin annotations such as 關(guān)於."""
    # Repeat until nothing changes: removing one annotation can close up another "(gu(ā)ān)".
    while (stripped := PINYIN_ANNOTATION.sub("", text)) != text:
        text = stripped
    return text


# Longer questions are cut here, with a notice: a real question is a sentence or two; a pasted page
# would only slow every stage down (the embedder reads 512 tokens anyway).
MAX_QUESTION_CHARS = 1000
# Terminal colour codes and HTML tags (a question pasted from a page or a console) are not words of it.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
HTML_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.I | re.S)
HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def prepare_question(text: str | None, limit: int = MAX_QUESTION_CHARS) -> tuple[str, str | None]:
    """A question as typed -> (the text every stage sees, a notice for the asker or None).

    Control and format characters (NUL, escape sequences, bidi overrides, zero-width) become spaces or go;
    terminal escapes and HTML tags go (a script's body with its tag); runs of whitespace become one space;
    text past `limit` characters is cut."""
    text = HTML_TAG.sub(" ", HTML_SCRIPT.sub(" ", ANSI_ESCAPE.sub("", text or "")))
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029":
            kept.append(" ")
        elif category == "Cc":
            continue  # NUL, BEL, ESC…: noise inside a word, not a word break
        elif category not in ("Cf", "Cs", "Co", "Cn") or ch == "\u200d":  # ZWJ joins emoji sequences
            kept.append(ch)
    cleaned = " ".join("".join(kept).split())
    if len(cleaned) > limit:
        return cleaned[:limit], f"问题过长（{len(cleaned)} 字），只按前 {limit} 字回答。"
    return cleaned, None


def normalize_query(text: str) -> str:
    """What a question goes through before retrieval: the character steps of cleaning, nothing else."""
    return to_simplified(strip_pinyin(normalize_chars(text))).strip()


def normalize_question(text: str) -> str:
    """normalize_query for a question as typed: a symbol with no plain form (an emoji, a dingbat, a stray sign
    from another script) is a break between words, not part of one, so noise around 成都 leaves 成都 as it was
    for the tokenizer, the encoder and BM25. Symbols that fold to letters or digits (㎡, ℃) stay."""
    text = normalize_query(text)
    broken = "".join(" " if unicodedata.category(ch) == "So" and unicodedata.normalize("NFKC", ch) == ch else ch
                     for ch in text)
    return " ".join(broken.split()) if broken != text else text


def is_traditional(text: str) -> bool:
    """True when converting to Simplified changes the text: the asker wrote Traditional characters."""
    return to_simplified(text) != text


# Traditional variants, the first the default: Taiwan's standard forms (碳達峰, 著力) are also what the
# Traditional documents in this corpus use; Hong Kong's and OpenCC's generic forms follow.
TRADITIONAL_VARIANTS = ("s2tw", "s2hk", "s2t")


@lru_cache(maxsize=4)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def traditional_variant(question: str) -> str:
    """The variant whose forms the asker used, when that is clear; else the default."""
    simplified = to_simplified(question)
    for config in TRADITIONAL_VARIANTS:
        if _converter(config).convert(simplified) == question:
            return config
    return TRADITIONAL_VARIANTS[0]


def to_traditional(text: str, variant: str = TRADITIONAL_VARIANTS[0]) -> str:
    """The text in Traditional characters of `variant`: answers to a Traditional question are written back in it."""
    return _converter(variant).convert(text)
