"""A document's dates: when it was issued, when its measures take effect and when their period ends, each with
the words it was read from (the catalogue's entry, or a phrase of the cleaned text and its offsets).

Read from how Chinese policy documents state them: the catalogue's date or a date standing alone at the
signature (issued); 自…起施行 / 自印发之日起执行 (effective); 有效期至…, 有效期N年, 执行期限…至…, 试行N年,
执行至疫情结束 (the end of validity). A plan's target year (到2025年…) is a goal, not an end of validity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

ISSUED_IS_EFFECTIVE = "issued"  # 自印发之日起施行: effective when issued
OPEN = "open: "  # an end that is an event (疫情结束), not a date

DAY = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
YEARS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# A date standing alone on its line (a signature), or in brackets under the title.
STANDALONE = re.compile(rf"^[ \t　]*{DAY}[ \t　]*$|[（(][ \t　]*{DAY}[ \t　]*[)）]", re.M)
# The date a document ends with, after its issuer and no full stop (a signature, cleaning may have joined it to
# the issuer's line): …国家卫生健康委办公厅2020年1月28日; not a period's end (…至2020年6月30日).
SIGNATURE_AT_END = re.compile(rf"(?<![\d至到止]){DAY}[\s　]*$")
PUBLISHED_LINE = re.compile(r"(?:发布|印发|成文)(?:时间|日期)\s*[:：]?\s*(\d{4})[-年/.](\d{1,2})[-月/.](\d{1,2})")
EFFECTIVE = re.compile(rf"自\s*{DAY}\s*起(?:施行|执行|实施|生效)")
EFFECTIVE_AT_ISSUE = re.compile(r"自(?:印发|发布|公布)之日起(?:施行|执行|实施|生效)")
VALID_UNTIL = re.compile(rf"有效期(?:至|到|截至){DAY}")
PERIOD = re.compile(rf"(?:执行|实施|有效|政策)(?:期限|期间|期)?(?:为|是|：|:)?\s*{DAY}\s*(?:至|到|—|-|－)\s*{DAY}")
UNTIL = re.compile(rf"(?:执行|实施|有效|延长)(?:至|到){DAY}")
VALID_YEARS = re.compile(r"(?:有效期|试行期|试行)(?:为|是)?\s*(\d{1,2}|[一二两三四五六七八九十])\s*年")
UNTIL_EVENT = re.compile(r"(?:执行|实施|有效)(?:至|到)(疫情(?:防控)?(?:结束|解除)|[^，。；\n]{2,12}(?:结束|解除)为止?)")


@dataclass(frozen=True)
class Dated:
    """One date and where it came from: `evidence` is the catalogue entry or text[start:end]."""

    value: str  # YYYY-MM-DD, "issued" (effective: when issued) or "open: <event>" (expires: at an event)
    evidence: str
    source: str  # "catalogue" | "text"
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class DocumentDates:
    """What a document says of its dates; None where it says nothing."""

    issued: Dated | None = None
    effective: Dated | None = None
    expires: Dated | None = None

    def end_day(self) -> date | None:
        """The last day of validity, when it is a date."""
        if self.expires is None or self.expires.value.startswith(OPEN):
            return None
        return date.fromisoformat(self.expires.value)

    def status(self, today: date | None = None) -> str:
        """有效 / 已到期 / 未注明 (no end stated) on `today`."""
        if self.expires is None:
            return "未注明"
        end = self.end_day()
        return "已到期" if end is not None and end < (today or date.today()) else "有效"

    def issued_words(self) -> str:
        """How an answer names the issue date: 2020年2月印发 ("" when unknown)."""
        if self.issued is None:
            return ""
        parts = self.issued.value.split("-")
        return f"{int(parts[0])}年{int(parts[1])}月印发" if len(parts) >= 2 else f"{parts[0]}年印发"


def _iso(year: str, month: str, day: str) -> str | None:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _dated(match: re.Match, groups: tuple[int, int, int]) -> Dated | None:
    value = _iso(*(match.group(g) for g in groups))
    return Dated(value, match.group(0).strip(), "text", match.start(), match.end()) if value else None


def _catalogue_date(metadata: dict) -> Dated | None:
    raw = str(metadata.get("date") or "").strip()
    found = re.match(r"(\d{4})(?:[-年/.](\d{1,2}))?(?:[-月/.](\d{1,2}))?", raw)
    if not found:
        return None
    year, month, day = found.groups()
    value = year if not month else (_iso(year, month, day) if day else f"{year}-{int(month):02d}")
    return Dated(value, f"文件目录：{raw}", "catalogue") if value else None


def issued_date(text: str, metadata: dict) -> Dated | None:
    """The catalogue's date, else a 发布时间 line, else the date the text ends with or the last date standing
    alone (the signature)."""
    catalogue = _catalogue_date(metadata)
    if catalogue:
        return catalogue
    line = PUBLISHED_LINE.search(text)
    if line:
        return _dated(line, (1, 2, 3))
    ending = SIGNATURE_AT_END.search(text.rstrip())
    if ending:
        return _dated(ending, (1, 2, 3))
    alone = list(STANDALONE.finditer(text))
    if alone:
        last = alone[-1]
        return _dated(last, (1, 2, 3) if last.group(1) else (4, 5, 6))
    return None


def effective_date(text: str) -> Dated | None:
    """自…起施行 (a date) or 自印发之日起施行 ("issued")."""
    found = EFFECTIVE.search(text)
    if found:
        return _dated(found, (1, 2, 3))
    at_issue = EFFECTIVE_AT_ISSUE.search(text)
    if at_issue:
        return Dated(ISSUED_IS_EFFECTIVE, at_issue.group(0), "text", at_issue.start(), at_issue.end())
    return None


def _add_years(start: str, years: int) -> str | None:
    try:
        first = date.fromisoformat(start)
    except ValueError:
        return None
    try:
        return (first.replace(year=first.year + years) - timedelta(days=1)).isoformat()
    except ValueError:  # 29 February
        return (first.replace(year=first.year + years, day=28)).isoformat()


def expiry_date(text: str, since: str | None) -> Dated | None:
    """The end of validity: a date (有效期至…, …至…, 执行至…), N years from `since` (有效期2年), or an event."""
    for pattern, groups in ((VALID_UNTIL, (1, 2, 3)), (PERIOD, (4, 5, 6)), (UNTIL, (1, 2, 3))):
        found = pattern.search(text)
        if found:
            dated = _dated(found, groups)
            if dated:
                return dated
    years = VALID_YEARS.search(text)
    if years and since:
        count = int(years.group(1)) if years.group(1).isdigit() else YEARS[years.group(1)]
        value = _add_years(since, count)
        if value:
            return Dated(value, years.group(0), "text", years.start(), years.end())
    event = UNTIL_EVENT.search(text)
    if event:
        return Dated(OPEN + event.group(1), event.group(0), "text", event.start(), event.end())
    return None


def document_dates(text: str, metadata: dict) -> DocumentDates:
    """Issued, effective and end-of-validity dates of a cleaned document text and its catalogue entry."""
    issued = issued_date(text, metadata)
    effective = effective_date(text)
    since = effective.value if effective and effective.value != ISSUED_IS_EFFECTIVE else None
    if since is None and issued is not None and len(issued.value) == 10:
        since = issued.value
    return DocumentDates(issued, effective, expiry_date(text, since))
