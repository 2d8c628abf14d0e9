"""Documents as staff have them: PDF (text layer) and Word files, scanned PDFs, near-duplicate copies."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from rag.ingest import load as documents
from rag.ingest.duplicates import DuplicateFinder, jaccard, shingles
from rag.ingest.load import LoadError, doc_id_for, load_document
from rag.ingest.pipeline import ingest, ingest_file

from ..conftest import CORPUS, EXTRA, SEEDS


def _lines(text: str, width: int = 38) -> list[str]:
    """The published text wrapped the way a PDF page wraps it: fixed width, breaks mid-sentence."""
    out = []
    for line in text.splitlines():
        out += [line[i:i + width] for i in range(0, len(line), width)] or [""]
    return out


def write_pdf(path: Path, lines: list[str]) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # a standard CJK font: nothing to embed
    page = canvas.Canvas(str(path), pagesize=A4)
    y = 800
    for line in lines:
        if y < 60:
            page.showPage()
            y = 800
        page.setFont("STSong-Light", 11)
        page.drawString(40, y, line)
        y -= 16
    page.showPage()
    page.save()
    return path


def _clause_texts(doc) -> list[tuple[str, str]]:
    return [(c.section, "".join(c.text.split())) for c in doc.clauses]


@pytest.fixture(scope="module")
def huaiyin(seeds):
    return seeds[SEEDS["huaiyin"]]


def test_pdf_text_layer_gives_the_same_clauses_as_the_text_file(tmp_path, huaiyin):
    # The policy as a PDF would carry it: its text (not the web page's pinyin annotations), wrapped.
    pdf = write_pdf(tmp_path / "huaiyin.pdf", _lines(huaiyin.document.text))
    doc = ingest_file(pdf)
    assert [s for s, _ in _clause_texts(doc)] == [s for s, _ in _clause_texts(huaiyin)]
    # Line breaks inside sentences are PDF layout, not text: the clause text is the same, spaces aside.
    assert _clause_texts(doc) == _clause_texts(huaiyin)
    assert any("0531-87589586" in c.text for c in doc.clauses)


def test_scanned_pdf_is_reported_not_indexed_empty(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    page = canvas.Canvas(str(path))
    page.rect(50, 50, 400, 600, fill=1)  # an image-only page: no text layer
    page.showPage()
    page.save()
    with pytest.raises(LoadError, match="扫描版 PDF") as error:
        load_document(path)
    assert error.value.path == path
    report = ingest([tmp_path])
    assert not report.documents and "scanned PDF" in report.skipped[0].reason


def test_docx_paragraphs_and_tables_in_document_order(tmp_path, huaiyin):
    import docx

    word = docx.Document()
    for line in huaiyin.document.text.splitlines():
        word.add_paragraph(line)
    table = word.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "联系人", "电话"
    table.cell(1, 0).text, table.cell(1, 1).text = "刘峰", "0531-87589586"
    word.save(tmp_path / "huaiyin.docx")
    doc = ingest_file(tmp_path / "huaiyin.docx")
    assert _clause_texts(doc)[:-1] == _clause_texts(huaiyin)[:-1]
    assert doc.clauses[-1].text.endswith("\n联系人电话\n刘峰0531-87589586")  # the table, row by row


@pytest.mark.parametrize("name,data,reason", [
    ("fake.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ("fake.docx", b"PK\x03\x04 not a zip at all", "Word"),
    ("renamed.txt", bytes(range(256)) * 64, "二进制"),
])
def test_malformed_files_are_refused_with_a_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load_document(path)


def test_a_zip_bomb_docx_is_refused_before_it_is_inflated(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "MAX_DOCX_UNZIPPED_BYTES", 1_000_000)
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 5_000_000)  # 5 MB of zeros compress to ~5 KB
    assert path.stat().st_size < 50_000
    with pytest.raises(LoadError, match="压缩炸弹"):
        load_document(path)


def test_an_oversized_file_is_skipped_and_the_rest_indexed(tmp_path):
    from rag.config import Settings

    (tmp_path / "big.txt").write_bytes(("一、总则\n" + "政策文本。" * 120_000).encode("utf-8"))  # ~1.8 MB
    (tmp_path / "small.txt").write_text((CORPUS / f"{SEEDS['huaiyin']}.txt").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    report = ingest([tmp_path], Settings(max_file_mb=1))
    assert [d.document.doc_id for d in report.documents] == ["small"]
    assert "file too large" in report.skipped[0].reason and report.skipped[0].path.endswith("big.txt")


@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd.txt", "passwd"),
    ("..\\..\\x.txt", "x"),  # a Windows path is one odd name on Linux
    (".hidden.txt", "hidden"),
    ("成都　政策（２０２２）.txt", "成都-政策-2022"),
    ("\u202eevil\u200b.txt", "evil"),
    ("a" * 300 + ".txt", "a" * 80),
    ("...txt", "document"),
])
def test_upload_names_become_safe_ids(name, expected):
    assert doc_id_for(Path(name)) == expected


def test_near_duplicate_pairs_of_corpus_extra_are_found_and_nothing_else(extra_report):
    finder = DuplicateFinder()
    found = {}
    for doc in extra_report.documents:
        same = finder.check(doc.document.doc_id, doc.document.text)
        if same:
            found[doc.document.doc_id] = same[0]
    assert found == {
        "heilongjiang_eco_dept_carbon_rolling_plan_b": "heilongjiang_eco_dept_carbon_rolling_plan_a",
        "ncp2020_beijing_epidemic_support_measures_b": "ncp2020_beijing_epidemic_support_measures_a",
    }


def test_finding_a_duplicate_remembers_nothing_and_can_leave_a_document_out(extra_report):
    # How the staff desk checks an upload against the index: the build's rule, without adding the upload.
    docs = {d.document.doc_id: d.document.text for d in extra_report.documents}
    a, b = "heilongjiang_eco_dept_carbon_rolling_plan_a", "heilongjiang_eco_dept_carbon_rolling_plan_b"
    finder = DuplicateFinder()
    finder.add(a, docs[a])
    kept, similarity = finder.find(docs[b])
    assert kept == a and similarity >= 0.6
    assert finder.find(docs[b], exclude=a) is None  # re-uploading a document is not its own duplicate
    assert set(finder.sets) == {a}
    assert finder.find(docs["law_market_entity_registration_rules"]) is None
    # A long-lived finder (the index's, for uploads) keeps signatures only and reads texts when it must.
    lean = DuplicateFinder(texts=docs.__getitem__)
    lean.add(a, docs[a])
    assert not lean.sets and lean.find(docs[b]) == (kept, similarity)


def test_a_regulation_and_its_implementing_rules_are_not_duplicates(extra_report):
    docs = {d.document.doc_id: d.document.text for d in extra_report.documents}
    a = shingles(docs["law_market_entity_registration_regulation"])
    b = shingles(docs["law_market_entity_registration_rules"])
    assert jaccard(a, b) < 0.3


@pytest.mark.model
def test_a_duplicate_is_indexed_once_with_both_sources(tmp_path, embedder):
    from rag.config import Settings
    from rag.index import PolicyIndex, build_index

    if not EXTRA.is_dir():
        pytest.skip("../shared/corpus-extra is not beside the project")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for suffix in ("a", "b"):
        name = f"ncp2020_beijing_epidemic_support_measures_{suffix}.txt"
        (corpus / name).write_bytes((EXTRA / name).read_bytes())
    folder = tmp_path / "index"
    report = build_index([corpus], folder, Settings(index_dir=folder), lambda: embedder)
    index = PolicyIndex.load(folder)
    assert list(index.documents) == ["ncp2020_beijing_epidemic_support_measures_a"]
    assert {c.doc_id for c in index.clauses} == {"ncp2020_beijing_epidemic_support_measures_a"}
    [dup] = report.duplicates
    assert dup.kept == "ncp2020_beijing_epidemic_support_measures_a" and dup.similarity >= 0.9
    [source] = index.documents[dup.kept].duplicates
    assert source["path"].endswith("_b.txt")
    assert index.manifest["files"][dup.path]["duplicate_of"] == dup.kept
    assert all(len(f["content_hash"]) == 64 for f in index.manifest["files"].values())  # the eval signature reads them


def test_an_encrypted_pdf_is_refused_with_its_reason(tmp_path, huaiyin):
    import pypdf

    plain = write_pdf(tmp_path / "plain.pdf", _lines(huaiyin.document.text)[:20])
    writer = pypdf.PdfWriter(clone_from=str(plain))
    writer.encrypt("secret")
    writer.write(tmp_path / "locked.pdf")
    with pytest.raises(LoadError, match="已加密"):
        load_document(tmp_path / "locked.pdf")
