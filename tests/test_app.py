"""The app as people use it: gradio_client against the app on loopback, and a real headless Chromium."""

from __future__ import annotations

import csv
import json
import shutil
import socket
from pathlib import Path

import pytest

from app import CSS, PolicyApp, build_ui
from rag.config import Settings
from rag.textnorm import to_simplified

from .conftest import CORPUS, ROOT, SEEDS

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def policy_app(tmp_path_factory, seed_index):
    root = tmp_path_factory.mktemp("app")
    shutil.copytree(seed_index[0], root / "index")
    settings = Settings(index_dir=root / "index", corpus_dirs=[CORPUS], upload_dir=root / "uploads",
                        feedback_path=root / "feedback.jsonl")
    return PolicyApp(settings)


@pytest.fixture(scope="module")
def live_url(policy_app):
    demo = build_ui(policy_app)
    port = _free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, css=CSS, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_gradio_client_gets_a_cited_answer(policy_app, live_url):
    from gradio_client import Client

    client = Client(live_url, verbose=False)
    answer = client.predict("瑞金推动建材行业碳达峰是哪个部门牵头？", api_name="/ask")
    assert not answer["refused"] and "市工信局" in answer["answer"]
    documents = policy_app.searcher.index.documents
    for citation in answer["citations"]:
        assert documents[citation["doc_id"]].text[citation["start"] : citation["end"]] == citation["quote"]
    traditional = client.predict("成都到2025年新能源車要達到多少輛？", api_name="/ask")
    assert traditional["script"] == "zh-Hant" and to_simplified(traditional["answer"]) != traditional["answer"]
    hits = client.predict("建材行业 牵头", 3, api_name="/search")["hits"]
    assert hits[0]["section"] == "三、重点任务 › (二)工业领域碳达峰行动 › 2.推动建材行业碳达峰"


def test_chat_streams_and_fills_the_sources_panel(policy_app):
    steps = list(policy_app.chat("成都到2025年新能源车要达到多少辆？", [], None, None))
    assert len(steps) >= 3  # a placeholder, then the answer arriving
    history, _, conversation, last, sources = steps[-1]
    assert history[-1]["role"] == "assistant" and "80万辆" in history[-1]["content"]
    assert "(#source-1)" in history[-1]["content"] and "id='source-1'" in sources and "<mark>" in sources
    follow = list(policy_app.chat("那瑞金呢？", history, conversation, last))[-1]
    assert "3100辆" in follow[0][-1]["content"]


def test_with_an_llm_the_chat_streams_its_words_then_the_checked_answer(policy_app):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from rag.llm import LLMWriter

    policy_app.llm = LLMWriter(FakeListChatModel(responses=["全市新能源汽车到2025年达到80万辆[1]。另有补贴5000元[1]。"]))
    try:
        steps = list(policy_app.chat("成都到2025年新能源车要达到多少辆？", [], None, None))
    finally:
        policy_app.llm = None
    partials = [step[0][-1]["content"] for step in steps[1:-1]]
    assert any("补贴5000元" in p for p in partials)  # the words arrive as the model writes them
    final = steps[-1][0][-1]["content"]
    assert "80万辆" in final and "5000" not in final  # then only what a cited clause supports
    assert steps[-1][3]["mode"] == "llm"


def test_refusals_say_not_found_with_related_clauses(policy_app):
    history, _, _, last, sources = list(policy_app.chat("个人所得税起征点是多少", [], None, None))[-1]
    assert history[-1]["content"].startswith("**现有政策文件中未找到**") and last["refused"]
    assert "相关条款" in sources


def test_feedback_is_appended_and_holds_nothing_about_the_user(policy_app):
    *_, last, _ = list(policy_app.chat("共青城碳达峰政策咨询电话", [], None, None))[-1]
    assert policy_app.feedback("wrong", "电话不对？", last) == "谢谢，反馈已记录。"
    record = json.loads(policy_app.settings.feedback_path.read_text(encoding="utf-8").splitlines()[-1])
    assert set(record) == {"time", "rating", "comment", "question", "answer", "refused", "citations"}
    assert record["rating"] == "wrong" and record["citations"]


def test_staff_search_table_context_and_csv(policy_app):
    rows, chunk_ids, csv_path, message = policy_app.staff_search("建材行业 牵头", [], "", "", "", 5, "hybrid")
    assert rows[0][2] == "三、重点任务 › (二)工业领域碳达峰行动 › 2.推动建材行业碳达峰" and rows[0][4] == "市工信局"
    with open(csv_path, encoding="utf-8-sig") as handle:
        exported = list(csv.reader(handle))
    assert exported[0][1:4] == ["文件", "条款路径", "条款内容"] and len(exported) == len(rows) + 1

    class Selected:
        index = [0, 2]

    context = policy_app.staff_context(chunk_ids, Selected())
    assert "<mark>" in context and "牵头：市工信局" in context
    assert policy_app.staff_search("碳达峰", [], "", "district", "", 10, "bm25")[0][0][1] == "关于《槐荫区碳达峰工作方案》的解读"


def test_uploads_are_checked_then_indexed(policy_app, tmp_path):
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4")
    assert "PDF 文件已损坏" in policy_app.check_upload(bad)
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00")
    assert "不支持的文件类型" in policy_app.check_upload(program)
    folder = policy_app.settings.upload_dir.resolve()
    for name in ("../../etc/cron.d/evil.txt", "..", "/abs/path.txt", "a/../../b.docx", "\u202e.txt"):
        assert policy_app.upload_target(name).parent == folder
    garbled = tmp_path / "garbled.txt"
    garbled.write_bytes(bytes([0x81, 0x20, 0xFE, 0x0A]) * 50)
    assert "无法识别文件编码" in policy_app.check_upload(garbled)
    small = Settings(max_file_mb=0)
    note = tmp_path / "notice.txt"
    note.write_text("一、总体要求\n本区到2025年建成充电桩200根。\n二、组织实施\n区发改局负责统筹。", encoding="utf-8")
    assert "文件过大" in PolicyApp.check_upload(type("A", (), {"settings": small})(), note)
    message, table = policy_app.upload([str(note), str(bad)])
    assert "已加入索引：notice" in message and "scan.pdf" in message
    assert any(row[0] == "notice" for row in table)
    assert "200根" in policy_app.api_ask("本区到2025年建成多少根充电桩？")["answer"]


def _chromium():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it as root): browser test skipped")
    from playwright.sync_api import Error, sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
    except Error as exc:
        playwright.stop()
        pytest.skip(f"chromium could not start here ({exc}): browser test skipped")
    return playwright, browser


MARKUP_QUESTION = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b>粗体</b>'
                   "成都到2025年新能源车要达到多少辆？")


def test_a_person_asks_in_a_real_browser(live_url):
    playwright, browser = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(live_url, wait_until="load")
        page.wait_for_selector("#question textarea", timeout=30000)
        page.fill("#question textarea", "成都到2025年新能源车要达到多少辆？")
        page.click("#ask")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('80万辆')", timeout=30000)
        page.wait_for_selector("#sources .source mark", timeout=30000)
        assert "全市新能源汽车达到80万辆" in page.inner_text("#sources mark")
        page.click("#sources details summary")  # the full document, one click away
        assert page.is_visible("#sources .full-text")
        # Markup in a question is shown as the text it is: never run, never rendered.
        page.fill("#question textarea", MARKUP_QUESTION)
        page.click("#ask")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('<script>window.__pwned=1')",
                               timeout=30000)
        assert page.evaluate("window.__pwned === undefined")
        assert page.evaluate("![...document.querySelectorAll('#chat img')].some(e => e.getAttribute('src') === 'x')"
                             " && ![...document.querySelectorAll('#chat b')].some(e => e.innerText === '粗体')")
        page.screenshot(path=str(ARTIFACTS / "desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scrolling on a phone
    finally:
        browser.close()
        playwright.stop()
    assert (ARTIFACTS / "desktop.png").stat().st_size > 0 and (ARTIFACTS / "phone.png").stat().st_size > 0
    assert SEEDS["chengdu"]
