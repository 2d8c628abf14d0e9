"""Loading: encodings, formats, bad files, the catalogue, the `chunks` command, and corpus-extra."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.ingest.load import LoadError, decode_bytes, load_document
from rag.ingest.pipeline import IngestedDocument, Skipped, Unchanged, ingest, ingest_corpus, ingest_file

from ..conftest import CORPUS, SEEDS, raw

RUIJIN = CORPUS / f"{SEEDS['ruijin']}.txt"


@pytest.fixture
def ruijin_text(seeds) -> str:
    return seeds[SEEDS["ruijin"]].document.text


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030"), ("utf-16", "utf-16")]
)
def test_encodings_give_the_same_clean_text(tmp_path, ruijin_text, encoding, expected):
    path = tmp_path / "ruijin-carbon-peak-plan.txt"
    path.write_bytes(raw("ruijin").encode(encoding))
    ingested = ingest_file(path)
    assert ingested.document.encoding == expected
    assert ingested.document.text == ruijin_text


def test_html_goes_through_a_parser_and_drops_scripts_and_navigation(tmp_path):
    paragraphs = raw("gongqingcheng").split("\n")
    body = "".join(f"<p>{line}</p>" for line in paragraphs if line.strip())
    html = (
        "<html><head><title>共青城市碳达峰试点建设实施方案解读</title><script>var tracker = '一、脚本';</script>"
        "<style>p { color: red }</style></head><body><nav>首页 | 政务公开 | 一、导航</nav>"
        f"<div class='content'>{body}</div><footer>主办单位：共青城市人民政府</footer></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    doc = ingest_file(path).document
    assert doc.title == "共青城市碳达峰试点建设实施方案解读"
    assert not any(noise in doc.text for noise in ("tracker", "导航", "color", "主办单位"))
    assert "咨询电话:0792-4357300" in doc.text
    assert doc.contacts[0].phone == "0792-4357300"


def test_markdown_headings_are_read(tmp_path):
    path = tmp_path / "rules.md"
    path.write_text("# 示例条例\n\n## 第一章 总则\n\n第一条 为了规范管理，制定本条例。\n\n第二条 本条例适用于本市。\n",
                    encoding="utf-8")
    ingested = ingest_file(path)
    assert [c.section for c in ingested.clauses] == ["第一章 总则 › 第一条", "第一章 总则 › 第二条"]
    # The title line alone would be a clause that matches everything and answers nothing: it joins the first.
    assert ingested.clauses[0].text == "示例条例\n第一章总则\n第一条为了规范管理，制定本条例。"


def test_bad_files_are_reported_and_the_rest_is_indexed(tmp_path):
    shutil.copy(RUIJIN, tmp_path / RUIJIN.name)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text(" \n\n ", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp_path / "garbled.txt").write_bytes(bytes([0x81, 0x20, 0xFE, 0x0A, 0xFF, 0x30, 0x81]) * 40)
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4 binary")
    (tmp_path / "slides.pptx").write_bytes(b"PK\x03\x04")
    (tmp_path / "notes.txt").write_text("这是一段没有任何编号标题的说明文字。\n第二段也没有标题。", encoding="utf-8")
    report = ingest([tmp_path])
    reasons = {s.path.split("/")[-1]: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "blank.txt", "image.txt", "garbled.txt", "scan.pdf", "slides.pptx"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["image.txt"]
    assert "undecodable" in reasons["garbled.txt"] and "malformed PDF" in reasons["scan.pdf"]
    assert "unsupported" in reasons["slides.pptx"]
    assert {d.document.doc_id for d in report.documents} == {"ruijin-carbon-peak-plan", "notes"}
    assert report.unstructured == ["notes"]
    (notes,) = [d for d in report.documents if d.document.doc_id == "notes"]
    assert notes.clauses[0].text.startswith("这是一段没有任何编号标题的说明文字。")


def test_the_corpus_stream_skips_known_files_and_second_copies_of_an_id(tmp_path):
    # The index build reads this stream: a known hash is not parsed again; an id seen twice is skipped once.
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
    shutil.copy(RUIJIN, first / RUIJIN.name)
    shutil.copy(CORPUS / f"{SEEDS['huaiyin']}.txt", first)
    shutil.copy(RUIJIN, second / RUIJIN.name)  # the same id in another folder
    items = list(ingest_corpus([first, second]))
    parsed = [i for i in items if isinstance(i, IngestedDocument)]
    assert [i.doc_id for i in parsed] == [SEEDS["huaiyin"], RUIJIN.stem]
    assert all(len(i.content_hash) == 64 for i in parsed)
    (again,) = [i for i in items if isinstance(i, Skipped)]
    assert again.path == str(second / RUIJIN.name) and "duplicate document id" in again.reason
    known = {parsed[1].doc_id: parsed[1].content_hash, parsed[0].doc_id: "an older hash"}
    items = list(ingest_corpus([first], known=known))
    assert [type(i) for i in items] == [IngestedDocument, Unchanged]
    assert items[1] == Unchanged(RUIJIN.stem, str(first / RUIJIN.name), parsed[1].content_hash)


def test_a_corpus_file_over_the_size_limit_is_refused_without_being_read(tmp_path, monkeypatch):
    from pathlib import Path

    from rag.config import Settings

    shutil.copy(RUIJIN, tmp_path / RUIJIN.name)
    big = tmp_path / "big.txt"
    big.write_text("碳达峰。" * 400_000, encoding="utf-8")  # 4.8 MB against a 1 MB limit
    read = Path.read_bytes

    def read_bytes(path):
        assert path.name != "big.txt", "an over-limit file was read whole"
        return read(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    items = list(ingest_corpus([tmp_path], Settings(max_file_mb=1)))
    (skipped,) = [i for i in items if isinstance(i, Skipped)]
    assert skipped.path.endswith("big.txt") and skipped.reason.startswith("文件过大")
    assert [i.doc_id for i in items if isinstance(i, IngestedDocument)] == [RUIJIN.stem]


def test_undecodable_error_names_the_file(tmp_path):
    path = tmp_path / "garbled.txt"
    with pytest.raises(LoadError) as error:
        decode_bytes(bytes([0x81, 0x20, 0xFE, 0x0A]) * 50, path)
    assert str(path) in str(error.value)


def test_catalogue_fields_reach_document_metadata(seeds):
    doc = seeds[SEEDS["huaiyin"]].document
    assert doc.metadata["level"] == "district" and doc.metadata["region"] == "山东省济南市槐荫区"
    assert seeds[SEEDS["ruijin"]].document.metadata["date"] == "2023-08-23"
    assert all(doc.document.metadata.get("type") in ("实施方案", "实施意见", "解读") for doc in seeds.values())


def test_corpus_files_are_the_seeds_byte_for_byte():
    import hashlib

    shared = CORPUS.parent.parent / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("../shared/seeds is not beside the project")
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert sorted(map(digest, CORPUS.glob("*.txt"))) == sorted(map(digest, shared.glob("*.txt")))


def test_load_document_keeps_the_raw_text():
    doc = load_document(RUIJIN)
    assert doc.text == raw("ruijin") and doc.format == "txt" and doc.doc_id == "ruijin-carbon-peak-plan"


def test_chunks_command_prints_json_lines_and_a_summary(tmp_path, seeds):
    shutil.copy(RUIJIN, tmp_path / RUIJIN.name)
    (tmp_path / "empty.txt").write_bytes(b"")
    result = CliRunner().invoke(app, ["chunks", "--corpus", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"chunk_id", "doc_id", "title", "section", "text", "start", "end"} <= set(lines[0])
    assert any(line["section"] == "三、重点任务 › (二)工业领域碳达峰行动 › 2.推动建材行业碳达峰" for line in lines)
    assert len(lines) == len(seeds[SEEDS["ruijin"]].clauses)
    assert f"clauses: {len(lines)}" in result.stderr and "empty.txt" in result.stderr


def test_chunks_command_fails_clearly_on_a_missing_folder(tmp_path):
    result = CliRunner().invoke(app, ["chunks", "--corpus", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "nowhere" in result.stderr and "not found" in result.stderr


def test_all_of_corpus_extra_goes_through(extra_report):
    assert not extra_report.skipped, extra_report.skipped
    assert len(extra_report.documents) == 93
    assert len(extra_report.clauses) > 2000
    # Only the two news summaries have no numbered structure.
    assert sorted(extra_report.unstructured) == ["baotou_green_lowcarbon_city_plan_news",
                                                 "zhejiang_finance_carbon_guideline_news"]
    for doc in extra_report.documents:
        for clause in doc.clauses:
            assert doc.document.text[clause.start : clause.end] == clause.text


def test_a_skipped_file_is_an_immutable_record_of_its_path_and_reason(tmp_path):
    import dataclasses

    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "ok.txt").write_text(raw("ruijin"), encoding="utf-8")
    report = ingest([tmp_path])
    (skipped,) = report.skipped
    assert isinstance(skipped, Skipped) and skipped.path.endswith("empty.txt")
    assert skipped.reason.startswith("文件为空") and [d.document.doc_id for d in report.documents] == ["ok"]
    with pytest.raises(dataclasses.FrozenInstanceError):  # a report cannot be edited after the fact
        skipped.reason = "fine"
