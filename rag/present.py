"""Present: answers and clauses as the app shows them — markdown with linked [n] markers, the sources panel
(each clause in its surrounding text, the quoted sentence highlighted, the full document one click away)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from .answering import Answer
from .index import PolicyIndex
from .textnorm import to_traditional

NOT_FOUND = "现有政策文件中未找到"


def _script(text: str, answer: Answer) -> str:
    return to_traditional(text, answer.variant) if answer.script == "zh-Hant" else text


def answer_markdown(answer: Answer) -> str:
    """The chat message: [n] markers link to the matching entry of the sources panel."""
    text = html.escape(answer.answer).replace("\n", "  \n")
    text = re.sub(r"\[(\d+)\]", r"[[\1]](#source-\1)", text)
    if answer.notice:
        text = f"*{html.escape(_script(answer.notice, answer))}*  \n{text}"
    if answer.refused and not answer.why.get("empty_question"):
        return f"**{_script(NOT_FOUND, answer)}**  \n{text}"
    return text


def _highlight(document: str, start: int, end: int, context_start: int, context_end: int) -> str:
    before = html.escape(document[context_start:start])
    quote = html.escape(document[start:end])
    after = html.escape(document[end:context_end])
    return f"{before}<mark>{quote}</mark>{after}".replace("\n", "<br>")


def sources_html(answer: Answer, index: PolicyIndex) -> str:
    """One card per citation (or per related clause for a refusal)."""
    if not answer.citations and not answer.related:
        return "<p class='muted'>提问后，这里显示回答所引用的政策原文。</p>"
    cards = []
    heading = "相关条款（供参考，不构成回答）" if answer.refused else "引用来源"
    for item in answer.citations or answer.related:
        doc = index.documents[item.doc_id]
        clause = index.clause(item.chunk_id)
        lo, hi = (clause.start, clause.end) if clause else (item.start, item.end)
        body = _highlight(doc.text, item.start, item.end, lo, hi) if answer.citations else \
            html.escape(doc.text[lo:hi]).replace("\n", "<br>")
        title = html.escape(_script(item.title, answer))
        section = html.escape(_script(item.section or "（正文前）", answer))
        full = html.escape(doc.text).replace("\n", "<br>")
        also = "".join(f"<div class='muted'>同一文件另见：{html.escape(Path(d['path']).name)}</div>"
                       for d in doc.duplicates)
        cards.append(
            f"<div class='source' id='source-{item.n}'><div class='source-head'>[{item.n}] 《{title}》</div>{also}"
            f"<div class='source-section'>{section}</div><div class='source-text'>{body}</div>"
            f"<details><summary>查看全文</summary><div class='full-text'>{full}</div></details></div>"
        )
    contacts = ""
    if answer.contacts:
        c = answer.contacts[0]
        who = html.escape(c.get("organisation") or c["name"])
        contacts = f"<div class='contact'>咨询：{who} 电话 {html.escape(c['phone'])}</div>"
    return f"<h4>{heading}</h4>{contacts}{''.join(cards)}"


def clause_in_context(index: PolicyIndex, chunk_id: str) -> str:
    """A clause with the clauses around it, itself highlighted: what staff see when they pick a result."""
    rows = index.clauses
    position = index.rows.get(chunk_id)
    if position is None:
        return ""
    clause = rows[position]
    doc = index.documents[clause.doc_id]
    neighbours = [c for c in rows[max(0, position - 1): position + 2] if c.doc_id == clause.doc_id]
    lo, hi = min(c.start for c in neighbours), max(c.end for c in neighbours)
    departments = ""
    if clause.lead_departments or clause.supporting_departments:
        departments = (f"<div class='contact'>牵头：{html.escape('、'.join(clause.lead_departments) or '—')}；"
                       f"配合：{html.escape('、'.join(clause.supporting_departments) or '—')}</div>")
    return (f"<div class='source'><div class='source-head'>《{html.escape(doc.title)}》</div>"
            f"<div class='source-section'>{html.escape(clause.section or '（正文前）')}</div>{departments}"
            f"<div class='source-text'>{_highlight(doc.text, clause.start, clause.end, lo, hi)}</div></div>")
