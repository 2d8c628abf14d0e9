"""Present: answers and clauses as the app shows them.

Each chat message carries its own sources: the answer's [n] markers link to cards inside the same message
(ids scoped to the turn, so `[1]` of the first answer shows the first answer's clause). A card opens at the
quote: the quoted words highlighted in their sentence, the whole clause (and, for a clause split in parts, each
other part) a tap away, and a link to the whole document. A refusal says in one sentence that the documents do
not settle the question and whom to call, then shows its related clauses once, as cards. Every phone number is
a tel: link. A hidden plain-text copy (the answer, then its sources as 《title》section lines) is what the copy
button puts on the clipboard. Everything a Traditional-script asker reads is converted to Traditional here,
labels included.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlencode

from ..answer import Answer, Citation
from ..index import PolicyIndex
from ..ingest import Clause
from ..text import TRADITIONAL_VARIANTS, to_traditional
from .phones import document_phones, link_phones

BEFORE_SECTIONS = "（正文前）"
LEVELS = {"province": "省级", "city": "市级", "district": "区县级"}
SENTENCE_END = "。；！？;!?\n"  # the cleaned text writes ; ! ? half-width (NFKC)
OPENING_CHARS = 90  # of a related clause shown before 展开整条条款


def _lines(text: str, phones: Iterable[str] = ()) -> str:
    return link_phones(html.escape(text), phones).replace("\n", "<br>")


def _marked(text: str, lo: int, start: int, end: int, hi: int, convert: Callable[[str], str] = str,
            mark: str = "<mark>", phones: Sequence[str] = ()) -> str:
    """text[lo:hi] as HTML lines, text[start:end] inside `mark`; each part converted (script) before escaping."""
    return (_lines(convert(text[lo:start]), phones) + f"{mark}{_lines(convert(text[start:end]), phones)}</mark>"
            + _lines(convert(text[end:hi]), phones))


def document_link(doc_id: str, start: int | None = None, end: int | None = None, script: str = "zh-Hans",
                  variant: str = TRADITIONAL_VARIANTS[0]) -> str:
    """The read-only page of a whole document, the quoted span marked (served by the app at /document/)."""
    query = {k: v for k, v in {"start": start, "end": end}.items() if v is not None}
    if script == "zh-Hant":
        query.update(script=script, variant=variant)
    # Absolute: the staff desk (/staff/) links to the same pages as the citizen page.
    return f"/document/{doc_id}" + (f"?{urlencode(query)}" if query else "") + ("#quote" if start is not None else "")


def part_label(clause: Clause | None) -> str:
    """第1部分/共2部分 for a piece of a split clause ("" for a whole one): the path alone cannot tell them apart."""
    return f"第{clause.part}部分/共{clause.parts}部分" if clause and clause.parts > 1 else ""


def body_start(text: str, clause: Clause) -> int:
    """Where the clause's text starts once its own heading is left out: the card prints the heading in its path
    already ("12.推广节能低碳型交通运输工具。加快淘汰…" reads from 加快淘汰). A heading on the clause's second line
    (under a line repeating the document's title) counts too."""
    if not clause.section_path or clause.part > 1:
        return clause.start
    heading = clause.section_path[-1]
    second_line = text.find("\n", clause.start, clause.end) + 1
    at = next((i for i in (clause.start, second_line) if i and text.startswith(heading, i)), None)
    if at is None:
        return clause.start
    after = at + len(heading)
    while after < clause.end and text[after] in "。.：:，, \n":
        after += 1
    return after if after < clause.end else clause.start


def _sentence_start(text: str, lo: int, at: int) -> int:
    """The start of the sentence holding text[at], not before lo."""
    return max([lo] + [i + 1 for i in range(lo, at) if text[i] in SENTENCE_END])


def _sentence_end(text: str, at: int, hi: int) -> int:
    """The end of the sentence that text[at - 1] belongs to (its closing mark included), not after hi."""
    for i in range(max(at - 1, 0), hi):
        if text[i] in SENTENCE_END:
            return i + 1
    return hi


def quote_window(text: str, lo: int, start: int, end: int, hi: int) -> tuple[int, int]:
    """What a card shows first, within text[lo:hi]: the quote in its own sentence, so the card opens at the quote
    and it is in view without scrolling; the rest of the clause is a tap away."""
    return min(_sentence_start(text, lo, start), start), max(_sentence_end(text, end, hi), end)


def _opening(text: str, lo: int, hi: int) -> int:
    """The end of a related clause's opening: whole sentences up to OPENING_CHARS (at least one)."""
    cut = _sentence_end(text, lo + 1, hi)
    while cut < hi and _sentence_end(text, cut + 1, hi) - lo <= OPENING_CHARS:
        cut = _sentence_end(text, cut + 1, hi)
    return cut


def answer_text(answer: Answer, turn: int) -> str:
    """The answer as markdown: its [n] markers link to this turn's source cards, its phone numbers are tel:
    links, and a refusal's first sentence (the documents do not settle it) is in bold."""
    text = html.escape(answer.answer)
    if answer.decision.route == "refused":  # not a welcome or an empty message, which are refusals too
        # <strong>, not **: markdown does not close ** after "。" when a letter follows.
        lead = text.find("。") + 1
        text = f"<strong>{text[:lead]}</strong>{text[lead:]}" if lead else text
    text = link_phones(text, [c["phone"] for c in answer.contacts]).replace("\n", "  \n")
    text = re.sub(r"\[(\d+)\]", rf"[[\1]](#a{turn}-s\1)", text)
    if answer.notice:
        text = f"*{html.escape(answer.in_script(answer.notice))}*  \n{text}"
    return text


def _more(label: str, body: str, kind: str = "source-more") -> str:
    return f"<details class='{kind}'><summary>{label}</summary><div class='source-text'>{body}</div></details>"


def _other_parts(index: PolicyIndex, clause: Clause, convert: Callable[[str], str], phones: Sequence[str]) -> str:
    """Each other part of a split clause behind its own 查看第n部分 (its neighbour, on demand)."""
    position = index.rows.get(clause.chunk_id)
    if position is None or clause.parts < 2:
        return ""
    rows = index.clauses[max(0, position - clause.parts): position + clause.parts]
    parts = [c for c in rows if c.doc_id == clause.doc_id and c.section_path == clause.section_path
             and c.parts == clause.parts and c.part != clause.part]
    text = index.documents[clause.doc_id].text
    return "".join(_more(convert(f"查看第{c.part}部分"), _lines(convert(text[c.start:c.end]), phones), "source-part")
                   for c in parts)


def _card(item: Citation, answer: Answer, index: PolicyIndex, turn: int, quoted: bool) -> str:
    doc = index.documents[item.doc_id]
    clause = index.clause(item.chunk_id)
    lo, hi = (clause.start, clause.end) if clause else (item.start, item.end)
    body = body_start(doc.text, clause) if clause else lo
    body = min(body, item.start) if quoted else body
    convert, phones, text = answer.in_script, document_phones(doc), doc.text
    if quoted:
        first, last = quote_window(text, body, item.start, item.end, hi)
        shown = _marked(text, first, item.start, item.end, last, convert, phones=phones)
        whole = _marked(text, body, item.start, item.end, hi, convert, phones=phones)
        link = document_link(item.doc_id, item.start, item.end, answer.script, answer.variant)
    else:
        first, last = body, _opening(text, body, hi)
        shown, whole = _lines(convert(text[first:last]), phones), _lines(convert(text[body:hi]), phones)
        link = document_link(item.doc_id, lo, hi, answer.script, answer.variant)
    shown = ("…" if first > body else "") + shown + ("…" if last < hi else "")
    more = _more(convert("查看整条条款"), whole) if (first, last) != (body, hi) else ""
    part = part_label(clause)
    part = f"<span class='part'>（{convert(part)}）</span>" if part else ""
    also = "".join(f"<div class='muted'>{convert('同一文件另见')}：{html.escape(d['doc_id'])}</div>"
                   for d in doc.duplicates)
    return (f"<div class='source' id='a{turn}-s{item.n}'><div class='source-head'>[{item.n}] "
            f"《{html.escape(convert(item.title))}》{html.escape(convert(item.issued or ''))}</div>{also}"
            f"<div class='source-section'>{html.escape(convert(item.section or BEFORE_SECTIONS))}{part}</div>"
            f"<div class='source-quote'>{shown}</div>{more}"
            f"{_other_parts(index, clause, convert, phones) if clause else ''}"
            f"<a class='full-link' href='{html.escape(link)}' target='_blank'>{convert('查看全文')}</a></div>")


def _contact_line(answer: Answer) -> str:
    """Whom to call, when the answer's own words have not already said it."""
    if not answer.contacts or answer.contacts[0]["phone"] in answer.answer:
        return ""
    c = answer.contacts[0]
    who = c.get("organisation") or c["name"]
    phone = "" if c["phone"] in who else f" {answer.in_script('电话')} {c['phone']}"
    line = link_phones(html.escape(answer.in_script(who) + phone), [c["phone"]])
    return f"<div class='contact'>{answer.in_script('咨询')}：{line}</div>"


def plain_text(answer: Answer) -> str:
    """What the copy button copies: the answer with its [n] markers, then one 《title》section line a source."""
    items = answer.citations or answer.related
    lines = [answer.answer]
    if items:
        lines += [answer.in_script("引用来源：" if answer.citations else "相关条款：")]
        lines += [answer.in_script(f"[{c.n}] 《{c.title}》{c.section or BEFORE_SECTIONS}") for c in items]
    return "\n".join(lines)


def suggested_questions(questions: Sequence[str], heading: str, convert: Callable[[str], str] = str) -> str:
    """Questions a citizen can ask with one tap (the page's script puts each in the box and asks it), under a
    heading; "" without questions."""
    if not questions:
        return ""
    buttons = "".join(f"<button class='suggested' type='button'>{html.escape(convert(q))}</button>"
                      for q in questions)
    return f"<div class='follow-ups'><div class='sources-title'>{convert(heading)}</div>{buttons}</div>"


def topic_questions(topics: Sequence[tuple[str, Sequence[str]]], convert: Callable[[str], str] = str,
                    level: int = 3) -> str:
    """The way in: common questions grouped by topic (a document, or the staff's official answers), each topic a
    heading of `level` (one below the heading it sits under)."""
    groups = "".join(
        f"<div class='topic'><h{level} class='topic-title'>{html.escape(convert(topic))}</h{level}>"
        + "".join(f"<button class='suggested' type='button'>{html.escape(convert(q))}</button>" for q in questions)
        + "</div>" for topic, questions in topics if questions)
    return f"<div class='way-in'>{groups}</div>" if groups else ""


def answer_message(answer: Answer, index: PolicyIndex, turn: int, suggested: str = "") -> str:
    """One chat message: the answer, its own sources right below it, a copy button, then `suggested` (HTML of
    questions to ask next). The closing `answer-done` marker tells the page's script the answer is whole."""
    text = answer_text(answer, turn)
    items = answer.citations or answer.related
    done = "<span class='answer-done'></span>"
    if not items and not answer.contacts:
        return f"{text}\n\n<div class='answer-extra'>{suggested}{done}</div>"
    heading = answer.in_script("引用来源" if answer.citations else "相关条款（供参考，不构成回答）")
    heading = f"<div class='sources-title'>{heading}</div>" if items else ""
    cards = "".join(_card(item, answer, index, turn, bool(answer.citations)) for item in items)
    # One element a line: the copy script joins them with newlines (markdown rendering would fold them).
    plain = "".join(f"<span>{html.escape(line)}</span>" for line in plain_text(answer).split("\n"))
    return (f"{text}\n\n<div class='answer-sources'>{_contact_line(answer)}{heading}{cards}"
            f"<button class='copy-answer' type='button'>{answer.in_script('复制回答')}</button>"
            f"<div class='plain-text'>{plain}</div>{suggested}{done}</div>")


def document_page(index: PolicyIndex, doc_id: str, start: int | None, end: int | None, script: str,
                  variant: str) -> str | None:
    """A whole document as a page of its own, the quoted span marked, its phone numbers tel: links; None for an
    unknown id."""
    doc = index.documents.get(doc_id)
    if doc is None:
        return None
    text, phones = doc.text, document_phones(doc)

    def convert(text: str) -> str:
        return to_traditional(text, variant) if script == "zh-Hant" else text

    if start is not None and end is not None and 0 <= start < end <= len(text):
        body = _marked(text, 0, start, end, len(text), convert, "<mark id='quote'>", phones)
    else:
        body = _lines(convert(text), phones)
    meta = " · ".join(str(v) for v in (doc.metadata.get("issuer"), doc.metadata.get("date")) if v)
    lang = "zh-TW" if script == "zh-Hant" else "zh-CN"
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(convert(doc.title))}</title><style>body{{max-width:820px;margin:24px auto;"
            "padding:0 16px;font:16px/1.8 sans-serif;color:#222}mark{background:#ffe58f}"
            ".meta{color:#555}a{color:#1d4ed8}a:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}"
            "</style></head><body><main>"
            f"<h1>{html.escape(convert(doc.title))}</h1><p class='meta'>{html.escape(convert(meta))}</p>"
            f"<div>{body}</div></main></body></html>")


def clause_in_context(index: PolicyIndex, chunk_id: str) -> str:
    """A clause with the clauses around it, itself highlighted: what the clause lookup shows for a result."""
    rows = index.clauses
    position = index.rows.get(chunk_id)
    if position is None:
        return ""
    clause = rows[position]
    doc = index.documents[clause.doc_id]
    neighbours = [c for c in rows[max(0, position - 1): position + 2] if c.doc_id == clause.doc_id]
    lo, hi = min(c.start for c in neighbours), max(c.end for c in neighbours)
    departments = f"<div class='contact'>{html.escape(clause.duties)}</div>" if clause.duties else ""
    body = _marked(doc.text, lo, clause.start, clause.end, hi, phones=document_phones(doc))
    link = document_link(clause.doc_id, clause.start, clause.end)
    part = f"<span class='part'>（{part_label(clause)}）</span>" if clause.parts > 1 else ""
    return (f"<div class='source'><div class='source-head'>《{html.escape(doc.title)}》</div>"
            f"<div class='source-section'>{html.escape(clause.section or BEFORE_SECTIONS)}{part}</div>{departments}"
            f"<div class='source-text'>{body}</div>"
            f"<a class='full-link' href='{html.escape(link)}' target='_blank'>查看全文</a></div>")
