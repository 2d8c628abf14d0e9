"""Text: the character normalisation, word lists, place names and tokens every later stage reads."""

from .normalize import (
    TRADITIONAL_VARIANTS,
    is_traditional,
    normalize_chars,
    normalize_query,
    normalize_question,
    prepare_question,
    strip_pinyin,
    to_simplified,
    to_traditional,
    traditional_variant,
)
from .places import (
    GAZETTEER,
    OPENING_CHARS,
    PlaceCatalogue,
    document_places,
    names_a_province_or_city,
    region_places,
    strip_suffix,
    without_places,
)
from .tokens import Tokenizer
from .vocabulary import GREETINGS, QUESTION_WORDS, STOPWORDS, SYNONYMS, VOCABULARY_VERSION

__all__ = [
    "GAZETTEER", "GREETINGS", "OPENING_CHARS", "PlaceCatalogue", "QUESTION_WORDS", "STOPWORDS", "SYNONYMS",
    "TRADITIONAL_VARIANTS", "Tokenizer", "VOCABULARY_VERSION", "document_places", "is_traditional",
    "names_a_province_or_city", "normalize_chars", "normalize_query", "normalize_question", "prepare_question",
    "region_places", "strip_pinyin", "strip_suffix", "to_simplified", "to_traditional", "traditional_variant",
    "without_places",
]
