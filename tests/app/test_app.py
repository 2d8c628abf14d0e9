"""The app as people use it: its Python handlers, gradio_client and httpx against the served app on loopback,
and (tests/test_browser.py) a real headless Chromium."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest

from rag.app import ClauseLookup, StaffHandlers
from rag.app.present import plain_text
from rag.staff import StaffAccounts, verify_password
from rag.text.normalize import to_simplified

from ..conftest import CORPUS, NOTICE, NOTICE_QUESTION, SEEDS, STAFF_PASSWORD, STAFF_USER


def last_message(policy_app, question, history=None, conversation=None, answers=None):
    return list(policy_app.chat(question, history or [], conversation, answers or []))[-1]


# -- the citizen page can change nothing; the staff page needs a login --------------------------------------

@pytest.mark.model
def test_gradio_client_gets_a_cited_answer(policy_app, live_url):
    from gradio_client import Client

    client = Client(live_url, verbose=False)
    answer = client.predict("瑞金推动建材行业碳达峰是哪个部门牵头？", api_name="/ask")
    assert not answer["refused"] and "市工信局" in answer["answer"]
    documents = policy_app.index.documents
    for citation in answer["citations"]:
        assert documents[citation["doc_id"]].text[citation["start"]: citation["end"]] == citation["quote"]
    traditional = client.predict("成都到2025年新能源車要達到多少輛？", api_name="/ask")
    assert traditional["script"] == "zh-Hant" and to_simplified(traditional["answer"]) != traditional["answer"]
    hits = client.predict("建材行业 牵头", 3, api_name="/search")["hits"]
    assert hits[0]["section"] == "三、重点任务 › (二)工业领域碳达峰行动 › 2.推动建材行业碳达峰"


@pytest.mark.model
def test_the_citizen_page_exposes_no_way_to_change_the_corpus(policy_app, live_url):
    from gradio_client import Client

    from app import build_citizen_ui

    # Every handler the page holds, private ones included: none of them stages, publishes or deletes.
    handlers = {f.fn.__name__ for f in build_citizen_ui(policy_app).fns.values()}
    assert handlers <= {"chat", "rate", "reset", "clause_search", "clause_context", "<lambda>", "api_ask",
                        "api_search", "load_example"}, handlers  # load_example: gr.Examples filling the box

    client = Client(live_url, verbose=False)
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/ask", "/search"} and not api["unnamed_endpoints"]
    kinds = {component["type"] for component in client.config["components"]}
    assert not kinds & {"file", "uploadbutton", "files"}, kinds
    # The staff page's own API is closed to anyone not logged in: its config, queue and upload routes.
    assert httpx.get(live_url + "staff/config").status_code == 401
    assert httpx.post(live_url + "staff/gradio_api/queue/join", json={}).status_code == 401
    assert httpx.post(live_url + "staff/gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 401


@pytest.mark.model
def test_the_staff_page_refuses_a_wrong_password(live_url):
    with httpx.Client(base_url=live_url) as client:
        wrong = client.post("staff/login", data={"username": STAFF_USER, "password": "correct-horse-8"})
        assert wrong.status_code >= 400 and client.get("staff/config").status_code == 401
        unknown = client.post("staff/login", data={"username": "li", "password": STAFF_PASSWORD})
        assert unknown.status_code >= 400
        right = client.post("staff/login", data={"username": STAFF_USER, "password": STAFF_PASSWORD})
        assert right.status_code == 200
        config = client.get("staff/config")
        assert config.status_code == 200 and any(c["props"].get("elem_id") == "publish"
                                                 for c in config.json()["components"])


@pytest.mark.model
def test_without_an_account_the_staff_page_only_says_how_to_create_one(no_account_url):
    config = httpx.get(no_account_url + "staff/config").json()
    assert not config["dependencies"]  # no event at all: nothing can be uploaded, published or deleted
    texts = [c["props"].get("value") for c in config["components"] if c["type"] == "markdown"]
    assert any("policy-rag staff add" in (t or "") for t in texts)
    assert not any(c["type"] == "file" for c in config["components"])


def test_staff_accounts_keep_only_scrypt_hashes(tmp_path):
    accounts = StaffAccounts(tmp_path / "conf" / "staff.json")
    assert not accounts.configured() and not accounts.check("wang", "anything-at-all")
    with pytest.raises(ValueError, match="at least"):
        accounts.add("wang", "short")
    accounts.add("wang", "a-long-password")
    stored = accounts.path.read_text(encoding="utf-8")
    assert "a-long-password" not in stored and json.loads(stored)["accounts"]["wang"].startswith("scrypt$")
    assert accounts.path.stat().st_mode & 0o077 == 0  # readable by the owner only
    assert accounts.check("wang", "a-long-password") and not accounts.check("wang", "a-long-passworD")
    assert not verify_password("a-long-password", "scrypt$garbage") and accounts.remove("wang")
    assert not accounts.configured()
    for broken in ('["wang"]', '{"accounts": []}', '{"accounts": {"wang": "md5$abc"}}', "not json"):
        accounts.path.write_text(broken, encoding="utf-8")
        assert not accounts.check("wang", "a-long-password")
    assert not StaffAccounts(accounts.path).configured()  # an unusable file opens nothing, and does not raise


def test_repeated_wrong_passwords_lock_the_name_for_a_while(tmp_path):
    accounts = StaffAccounts(tmp_path / "staff.json")
    accounts.add("wang", "a-long-password")
    for _ in range(5):
        assert not accounts.check("wang", "guess-guess")
    assert not accounts.check("wang", "a-long-password")  # refused unchecked until the window passes
    assert accounts.check("li", "x") is False and accounts.add("li", "another-password") is None
    assert accounts.check("li", "another-password")  # other names are not affected


# -- upload: preview, publish, delete; never answered from before publishing --------------------------------

def _cites(answer: dict, doc_id: str) -> bool:
    return any(c["doc_id"] == doc_id for c in answer["citations"])


@pytest.mark.model
def test_an_upload_is_answered_only_once_published_and_forgotten_once_deleted(own_app, policy_app, tmp_path):
    note = tmp_path / "community-chargers.txt"
    note.write_text(NOTICE, encoding="utf-8")
    staged, preview = StaffHandlers(own_app).stage([str(note)])
    (item,) = staged
    assert item.publishable and item.title == "关于推进社区充电设施建设的通知" and len(item.clauses) >= 2
    assert item.departments == (["区发改局"], ["区住建局"]) and item.contacts[0]["phone"] == "0791-7654321"
    assert "一、总体要求" in item.sections and "区发改局" in preview and "0791-7654321" in preview
    # Staged, not published: the answerer has never seen it.
    assert not _cites(own_app.api_ask(NOTICE_QUESTION), item.doc_id)
    assert item.doc_id not in own_app.index.documents

    reported = []
    report = own_app.desk.publish(staged, STAFF_USER, lambda fraction, text: reported.append((fraction, text)))
    assert report.added == [item.doc_id]
    # Progress in Chinese only, moving forward, through the embedding batches (no library's own bar).
    assert any(text.startswith("正在计算向量") for _, text in reported)
    assert all(0 <= f <= 1 and not re.search(r"[A-Za-z]", text) for f, text in reported)
    fractions = [f for f, _ in reported]
    assert fractions == sorted(fractions)  # a bar that only moves forward
    assert any(f > 0.49 for f, text in reported if text.startswith("正在计算向量"))  # clauses, then sentences
    answer = own_app.api_ask(NOTICE_QUESTION)
    assert _cites(answer, item.doc_id) and "200根" in answer["answer"]
    assert item.doc_id not in policy_app.index.documents  # the session's app is another app: unchanged
    record = own_app.audit.records()[-1]
    assert (record["user"], record["action"], record["uploaded_as"]) == (STAFF_USER, "publish", note.name)
    assert record["sha256"] == hashlib.sha256(note.read_bytes()).hexdigest()

    own_app.desk.delete(item.doc_id, own_app.index, STAFF_USER)
    assert item.doc_id not in own_app.index.documents
    assert not any(c.doc_id == item.doc_id for c in own_app.index.clauses)
    assert not _cites(own_app.api_ask(NOTICE_QUESTION), item.doc_id)
    assert [r["action"] for r in own_app.audit.records()[-2:]] == ["publish", "delete"]
    assert len(own_app.audit.records()) == 2 and not policy_app.audit.records()
    with pytest.raises(ValueError, match="语料目录"):  # the repository's corpus is not deleted from the web
        own_app.desk.delete(SEEDS["ruijin"], own_app.index, STAFF_USER)


@pytest.mark.model
def test_a_failed_publish_leaves_uploads_index_and_log_as_they_were(own_app, tmp_path, monkeypatch):
    import rag.staff.desk

    note = tmp_path / "failing-notice.txt"
    note.write_text(NOTICE, encoding="utf-8")
    staged, _ = StaffHandlers(own_app).stage([str(note)])
    uploads = sorted(own_app.settings.upload_dir.glob("*")) if own_app.settings.upload_dir.is_dir() else []
    records, clauses = len(own_app.audit.records()), len(own_app.index.clauses)
    real = rag.staff.desk.build_index
    calls = []

    def fails_once(*args, **kwargs):  # the first build (the publish) fails; the rebuild after restoring runs
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(rag.staff.desk, "build_index", fails_once)
    with pytest.raises(OSError):
        own_app.desk.publish(staged, STAFF_USER)
    now = sorted(own_app.settings.upload_dir.glob("*")) if own_app.settings.upload_dir.is_dir() else []
    assert now == uploads and len(own_app.audit.records()) == records and len(calls) == 2
    assert len(own_app.index.clauses) == clauses and staged[0].doc_id not in own_app.index.documents


@pytest.mark.model
def test_a_chat_goes_on_across_a_publish_and_a_delete(own_app, tmp_path):
    history, _, conversation, answers = last_message(own_app, "成都到2025年新能源车要达到多少辆？")
    note = tmp_path / "session-notice.txt"
    note.write_text(NOTICE, encoding="utf-8")
    staged, _ = StaffHandlers(own_app).stage([str(note)])
    own_app.desk.publish(staged, STAFF_USER)  # the app reloads: a new index and answerer
    history, _, conversation, answers = last_message(own_app, NOTICE_QUESTION, history, conversation, answers)
    assert conversation.answerer is own_app.extractive and len(conversation.turns) == 2
    assert "200根" in history[-1]["content"]  # the open session sees the new document
    own_app.desk.delete(staged[0].doc_id, own_app.index, STAFF_USER)
    history, *_ = last_message(own_app, NOTICE_QUESTION, history, conversation, answers)
    assert "session-notice" not in history[-1]["content"]  # and no longer cites the deleted one


@pytest.mark.model
def test_a_staged_upload_shows_what_is_wrong_with_it(policy_app, tmp_path, monkeypatch):
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4")
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00")
    garbled = tmp_path / "garbled.txt"
    garbled.write_bytes(bytes([0x81, 0x20, 0xFE, 0x0A]) * 50)
    clash = tmp_path / f"{SEEDS['huaiyin']}.md"
    clash.write_text(NOTICE, encoding="utf-8")
    copy = tmp_path / "ruijin-repost.txt"
    copy.write_text((CORPUS / f"{SEEDS['ruijin']}.txt").read_text(encoding="utf-8"), encoding="utf-8")
    staged, preview = StaffHandlers(policy_app).stage([str(p) for p in (bad, program, garbled, clash, copy)])
    problems = {s.name: s.problem for s in staged}
    assert problems["scan.pdf"] == "PDF 文件已损坏" and "不支持的文件类型" in problems["setup.exe"]
    assert problems["garbled.txt"] == "无法识别文件编码" and "已被语料库" in problems[clash.name]
    assert not any("(" in problem for problem in problems.values() if problem)  # Chinese only, no English detail
    assert staged[-1].near_duplicate[0] == SEEDS["ruijin"] and "近似重复" in staged[-1].problem
    # Over the size limit (1 MB here): refused by its size, in Chinese, before it is parsed.
    monkeypatch.setattr(policy_app.desk, "settings", policy_app.settings.model_copy(update={"max_file_mb": 1}))
    big = tmp_path / "big.txt"
    big.write_text(NOTICE * (2 * 1024 * 1024 // len(NOTICE.encode()) + 1), encoding="utf-8")
    (too_big,), _ = StaffHandlers(policy_app).stage([str(big)])
    assert too_big.problem.startswith("文件过大") and not too_big.publishable
    monkeypatch.undo()
    folder = policy_app.settings.upload_dir.resolve()
    for name in ("../../etc/cron.d/evil.txt", "/abs/path.txt", "a/../../b.docx", "\u202e.txt"):
        target = policy_app.desk.upload_target(name)
        assert target.parent == folder and ".." not in target.name and "/" not in target.name
    assert policy_app.desk.upload_target("../../etc/cron.d/evil.txt").name == "evil.txt"


# -- answers: each with its own sources, plain-text copy, refusals that help ---------------------------------

@pytest.mark.model
def test_each_answer_carries_its_own_sources(policy_app):
    history, _, conversation, answers = last_message(policy_app, "成都到2025年新能源车要达到多少辆？")
    history, _, conversation, answers = last_message(policy_app, "瑞金推动建材行业碳达峰是哪个部门牵头？", history,
                                                     conversation, answers)
    first, second = history[1]["content"], history[3]["content"]
    assert "[[1]](#a1-s1)" in first and "id='a1-s1'" in first and "全市新能源汽车达到80万辆" in first
    assert "[[1]](#a2-s1)" in second and "id='a2-s1'" in second and "a1-s1" not in second
    # A who-leads answer names the department once, inside its one quoted span.
    spoken = second.split("<div class='answer-sources'>")[0]
    assert spoken.count("市工信局") == 1 and spoken.count("[1]") == 1 and "[2]" not in spoken
    assert [a["position"] for a in answers] == [1, 3]


@pytest.mark.model
def test_the_copy_text_is_plain(policy_app):
    answer = policy_app.extractive.ask("成都到2025年新能源车要达到多少辆？")
    text = plain_text(answer)
    lines = text.splitlines()
    assert text.startswith(answer.answer) and "[1]" in lines[0]  # the fact first, then the quote, as answered
    assert lines[-1] == f"[1] 《成都市碳达峰实施方案》{answer.citations[0].section}"
    assert "](#" not in text and "<" not in text


@pytest.mark.model
def test_a_refusal_points_to_the_place_asked_or_to_12345(policy_app):
    history, *_ = last_message(policy_app, "北京购房补贴是多少？")
    message = history[-1]["content"]
    assert "12345" in message and "class='source'" not in message  # no other place's clauses, no other phone
    assert not re.search(r"\d{3,4}-\d{7,8}", message)
    history, *_ = last_message(policy_app, "共青城的房产税怎么减免？")
    message = history[-1]["content"]
    assert "未找到" in message and "0792-4357300" in message.split("<div")[0]
    related = re.findall(r"《([^》]+)》[^<]*</div>", message)  # a card: 《title》, then its date issued if known
    assert related and all(title.startswith("共青城") for title in related)


@pytest.mark.model
def test_a_greeting_gets_a_welcome_not_a_search(policy_app):
    history, *_ = last_message(policy_app, "你好")
    assert "您可以这样问" in history[-1]["content"] and "class='source'" not in history[-1]["content"]


@pytest.mark.model
def test_a_traditional_conversation_reads_traditional_throughout(policy_app):
    history, _, conversation, answers = last_message(policy_app, "成都到2025年新能源車要達到多少輛？")
    message = history[-1]["content"]
    assert "引用來源" in message and "複製回答" in message and "全市新能源汽車達到80萬輛" in message
    assert "script=zh-Hant" in message  # the whole document opens in Traditional too
    history, *_ = last_message(policy_app, "那瑞金呢？", history, conversation, answers)
    assert "引用來源" in history[-1]["content"] and "3100輛" in history[-1]["content"]


@pytest.mark.model
def test_feedback_rates_any_answer_and_clears_the_comment(policy_app):
    history, _, conversation, answers = last_message(policy_app, "成都到2025年新能源车要达到多少辆？")
    history, _, conversation, answers = last_message(policy_app, "共青城碳达峰政策咨询电话", history, conversation,
                                                     answers)

    class Rated:  # what gr.LikeData carries: the message position and the rating
        index, liked = 1, False

    thanks, comment = policy_app.rate(answers, "数字对吗？", Rated())
    assert thanks == "谢谢，反馈已记录。" and comment == ""
    record = json.loads(policy_app.settings.feedback_path.read_text(encoding="utf-8").splitlines()[-1])
    assert set(record) == {"time", "rating", "comment", "question", "answer", "refused", "citations", "answer_id"}
    assert (record["rating"], record["question"], record["comment"]) == ("wrong", "成都到2025年新能源车要达到多少辆？",
                                                                         "数字对吗？")


@pytest.mark.model
def test_clause_lookup_keeps_departments_in_view_and_names_its_csv(policy_app):
    lookup = ClauseLookup(policy_app)
    rows, chunk_ids, csv_path, message = lookup.clause_search("建材行业 牵头", [], "", "", "", 5, "hybrid")
    assert rows[0][2] == "三、重点任务 › (二)工业领域碳达峰行动 › 2.推动建材行业碳达峰"
    assert rows[0][3] == "市工信局" and rows[0][4] == "市住建局、市发改委、市城管局"
    assert rows[0][5].endswith("…") and len(rows[0][5]) <= 37  # the table shows a preview; a click shows all
    assert re.fullmatch(r"条款检索_建材行业-牵头_\d{8}\.csv", Path(csv_path).name)
    with open(csv_path, encoding="utf-8-sig") as handle:
        exported = list(csv.reader(handle))
    assert exported[0][:6] == ["#", "文件", "条款路径", "牵头部门", "配合部门", "条款内容"]
    assert len(exported) == len(rows) + 1 and "严禁违规新增水泥熟料产能" in exported[1][5]

    class Selected:
        index = [0, 2]

    context = lookup.clause_context(chunk_ids, Selected())
    assert "<mark>" in context and "牵头：市工信局" in context
    district = lookup.clause_search("碳达峰", [], "", "district", "", 10, "bm25")[0]
    assert {row[1] for row in district} == {"关于《槐荫区碳达峰工作方案》的解读"}
    assert ("关于《槐荫区碳达峰工作方案》的解读", SEEDS["huaiyin"]) in policy_app.document_choices()


@pytest.mark.model
def test_with_an_llm_the_chat_streams_its_words_then_the_checked_answer(policy_app):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from rag.answer.llm import LLMWriter

    written = "全市新能源汽车到2025年达到80万辆[1]。另有补贴5000元[1]。"
    policy_app.llm = LLMWriter(FakeListChatModel(responses=[written]))
    try:
        steps = list(policy_app.chat("成都到2025年新能源车要达到多少辆？", [], None, []))
    finally:
        policy_app.llm = None
    streamed = [s[0][-1]["content"] for s in steps if s[0] and s[0][-1]["role"] == "assistant"]
    assert any("5000" in text for text in streamed[:-1])  # the model's words arrive as it writes them
    final = streamed[-1]
    assert "80万辆" in final and "5000" not in final.split("<div")[0]  # then only what a cited clause supports
    assert steps[-1][3][-1]["mode"] == "llm"


@pytest.mark.model
def test_document_pages_show_the_whole_text_with_the_quote_marked(policy_app, live_url):
    doc = policy_app.index.documents[SEEDS["chengdu"]]
    quote = "全市新能源汽车达到80万辆"
    start = doc.text.index(quote)
    page = httpx.get(f"{live_url}document/{doc.doc_id}", params={"start": start, "end": start + len(quote)}).text
    assert "<mark id='quote'>全市新能源汽车达到80万辆</mark>" in page and "lang='zh-CN'" in page
    traditional = httpx.get(f"{live_url}document/{doc.doc_id}",
                            params={"start": start, "end": start + len(quote), "script": "zh-Hant"}).text
    assert "全市新能源汽車達到80萬輛" in traditional and "lang='zh-TW'" in traditional
    assert httpx.get(f"{live_url}document/no-such-document").status_code == 404
