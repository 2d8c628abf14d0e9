"""Present: answers and clauses as the app shows them.

Each chat message carries its own sources: the answer's [n] markers link to cards inside the same message
(ids scoped to the turn, so `[1]` of the first answer shows the first answer's clause), each card the clause
with the quoted words highlighted and a link to the whole document. A hidden plain-text copy (the answer,
then its sources as 《title》section lines) is what the copy button puts on the clipboard. Everything a
Traditional-script asker reads is converted to Traditional here, labels included.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urlencode

from ..answer import Answer, Citation
from ..index import PolicyIndex
from ..text import TRADITIONAL_VARIANTS, to_traditional

NOT_FOUND = "现有政策文件中未找到"
BEFORE_SECTIONS = "（正文前）"
LEVELS = {"province": "省级", "city": "市级", "district": "区县级"}


def _script(text: str, answer: Answer) -> str:
    return answer.in_script(text)


def _lines(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _marked(text: str, lo: int, start: int, end: int, hi: int, convert: Callable[[str], str] = str,
            mark: str = "<mark>") -> str:
    """text[lo:hi] as HTML lines, text[start:end] inside `mark`; each part converted (script) before escaping."""
    return (_lines(convert(text[lo:start])) + f"{mark}{_lines(convert(text[start:end]))}</mark>"
            + _lines(convert(text[end:hi])))


def document_link(doc_id: str, start: int | None = None, end: int | None = None, script: str = "zh-Hans",
                  variant: str = TRADITIONAL_VARIANTS[0]) -> str:
    """The read-only page of a whole document, the quoted span marked (served by the app at /document/)."""
    query = {k: v for k, v in {"start": start, "end": end}.items() if v is not None}
    if script == "zh-Hant":
        query.update(script=script, variant=variant)
    # Absolute: the staff desk (/staff/) links to the same pages as the citizen page.
    return f"/document/{doc_id}" + (f"?{urlencode(query)}" if query else "") + ("#quote" if start is not None else "")


def answer_text(answer: Answer, turn: int) -> str:
    """The answer as markdown: its [n] markers link to this turn's source cards."""
    text = html.escape(answer.answer).replace("\n", "  \n")
    text = re.sub(r"\[(\d+)\]", rf"[[\1]](#a{turn}-s\1)", text)
    if answer.notice:
        text = f"*{html.escape(_script(answer.notice, answer))}*  \n{text}"
    if answer.decision.route == "refused":  # not a welcome or an empty message, which are refusals too
        text = f"**{_script(NOT_FOUND, answer)}**  \n{text}"
    return text


def _card(item: Citation, answer: Answer, index: PolicyIndex, turn: int, quoted: bool) -> str:
    doc = index.documents[item.doc_id]
    clause = index.clause(item.chunk_id)
    lo, hi = (clause.start, clause.end) if clause else (item.start, item.end)

    def convert(text: str) -> str:
        return _script(text, answer)

    if quoted:
        body = _marked(doc.text, lo, item.start, item.end, hi, convert)
        link = document_link(item.doc_id, item.start, item.end, answer.script, answer.variant)
    else:
        body = _lines(convert(doc.text[lo:hi]))
        link = document_link(item.doc_id, lo, hi, answer.script, answer.variant)
    also = "".join(f"<div class='muted'>{convert('同一文件另见')}：{html.escape(d['doc_id'])}</div>"
                   for d in doc.duplicates)
    return (f"<div class='source' id='a{turn}-s{item.n}'><div class='source-head'>[{item.n}] "
            f"《{html.escape(convert(item.title))}》{html.escape(convert(item.issued or ''))}</div>{also}"
            f"<div class='source-section'>{html.escape(convert(item.section or BEFORE_SECTIONS))}</div>"
            f"<div class='source-text'>{body}</div>"
            f"<a class='full-link' href='{html.escape(link)}' target='_blank'>{convert('查看全文')}</a></div>")


def _contact_line(answer: Answer) -> str:
    if not answer.contacts:
        return ""
    c = answer.contacts[0]
    who = c.get("organisation") or c["name"]
    phone = "" if c["phone"] in who else f" {_script('电话', answer)} {c['phone']}"
    label = _script("咨询", answer)
    return f"<div class='contact'>{label}：{html.escape(_script(who, answer))}{html.escape(phone)}</div>"


def plain_text(answer: Answer) -> str:
    """What the copy button copies: the answer with its [n] markers, then one 《title》section line a source."""
    items = answer.citations or answer.related
    lines = [answer.answer]
    if items:
        lines += [_script("引用来源：" if answer.citations else "相关条款：", answer)]
        lines += [_script(f"[{c.n}] 《{c.title}》{c.section or BEFORE_SECTIONS}", answer) for c in items]
    return "\n".join(lines)


def answer_message(answer: Answer, index: PolicyIndex, turn: int) -> str:
    """One chat message: the answer, its own sources right below it, and a copy button."""
    text = answer_text(answer, turn)
    items = answer.citations or answer.related
    if not items and not answer.contacts:
        return text
    heading = _script("引用来源" if answer.citations else "相关条款（供参考，不构成回答）", answer)
    heading = f"<div class='sources-title'>{heading}</div>" if items else ""
    cards = "".join(_card(item, answer, index, turn, bool(answer.citations)) for item in items)
    # One element a line: the copy script joins them with newlines (markdown rendering would fold them).
    plain = "".join(f"<span>{html.escape(line)}</span>" for line in plain_text(answer).split("\n"))
    return (f"{text}\n\n<div class='answer-sources'>{heading}{_contact_line(answer)}{cards}"
            f"<button class='copy-answer' type='button'>{_script('复制回答', answer)}</button>"
            f"<div class='plain-text'>{plain}</div></div>")


def document_page(index: PolicyIndex, doc_id: str, start: int | None, end: int | None, script: str,
                  variant: str) -> str | None:
    """A whole document as a page of its own, the quoted span marked; None for an unknown id."""
    doc = index.documents.get(doc_id)
    if doc is None:
        return None
    text = doc.text

    def convert(text: str) -> str:
        return to_traditional(text, variant) if script == "zh-Hant" else text

    if start is not None and end is not None and 0 <= start < end <= len(text):
        body = _marked(text, 0, start, end, len(text), convert, "<mark id='quote'>")
    else:
        body = _lines(convert(text))
    meta = " · ".join(str(v) for v in (doc.metadata.get("issuer"), doc.metadata.get("date")) if v)
    lang = "zh-TW" if script == "zh-Hant" else "zh-CN"
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(convert(doc.title))}</title><style>body{{max-width:820px;margin:24px auto;"
            "padding:0 16px;font:16px/1.8 sans-serif;color:#222}mark{background:#ffe58f}"
            ".meta{color:#666}</style></head><body>"
            f"<h1>{html.escape(convert(doc.title))}</h1><p class='meta'>{html.escape(convert(meta))}</p>"
            f"<div>{body}</div></body></html>")


def clause_in_context(index: PolicyIndex, chunk_id: str) -> str:
    """A clause with the clauses around it, itself highlighted: what the clause lookup shows for a row."""
    rows = index.clauses
    position = index.rows.get(chunk_id)
    if position is None:
        return ""
    clause = rows[position]
    doc = index.documents[clause.doc_id]
    neighbours = [c for c in rows[max(0, position - 1): position + 2] if c.doc_id == clause.doc_id]
    lo, hi = min(c.start for c in neighbours), max(c.end for c in neighbours)
    departments = f"<div class='contact'>{html.escape(clause.duties)}</div>" if clause.duties else ""
    body = _marked(doc.text, lo, clause.start, clause.end, hi)
    link = document_link(clause.doc_id, clause.start, clause.end)
    return (f"<div class='source'><div class='source-head'>《{html.escape(doc.title)}》</div>"
            f"<div class='source-section'>{html.escape(clause.section or BEFORE_SECTIONS)}</div>{departments}"
            f"<div class='source-text'>{body}</div>"
            f"<a class='full-link' href='{html.escape(link)}' target='_blank'>查看全文</a></div>")
