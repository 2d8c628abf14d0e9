"""Place names: what an administrative suffix is (省/市/区/县…), which places a document belongs to, and
which known places there are. Question analysis, the answer scorer's place features and the answerer read these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Protocol

# The multi-character suffixes are listed whole: without 自治区 内蒙古自治区 would be read as the place 内蒙古自治.
ADMIN_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "新区", "省", "市", "区", "县", "州",
                  "盟", "旗")
_SUFFIX = "|".join(ADMIN_SUFFIXES)
# What is blanked out after a place in a question's topic: not 地区, 新区, 州, 盟 or 旗, which also begin words
# (江西地区生产总值, 上海旗舰项目).
_TOPIC_SUFFIX = "|".join(s for s in ADMIN_SUFFIXES if s not in ("地区", "新区", "州", "盟", "旗"))
# A run of two to seven characters before a suffix: 江西省赣州市瑞金市 -> 江西, 赣州, 瑞金.
PLACE_IN_TEXT = re.compile(rf"([\u4e00-\u9fff]{{2,7}}?)(?:{_SUFFIX})")
TRAILING_SUFFIX = re.compile(rf"(?:{_SUFFIX})$")
# Words that end in 市/区 without being places.
NOT_PLACES = frozenset({"城", "城市", "地区", "园区", "社区", "城区", "市场", "辖区", "景区", "新区", "开发区",
                        "试验区"})
# Places a question may name with no document here, so it is recognised and refused rather than answered from
# another place's documents (jieba also tags words such as 新建 as places: only these, the corpus's own places and
# names ending in 省/市 count). Whole categories from general geography, none chosen by hand: the 34
# provincial-level divisions, the capitals of the 27 provinces and autonomous regions, and the five cities with
# separate planning status (计划单列市).
PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 "
    "云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
CAPITALS = (
    "石家庄 太原 沈阳 长春 哈尔滨 南京 杭州 合肥 福州 南昌 济南 郑州 武汉 长沙 广州 海口 成都 贵阳 昆明 西安 兰州 "
    "西宁 呼和浩特 南宁 拉萨 银川 乌鲁木齐"
).split()
PLANNING_CITIES = "大连 青岛 宁波 厦门 深圳".split()
GAZETTEER = frozenset(PROVINCES + CAPITALS + PLANNING_CITIES)


def strip_suffix(word: str) -> str:
    """The name without its administrative suffix (成都市 -> 成都); a two-character word is left whole."""
    return TRAILING_SUFFIX.sub("", word) if len(word) > 2 else word


def names_a_province_or_city(word: str) -> bool:
    """Whether a word is a name with 省 or 市 after it (成都市): a place even where no list knows it, unlike 区 or
    县, which end many other words."""
    return len(word) > 2 and word[-1] in "省市"


def region_places(region: str) -> list[str]:
    """Every place a catalogue region names, outermost first: 江西省赣州市瑞金市 -> [江西, 赣州, 瑞金]."""
    return [m.group(1) for m in PLACE_IN_TEXT.finditer(region)]


def document_places(title: str, metadata: dict) -> tuple[str, ...]:
    """The place a document belongs to: the last part of its catalogue region (江西省赣州市瑞金市 -> 瑞金:
    a question about 江西 is about the province's documents, not every city's) and the place its title
    starts with (上海市碳达峰实施方案 -> 上海)."""
    names = region_places(str(metadata.get("region") or ""))[-1:]
    match = PLACE_IN_TEXT.match(re.sub(r"^(?:中共|关于|印发|《)+", "", title))
    if match:
        names.append(match.group(1))
    return tuple(n for n in dict.fromkeys(names) if n not in NOT_PLACES)


def without_places(text: str, places: tuple[str, ...]) -> str:
    """The text with each place and its suffix blanked out, longest first (成都市 must not leave 都市)."""
    for place in sorted(places, key=len, reverse=True):
        text = re.sub(re.escape(place) + rf"(?:{_TOPIC_SUFFIX})?", " ", text)
    return text


# A document's opening lines: title, issuer, addressees. A notice filed without a catalogue entry names its place here.
OPENING_CHARS = 300


class PlacedDocument(Protocol):
    """What the catalogue reads of a document: its title, catalogue metadata (region) and cleaned text."""

    title: str
    metadata: dict
    text: str


class PlaceCatalogue:
    """Which documents belong to which place, and every place a corpus knows: the one place lookup that the
    answerer (with either search backend) and training read."""

    def __init__(self, titles: dict[str, str], regions: dict[str, str], openings: dict[str, str]):
        self.titles, self.regions, self.openings = titles, regions, openings
        self.places: dict[str, tuple[str, ...]] = {
            doc_id: document_places(title, {"region": regions[doc_id]}) for doc_id, title in titles.items()}
        self._documents_of: dict[str, tuple[str, ...]] = {}

    @classmethod
    def of_documents(cls, documents: Mapping[str, PlacedDocument]) -> PlaceCatalogue:
        """The catalogue of an index's documents (doc id -> record), in their order."""
        return cls({d: doc.title for d, doc in documents.items()},
                   {d: str(doc.metadata.get("region") or "") for d, doc in documents.items()},
                   {d: doc.text[:OPENING_CHARS] for d, doc in documents.items()})

    @classmethod
    def of_titles(cls, rows: Iterable[tuple[str, str, str]]) -> PlaceCatalogue:
        """The catalogue from (doc id, title, region) rows alone (a Milvus collection keeps no whole texts):
        documents_naming then reads titles only."""
        rows = list(rows)
        return cls({d: t for d, t, _ in rows}, {d: r or "" for d, _, r in rows}, {d: "" for d, _, _ in rows})

    @cached_property
    def known_places(self) -> frozenset[str]:
        """Every place a document belongs to or its catalogue region names."""
        known = {p for names in self.places.values() for p in names}
        for region in self.regions.values():
            known.update(region_places(region))
        return frozenset(known)

    def documents_of(self, place: str) -> tuple[str, ...]:
        """The place's own documents (江西 -> the province's, not every city's in it); else those whose region
        names it; else those whose title or opening lines do (a notice of 深圳市… filed without a catalogue)."""
        if place not in self._documents_of:
            own = tuple(d for d, names in self.places.items() if place in names)
            self._documents_of[place] = (own or tuple(d for d, region in self.regions.items() if place in region)
                                         or self.documents_naming(place))
        return self._documents_of[place]

    def documents_naming(self, place: str) -> tuple[str, ...]:
        """The documents whose title or opening lines name the place."""
        return tuple(d for d, title in self.titles.items() if place in title or place in self.openings[d])

    def documents_about(self, place: str) -> set[str]:
        """Every document that is of the place or names it at its top: the widest reading, for leaving a place's
        documents out of a search."""
        return set(self.documents_of(place)) | set(self.documents_naming(place))

    def documents_of_places(self, places: Iterable[str]) -> tuple[str, ...]:
        """The documents of each place in turn (documents_of), in that order."""
        return tuple(d for place in places for d in self.documents_of(place))
