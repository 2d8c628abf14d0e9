"""What a question asks: its script, the places and years it names, and the kind of answer it wants.

Rules over the question's own words, no model: the kinds are few (a department, a contact, a definition, a
number, several documents compared) and their wording is regular (哪个部门牵头, 电话, 什么叫, 多少, 分别).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import (
    GAZETTEER,
    GREETINGS,
    QUESTION_WORDS,
    STOPWORDS,
    Tokenizer,
    is_traditional,
    names_a_province_or_city,
    normalize_query,
    normalize_question,
    strip_suffix,
    without_places,
)

STAFF = re.compile(r"哪个部门|哪些部门|什么部门|哪个机构|哪个单位|谁牵头|由谁|谁负责|谁来|谁统筹|"
                   r"牵头|负责部门|配合部门|责任单位|谁管|哪个部门负责")
CONTACT = re.compile(r"电话|联系人|联系方式|咨询|找谁|热线")
DEFINITION = re.compile(r"什么是|啥是|什么叫|是什么意思|指什么|是啥|是个啥")
NUMERIC = re.compile(r"多少|几[个家根座辆条项次年]|比例|比重|占比|多大|多长|多高|目标|下降|提高|提升|达到|率|何时|哪年|"
                     r"什么时候|啥时|几点|哪天|日期")
COMPARE = re.compile(r"分别|各是|各自|对比|哪个高|哪个多|有何不同|都")
YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
SHORT_YEAR = re.compile(r"(?<![\d年])([2-3]\d)年")  # "25年" in speech means 2025
CONTENT = re.compile(r"[\u4e00-\u9fff]|[a-z]")
# Chinese modal particles and the pronouns of address, closed classes that carry no request by themselves: what
# is left of 你好呀, 谢谢您啦 or 在吗亲 once the greeting is gone.
PARTICLES = re.compile(r"你们|您们|大家|亲|你|您|[呀啊吗呢啦哦嘛吧哈噢呐哇咯喔了的]")


@dataclass(frozen=True)
class Intent:
    """What a question asks: its normalised text, script, kind, the places and years it names, its terms."""

    question: str  # as asked
    normalized: str  # Simplified, NFKC
    script: str  # zh-Hans | zh-Hant
    kind: str  # staff | contact | definition | numeric | general
    places: tuple[str, ...]  # place names as written, suffix dropped (瑞金, 成都, 江西)
    years: tuple[str, ...]
    terms: tuple[str, ...] = field(default=())  # content tokens: what must be found for an answer
    guessed: frozenset[str] = frozenset()  # terms glued from single characters jieba did not know

    @property
    def compares(self) -> bool:
        """True when the question names two or more places (answered place by place)."""
        return len(self.places) >= 2


def has_content(text: str) -> bool:
    """Whether a message asks something: a word (a Chinese character, a Latin letter) is left once greetings,
    punctuation and emoji are removed. A bare number ("0", "2025") asks nothing a clause could answer."""
    rest = normalize_query(text).lower()  # NFKC: a full-width ＧＤＰ is GDP
    for greeting in sorted(GREETINGS, key=len, reverse=True):
        rest = rest.replace(greeting, "")
    return bool(CONTENT.search(PARTICLES.sub("", rest)))


def place_names(text: str, known: frozenset[str] = frozenset(), tokenizer: Tokenizer | None = None
                ) -> tuple[str, ...]:
    """Place names jieba tags in a question, with 省/市/区 dropped: 成都市 -> 成都."""
    names = []
    for word, flag in (tokenizer or Tokenizer.for_lexicon()).tagged(text):
        if flag.startswith("ns") and len(word) >= 2:
            name = strip_suffix(word)
            if name in known or name in GAZETTEER or names_a_province_or_city(word):
                names.append(name)
    return tuple(dict.fromkeys(names))


def _content_words(text: str, tokenizer: Tokenizer) -> list[str]:
    """Words that say what is asked. jieba splits names it does not know into characters (碳/惠/天府): a run
    of adjacent single characters that are not function words becomes one term again (碳惠), which is then
    found in the text as a substring."""
    merged: list[str] = []
    run = ""
    for word in tokenizer.words(text) + [""]:
        if len(word) == 1 and "\u4e00" <= word <= "\u9fff" and word not in STOPWORDS and word not in QUESTION_WORDS:
            run += word
            continue
        if len(run) >= 2:
            merged.append(run)
        run = ""
        merged.append(word)
    return merged


def years_of(text: str) -> tuple[str, ...]:
    """The years the text names, each once: four-digit ones first, then "25年" read as 2025."""
    years = YEAR.findall(text) + ["20" + y for y in SHORT_YEAR.findall(text)]
    return tuple(dict.fromkeys(years))


def analyse(question: str, known_places: frozenset[str] = frozenset(), tokenizer: Tokenizer | None = None
            ) -> Intent:
    """The question's intent, by rules over its words; `known_places` are the corpus's own places, `tokenizer`
    cuts words as the index it is asked of does (its department names kept whole; jieba's own words alone when
    not given)."""
    tokenizer = tokenizer or Tokenizer.for_lexicon()
    normalized = normalize_question(question)
    found = list(place_names(normalized, known_places, tokenizer))
    # jieba does not know every county-level place (共青城, 槐荫区): the corpus's own places count too.
    for place in known_places:
        if place in normalized and place not in found and not any(place in f or f in place for f in found):
            found.append(place)
    found.sort(key=normalized.find)
    if STAFF.search(normalized):
        kind = "staff"
    elif CONTACT.search(normalized):
        kind = "contact"
    elif DEFINITION.search(normalized):
        kind = "definition"
    elif NUMERIC.search(normalized):
        kind = "numeric"
    else:
        kind = "general"
    places = tuple(found)
    topic = without_places(normalized, places)
    content = _content_words(topic, tokenizer)
    candidates = content + tokenizer.tokenize(topic)  # whole words and their search-mode parts
    known_words = set(tokenizer.words(topic))
    terms = tuple(
        t for t in dict.fromkeys(candidates)
        if len(t) >= 2 and t not in QUESTION_WORDS and t not in STOPWORDS and not YEAR.fullmatch(t)
        and any(ch.isalnum() for ch in t)
    )
    guessed = frozenset(t for t in terms if t in content and t not in known_words)
    return Intent(question, normalized, "zh-Hant" if is_traditional(question) else "zh-Hans", kind, places,
                  years_of(normalized), terms, guessed)
