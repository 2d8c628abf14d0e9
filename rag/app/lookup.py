"""The clause lookup (条款检索): filtered search results as table rows, a clause in context, and the CSV export."""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import gradio as gr

from ..retrieve import Filters
from .present import clause_in_context
from .service import PolicyApp

RESULT_COLUMNS = ["#", "文件", "条款路径", "牵头部门", "配合部门", "条款内容", "得分"]
CSV_COLUMNS = ["#", "文件", "条款路径", "牵头部门", "配合部门", "条款内容", "得分", "chunk_id"]
PREVIEW_CHARS = 36  # clause text in the results table; the whole clause shows on click
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

    def clause_search(self, query: str, docs: list[str], region: str, level: str, section: str, k: float,
                      mode: str) -> tuple[list[list], list[str], str | None, str]:
        """The lookup's table rows (text shortened), their chunk ids, the CSV export's path (None without hits)
        and a status line."""
        if not (query or "").strip():
            return [], [], None, "请输入检索内容。"
        filters = Filters(tuple(docs or ()), (region or "").strip() or None, level or None,
                          (section or "").strip() or None)
        hits = self.app.searcher.search(query, k=int(k), mode=mode, filters=filters)
        full = [[h.rank, h.clause.title, h.clause.section, "、".join(h.clause.lead_departments),
                 "、".join(h.clause.supporting_departments), h.clause.text, round(h.score, 4), h.clause.chunk_id]
                for h in hits]
        rows = [[*row[:5], shorten(row[5]), row[6]] for row in full]
        message = f"找到 {len(rows)} 条，点击一行查看条款全文与上下文。" if rows else "没有找到符合条件的条款。"
        return rows, [h.clause.chunk_id for h in hits], (_write_csv(query, full) if full else None), message

    def clause_context(self, chunk_ids: list[str], event: gr.SelectData) -> str:
        """HTML of the clicked row's clause among its neighbours; "" for a click outside the rows."""
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        if not chunk_ids or row is None or row >= len(chunk_ids):
            return ""
        return clause_in_context(self.app.index, chunk_ids[row])
