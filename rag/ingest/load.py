"""Load: corpus files as published -> decoded text plus catalogue metadata.

Reads `.txt`, `.md` and `.html` files, detecting their encoding (UTF-8, UTF-8 with BOM, UTF-16 with BOM,
GB18030/GBK and what charset-normalizer recognises), the text layer of `.pdf` files (pypdf) and the
paragraphs and tables of `.docx` files (python-docx). Empty, oversized, binary, undecodable, scanned
(image-only) or malformed files raise a `LoadError` that names the file and says what is wrong, so the
caller can skip it and go on.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import yaml
from bs4 import BeautifulSoup

SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
# A scanned page has no text layer; a page of real policy text has hundreds of characters.
MIN_CHARS_PER_PDF_PAGE = 20
# A .docx is a zip: refuse one that would inflate past this (a zip bomb) before python-docx opens it.
MAX_DOCX_UNZIPPED_BYTES = 200 * 1024 * 1024
CATALOG_NAMES = ("catalog.yaml", "catalog.yml")
# Folder notes that travel with a corpus but are not policy documents.
NOT_DOCUMENTS = {"index.md", "readme.md"}

# Elements of a web page that never carry policy text.
HTML_NOISE = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "button")
HTML_BLOCKS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "br", "section", "article", "td")


class LoadError(Exception):
    """A corpus file that cannot be read as a policy document."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    @property
    def chinese(self) -> str:
        """The reason as a citizen or official reads it: the Chinese part, without the bracketed detail."""
        return self.reason.split(" (", 1)[0]


@dataclass(frozen=True)
class RawDocument:
    """A corpus file as read: its id, path, decoded text, encoding, format and catalogue entry."""

    doc_id: str
    path: Path
    text: str  # decoded, otherwise untouched (HTML already reduced to its text)
    encoding: str
    format: str  # txt | md | html | pdf | docx
    catalog: dict = field(default_factory=dict)  # title, issuer, region, level, date, type, ...


def doc_id_for(path: Path) -> str:
    """The file stem: stable across rebuilds and readable in citations.

    Also a safe file name for uploads: only letters, digits, CJK, `_ . -`; no leading dot (hidden files
    are not indexed), no path separators, at most 80 characters.
    """
    stem = unicodedata.normalize("NFKC", Path(path).stem)
    return re.sub(r"[^0-9A-Za-z_.\-\u4e00-\u9fff]+", "-", stem).strip("-.")[:80].strip("-.") or "document"


def _plausible_text(text: str) -> bool:
    """True when a decoding looks like prose rather than bytes forced into characters."""
    if not text.strip():
        return False
    sample = text[:20000]
    bad = sum(
        1
        for ch in sample
        if (unicodedata.category(ch) in ("Cc", "Co", "Cs", "Cn") and ch not in "\t\n\r\f")
        or ch == "\ufffd"
    )
    return bad / len(sample) < 0.01


def _mostly_chinese(text: str) -> bool:
    visible = [ch for ch in text[:20000] if not ch.isspace()]
    chinese = sum(1 for ch in visible if "\u4e00" <= ch <= "\u9fff")
    return bool(visible) and chinese / len(visible) >= 0.2


def decode_bytes(data: bytes, path: Path) -> tuple[str, str]:
    """Decode a file's bytes, or raise LoadError naming what is wrong."""
    if not data.strip():
        raise LoadError(path, "文件为空 (empty file)")
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif b"\x00" in data[:8192]:
        raise LoadError(path, "二进制文件，不是文本 (binary file: NUL bytes)")
    else:
        # Government files are UTF-8 or GB18030 (a superset of GBK and GB2312) nearly always; try them
        # strictly first, then let charset-normalizer name anything else.
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _plausible_text(text):
            return text, encoding
    # Anything else must still read as Chinese: Cyrillic or Latin mojibake of random bytes is not a policy.
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and _plausible_text(str(best)) and _mostly_chinese(str(best)):
        return str(best), best.encoding
    raise LoadError(path, "无法识别文件编码 (undecodable: not UTF-8, GB18030 or any encoding recognised)")


def html_to_text(html: str) -> tuple[str, str | None]:
    """Visible text of a page, one block a line, with scripts, styles and navigation dropped."""
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    for tag in soup(HTML_NOISE):
        tag.decompose()
    for tag in soup.find_all(HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    body = soup.body or soup
    text = body.get_text()
    return text, title or None


def read_catalog(directory: Path) -> dict[str, dict]:
    """File name -> catalogue fields from the folder's catalog.yaml (or .yml); {} when it has none."""
    for name in CATALOG_NAMES:
        path = directory / name
        if path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise LoadError(path, "目录文件格式错误 (catalog must map file names to fields)")
            return {str(k): dict(v or {}) for k, v in data.items()}
    return {}


def pdf_text(path: Path) -> str:
    """The text layer of a PDF, page by page; a scanned (image-only) PDF is refused, not indexed empty."""
    import pypdf

    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(path, "PDF 已加密，无法读取 (encrypted PDF)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except Exception as exc:  # a damaged PDF makes the parser raise nearly anything; one file must not stop a run
        raise LoadError(path, f"PDF 文件已损坏 (malformed PDF: {type(exc).__name__}: {exc})") from exc
    visible = sum(len("".join(page.split())) for page in pages)
    if not pages or visible < MIN_CHARS_PER_PDF_PAGE * len(pages):
        raise LoadError(path, f"扫描版 PDF，没有文字层，需先做文字识别 (scanned PDF: {len(pages)} pages, "
                              f"{visible} characters of text; run OCR first)")
    return "\n".join(pages)


def docx_text(path: Path) -> str:
    """Paragraphs and table rows of a Word file, in document order."""
    import docx
    from docx.document import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoadError(path, f"不是有效的 Word 文件 (not a .docx zip: {exc})") from exc
    if inflated > MAX_DOCX_UNZIPPED_BYTES:
        raise LoadError(path, f"Word 文件解压后过大，疑似压缩炸弹 (unzips to {inflated / 1e6:.0f} MB)")
    try:
        document: Document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises many kinds (KeyError, ValueError, lxml errors) on bad files
        raise LoadError(path, f"Word 文件已损坏 (malformed .docx: {type(exc).__name__}: {exc})") from exc
    lines = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            lines += ["\t".join(cell.text for cell in row.cells) for row in block.rows]
    return "\n".join(lines)


def load_document(path: Path, catalog: dict | None = None, max_bytes: int | None = None) -> RawDocument:
    """The file read as text (by its suffix: PDF, Word, HTML or plain), or a LoadError saying why not."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(path, f"无法读取 (cannot read: {exc.strerror or exc})") from exc
    if max_bytes is not None and size > max_bytes:
        raise LoadError(path, f"文件过大 (file too large: {size / 1024 / 1024:.1f} MB, limit "
                              f"{max_bytes / 1024 / 1024:.0f} MB)")
    fmt = path.suffix.lower().lstrip(".")
    entry = dict(catalog or {})
    if fmt in ("pdf", "docx"):
        text = pdf_text(path) if fmt == "pdf" else docx_text(path)
        if not text.strip():
            raise LoadError(path, "文件为空 (no text in the document)")
        return RawDocument(doc_id_for(path), path, text, "", fmt, entry)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(path, f"无法读取 (cannot read: {exc.strerror or exc})") from exc
    text, encoding = decode_bytes(data, path)
    if fmt in ("html", "htm"):
        fmt = "html"
        text, page_title = html_to_text(text)
        if page_title and "title" not in entry:
            entry["page_title"] = page_title
        if not text.strip():
            raise LoadError(path, "网页中没有正文 (HTML page has no visible text)")
    return RawDocument(doc_id_for(path), path, text, encoding, fmt, entry)
