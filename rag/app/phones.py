"""Phone numbers as `tel:` links, so a citizen on a phone calls with one tap instead of copying digits by hand.

Only numbers known to be consulting lines are linked: the ones an answer names as its contacts (the general
hotline included), the lines a document lists (a person's own mobile left out, as everywhere), and any landline
written with its area code and a dash (0792-4357300), which nothing else in a policy text looks like. A bare
12345 or an 11-digit number inside a clause stays text unless it is one of those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..answer.sources import is_private
from ..index import DocumentRecord

LANDLINE = r"0\d{2,3}-\d{7,8}"


def tel_href(phone: str) -> str:
    """The tel: address of a number as written (separators dropped, a leading + kept)."""
    return "tel:" + re.sub(r"[^\d+]", "", phone)


def document_phones(document: DocumentRecord) -> list[str]:
    """The consulting lines a document lists, a person's own mobile left out."""
    return [c.phone for c in document.contact_list if not is_private(c)]


def link_phones(escaped: str, phones: Iterable[str] = ()) -> str:
    """HTML-escaped text with each known phone number, and each dashed landline, wrapped in a tel: link."""
    known = sorted({re.escape(p) for p in phones if p}, key=len, reverse=True)
    pattern = re.compile(rf"(?<![\d-])({'|'.join([*known, LANDLINE])})(?!\d)")
    return pattern.sub(lambda m: f"<a class='tel' href='{tel_href(m.group(1))}'>{m.group(1)}</a>", escaped)
