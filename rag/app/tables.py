"""Tables that fit both a desktop and a phone: a real table at 1366 px, a card a row at 390 px.

Each cell carries its column's name in a span the style sheet shows only in the phone layout, so a card reads
条款数 12 without a header row above it (a table's header cannot follow a row laid out as a card). Cells are
HTML the caller has escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence


def cell(label: str, content: str, kind: str = "") -> str:
    """One cell: the column name for the phone layout, then the (already escaped) content."""
    css = f" class='{kind}'" if kind else ""
    return f"<td{css}><span class='cell-label'>{html.escape(label)}</span>{content}</td>"


def table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]], kinds: Sequence[str] = ()) -> str:
    """A table with a caption (its accessible name), column headers and one row a record; `kinds` gives each
    column a class (its width on a desktop)."""
    kinds = list(kinds) or [""] * len(headers)
    head = "".join(f"<th scope='col' class='{k}'>{html.escape(h)}</th>" for h, k in zip(headers, kinds))
    body = "".join("<tr>" + "".join(cell(h, c, k) for h, c, k in zip(headers, row, kinds)) + "</tr>"
                   for row in rows)
    return (f"<table class='fits'><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")
