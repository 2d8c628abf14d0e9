"""Clean: published text -> Simplified, noise-free text with one paragraph or heading a line.

The noise is real and comes from three sources: web pages (font-size widgets, QR-code prompts, app
links, a metadata header), PDF text layers (hard line breaks every ~40 characters, page numbers, spaces
between characters, stray bullets) and datasets that collapsed a whole document onto one line.

Cleaning never rewrites policy text: it drops whole lines only when they are page chrome, a page number
or a metadata header (each dropped line is recorded with its reason), removes pinyin annotations and
whitespace, and converts Traditional characters to Simplified. Cleaning its own output changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import normalize_chars, strip_pinyin, to_simplified
from .headings import ANY_MARKER, CN_NUM, SENTENCE_END, starts_with_heading
from .load import RawDocument
from .responsibility import Contact, contacts_of

# CJK ideographs and CJK / full-width punctuation: whitespace next to one of these is layout, not text.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_PUNCT = ("\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
             "\u2014\u2018\u2019\u201c\u201d\u2026\u00b7")
CJKISH = f"[{CJK}{CJK_PUNCT}]"
SPACE_NEAR_CJK = re.compile(rf"(?<={CJKISH})[ \t]+|[ \t]+(?={CJKISH})")

# Header lines that describe the document rather than belong to it.
HEADER_FIELD = re.compile(r"^(SOURCE|TITLE)\s*[:：]\s*(.*)$")
INFO_HEADER = re.compile(r"^(信息类别|索引号|信息索取号)\s*[:：]")
INFO_FIELD = re.compile(
    r"(信息类别|公开方式|生成日期|发布日期|成文日期|公开时限|公开范围|信息索取号|索引号|责任部门|发布机构|文号)"
    r"\s*[:：]\s*(.*?)(?=\s+\S+\s*[:：]|$)"
)

# Web-page chrome. A line is dropped only when nothing but these tokens (and punctuation) is on it.
CHROME_TOKENS = re.compile(
    r"字号|视力保护色|扫一扫在手机打开当前页面|扫码使用手机浏览本页内容|在手机上查看|赣服通|赣政通|手机版|政务微信|"
    r"政策问答|无障碍|关闭窗口|关闭|我要评论|打印本页|打印|收藏|分享到|相关附件|\[\s*\]|【\s*】"
)
CHROME_LEFTOVER = re.compile(r"^[\s\[\]【】•·:：|｜/()（）]*$")
FONT_SIZES = re.compile(r"^大\s*中\s*小$")
PAGE_NUMBER = re.compile(r"^(?:[-—–－]+\s*\d{1,3}\s*[-—–－]+|第\s*\d+\s*页(?:\s*共\s*\d+\s*页)?"
                         r"|\d{1,3}\s*/\s*\d{1,3})$")
# Stray PDF bullets and Markdown heading marks, in any order: "- 业,推动…", "## 第一章 总则".
LINE_PREFIX = re.compile(r"^(?:(?:[-•·▪●]|#{1,6})\s+)+")

# A heading glued after the end of the previous sentence ("…提质增效。 (三)提升服务业…") or after a
# closing responsibility note and a space ("(责任单位：各区政府)  2.设立…").
INLINE_HEADING = re.compile(
    rf"(?:(?<=[。！？；!?;])[ \t]*|(?<=[)）])[ \t]+)(?={ANY_MARKER}(?!\s*[，,、。]))"
)
# Datasets that collapsed paragraphs into spaces: such a line is unfolded at the spaces.
COLLAPSED_MIN = 600
# A run of two or more spaces there was a paragraph's indent (" 　　" folds to three spaces): the contact
# block and the signature at the end ("…名单 　　联系人：孙良谊　王蔚 　　联系电话：…") are lines of their own.
COLLAPSED_BREAK = re.compile(rf"(?<=[。！？；!?;])[ \t]+|[ \t]+(?={ANY_MARKER})|[ \t]{{2,}}")
# "一、总体要求和目标 坚持以…": a short title of the two top numbering styles, then its body.
COLLAPSED_TITLE = re.compile(rf"^((?:{CN_NUM}、|[(（]{CN_NUM}[)）])[^。！？；：:\s]{{2,40}})[ \t]+(?=\S)")

# A line at least this wide (CJK characters count two) that stops mid-sentence was wrapped by a PDF
# layout: typeset lines hold 35-40 characters, while titles, signatures and dates are shorter.
WRAPPED_WIDTH = 52
BARE_MARKER = re.compile(ANY_MARKER)
CONTINUES = "，,、（(“‘《〈【[—-"


@dataclass(frozen=True)
class DroppedLine:
    """A line cleaning removed, with why (chrome, page-number or header)."""

    reason: str  # chrome | page-number | header
    text: str


@dataclass(frozen=True)
class CleanText:
    """Cleaned text, the header fields read from the lines above it, and the lines dropped."""

    text: str
    header: dict[str, str]
    dropped: tuple[DroppedLine, ...]


def _width(line: str) -> int:
    return sum(1 if ch.isascii() else 2 for ch in line)


def _unfold_collapsed(line: str) -> list[str]:
    if len(line) < COLLAPSED_MIN or line.count(" ") < 5:
        return [line]
    parts = []
    for part in COLLAPSED_BREAK.split(line):
        parts.extend(COLLAPSED_TITLE.sub(r"\1\n", part).split("\n"))
    return parts


def _classify(line: str) -> str | None:
    """Why a line is dropped, or None when it is text."""
    if PAGE_NUMBER.match(line):
        return "page-number"
    if FONT_SIZES.match(line) or (CHROME_TOKENS.search(line) and CHROME_LEFTOVER.match(CHROME_TOKENS.sub("", line))):
        return "chrome"
    return None


# On a contact line a space between two names is all that tells 孙良谊 from 王蔚: it stays, as one space.
NAMES_LINE = re.compile(r"^联系人\s*[:：]")
BETWEEN_NAMES = re.compile(rf"(?<=[{CJK}])\s+(?=[{CJK}])")


def _tidy(line: str) -> str:
    line = LINE_PREFIX.sub("", line.strip())
    if NAMES_LINE.match(line):
        kept = BETWEEN_NAMES.split(line)
        return " ".join(SPACE_NEAR_CJK.sub("", part) for part in kept).strip()
    return SPACE_NEAR_CJK.sub("", line).strip()


def _split_headings(line: str) -> list[str]:
    return [piece.strip() for piece in INLINE_HEADING.sub("\n", line).split("\n") if piece.strip()]


def _header_field(raw: str, tidy: str) -> dict[str, str] | None:
    """The fields of a SOURCE/TITLE line or a site's metadata line; None for any other line."""
    if match := HEADER_FIELD.match(tidy):
        return {match.group(1).lower(): match.group(2).strip()}
    if INFO_HEADER.match(tidy):
        return {key: value.strip() for key, value in INFO_FIELD.findall(raw)}
    return None


# A labelled field of a contact block starts its line, however wide the line above.
FIELD_LINE = re.compile(r"^(?:联系人|联系电话|咨询电话|联系方式|电子邮箱|联系科室|联系部门|联系单位)\s*[:：]")


def _should_join(current: str, following: str) -> bool:
    if not current or current[-1] in SENTENCE_END or starts_with_heading(following) or FIELD_LINE.match(following):
        return False
    # A bare "第二章" whose title the PDF put on the next line joins it.
    return current[-1] in CONTINUES or _width(current) >= WRAPPED_WIDTH or BARE_MARKER.fullmatch(current) is not None


def _join_wrapped(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and _should_join(out[-1], line):
            latin = out[-1][-1].isascii() and out[-1][-1].isalnum() and line[0].isascii() and line[0].isalnum()
            glue = " " if latin else ""
            out[-1] = out[-1] + glue + line
        else:
            out.append(line)
    return out


def clean_text(raw: str) -> CleanText:
    """The raw text cleaned: Simplified, one paragraph or heading a line, chrome and header lines set aside."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = to_simplified(strip_pinyin(normalize_chars(text)))
    lines = [
        piece.strip()
        for line in text.split("\n")
        for unfolded in _unfold_collapsed(line)
        for piece in INLINE_HEADING.sub("\n", unfolded).split("\n")
        if piece.strip()
    ]
    header: dict[str, str] = {}
    kept: list[str] = []
    dropped: list[DroppedLine] = []
    for line in lines:
        tidy = _tidy(line)
        if not tidy:
            continue
        if reason := "page-number" if PAGE_NUMBER.match(line) else _classify(tidy):
            dropped.append(DroppedLine(reason, line))
        elif not kept and (fields := _header_field(line, tidy)) is not None:
            # SOURCE/TITLE lines and a site's metadata line, above the first line of text.
            header.update(fields)
            dropped.append(DroppedLine("header", line))
        else:
            kept.extend(_split_headings(tidy))
    lines = _join_wrapped(kept)
    # Joining can bring a sentence end and a heading marker together ("…。一" + "、…"): split again.
    lines = _join_wrapped([piece for line in lines for piece in _split_headings(line)])
    return CleanText("\n".join(lines), header, tuple(dropped))


@dataclass(frozen=True)
class PolicyDocument:
    """A cleaned document: the text every clause offset and citation quote refers to."""

    doc_id: str
    title: str
    text: str
    metadata: dict  # issuer, region, level, date, type, source … (catalogue first, then the page header)
    contacts: tuple[Contact, ...]
    dropped: tuple[DroppedLine, ...]
    path: str
    encoding: str


def _title(raw: RawDocument, cleaned: CleanText) -> str:
    for candidate in (raw.catalog.get("title"), cleaned.header.get("title"), raw.catalog.get("page_title")):
        if candidate:
            return to_simplified(normalize_chars(str(candidate))).strip()
    first = cleaned.text.split("\n", 1)[0].strip()
    if len(first) <= TITLE_MAX:
        return first or raw.doc_id
    return to_simplified(normalize_chars(_opening_words(raw.text))).strip() or first[:TITLE_MAX]


TITLE_MAX = 60


def _opening_words(text: str) -> str:
    """For a document written as one long line ("标题 正文…", as scraped Q&A sets store them): its opening
    words up to the first space or sentence end, read from the raw text (cleaning joins spaced words)."""
    first = text.strip().split("\n", 1)[0]
    brk = re.search(r"\s|[。！？；]", first)
    if brk and 4 <= brk.start() <= TITLE_MAX:
        return first[:brk.start()]
    return first[:TITLE_MAX]


def clean_document(raw: RawDocument) -> PolicyDocument:
    """The cleaned document: text, title, catalogue and header metadata (as strings or numbers), contacts."""
    cleaned = clean_text(raw.text)
    metadata = {key: value for key, value in cleaned.header.items() if key != "title"}
    if "生成日期" in metadata:
        metadata.setdefault("date", metadata["生成日期"])
    metadata.update({k: v for k, v in raw.catalog.items() if k not in ("title", "page_title") and v is not None})
    for key, value in metadata.items():
        if not isinstance(value, (str, int, float)):
            metadata[key] = str(value)  # YAML dates arrive as date objects
    return PolicyDocument(
        raw.doc_id, _title(raw, cleaned), cleaned.text, metadata, contacts_of(cleaned.text), cleaned.dropped,
        str(raw.path), raw.encoding,
    )
