"""The clause lookup (条款检索): filtered search results as a table (cards on a phone), each clause in context on
demand, and the CSV export."""

from __future__ import annotations

import csv
import html
import re
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from ..index import PolicyIndex
from ..ingest import Clause
from ..retrieve import Filters, Hit
from .present import BEFORE_SECTIONS, clause_in_context, document_link, part_label
from .service import PolicyApp
from .tables import table

RESULT_COLUMNS = ["#", "文件", "条款路径", "牵头部门", "配合部门", "条款内容"]
CSV_COLUMNS = ["#", "文件", "条款路径", "牵头部门", "配合部门", "条款内容", "chunk_id"]
PREVIEW_CHARS = 60  # clause text in the results table; the whole clause shows on demand
EXPORTS = Path(tempfile.gettempdir()) / "policy-rag-exports"
EXPORT_TTL_S = 3600


def _csv_name(query: str) -> str:
    """条款检索_<query>_<date>.csv: the query kept to letters, digits and CJK, so the name is a safe file name."""
    words = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "-", query).strip("-")[:30] or "检索"
    return f"条款检索_{words}_{datetime.now():%Y%m%d}.csv"


def _cell(value):
    """A CSV cell a spreadsheet will not run: text starting with = + - @ is prefixed with an apostrophe."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def _write_csv(query: str, rows: list[list]) -> str:
    """One folder for every export, emptied of files older than an hour, so searches do not fill the disk."""
    EXPORTS.mkdir(exist_ok=True)
    for old in EXPORTS.glob("*/*.csv"):
        if time.time() - old.stat().st_mtime > EXPORT_TTL_S:
            shutil.rmtree(old.parent, ignore_errors=True)
    path = Path(tempfile.mkdtemp(dir=EXPORTS)) / _csv_name(query)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([[_cell(v) for v in row] for row in rows])
    return str(path)


def shorten(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The text on one line, cut to `limit` characters with an ellipsis: a table cell, the whole text a click away."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


class ClauseLookup:
    """The lookup's handlers, over the app's current searcher (so a reload after a publish is seen at once)."""

    def __init__(self, app: PolicyApp):
        self.app = app

    def search(self, query: str, docs: list[str], region: str, level: str, section: str, k: float,
               mode: str) -> list[Hit]:
        """The clauses the filters allow, best first ([] for an empty query)."""
        if not (query or "").strip():
            return []
        filters = Filters(tuple(docs or ()), (region or "").strip() or None, level or None,
                          (section or "").strip() or None)
        return self.app.searcher.search(query, k=int(k), mode=mode, filters=filters)

    def clause_search(self, query: str, docs: list[str], region: str, level: str, section: str, k: float,
                      mode: str) -> tuple[str, str | None, str]:
        """The results as a table that turns into cards on a phone, the CSV export's path (None without hits)
        and a status line. Results are in order of relevance; no fusion score is shown (it means nothing to a
        reader)."""
        if not (query or "").strip():
            return "", None, "请输入检索内容。"
        hits = self.search(query, docs, region, level, section, k, mode)
        if not hits:
            return "", None, "没有找到符合条件的条款。"
        full = [[h.rank, h.clause.title, path_with_part(h.clause), "、".join(h.clause.lead_departments),
                 "、".join(h.clause.supporting_departments), h.clause.text, h.clause.chunk_id] for h in hits]
        message = f"找到 {len(hits)} 条，按相关程度排列；点“查看条款全文与上下文”展开一条。"
        return results_table(hits, self.app.index), _write_csv(query, full), message


def path_with_part(clause: Clause) -> str:
    """The clause's path, with 第1部分/共2部分 when it is a piece of a split clause (the path alone repeats)."""
    part = part_label(clause)
    return (clause.section or BEFORE_SECTIONS) + (f"（{part}）" if part else "")


def results_table(hits: list[Hit], index: PolicyIndex) -> str:
    """The lookup's results: the document's title opening it at the clause, the path, 牵头/配合, a preview and
    the clause in context on demand."""
    rows = []
    for h in hits:
        c = h.clause
        link = html.escape(document_link(c.doc_id, c.start, c.end))
        context = (f"<details class='source-more'><summary>查看条款全文与上下文</summary>"
                   f"{clause_in_context(index, c.chunk_id)}</details>")
        rows.append([str(h.rank), f"<a href='{link}' target='_blank'>{html.escape(c.title)}</a>",
                     html.escape(path_with_part(c)), html.escape("、".join(c.lead_departments) or "—"),
                     html.escape("、".join(c.supporting_departments) or "—"),
                     f"<div>{html.escape(shorten(c.text))}</div>{context}"])
    return table("条款检索结果（按相关程度排列）", RESULT_COLUMNS, rows,
                 ["col-rank", "col-title", "col-path", "col-dept", "col-dept", "col-text"])
