"""The app as people use it: its Python handlers, gradio_client and httpx against the served app on loopback,
and (tests/test_browser.py) a real headless Chromium."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from rag.answer import Answer, Answerer, Decision
from rag.answer.sources import Sources
from rag.app import DOCUMENT_COLUMNS, ClauseLookup, StaffHandlers
from rag.app.lookup import results_table
from rag.app.phones import link_phones
from rag.app.present import answer_message, answer_text, document_page, plain_text
from rag.app.service import WELCOME_PAGE
from rag.app.suggest import OFFICIAL_TOPIC, candidates, phrase
from rag.config import Settings
from rag.index import PolicyIndex
from rag.index.bm25 import BM25Index
from rag.index.store import DocumentRecord
from rag.retrieve import Hit, Searcher
from rag.staff import StaffAccounts, verify_password
from rag.text import Tokenizer, to_traditional
from rag.text.normalize import to_simplified

from ..conftest import CORPUS, NOTICE, NOTICE_QUESTION, SEEDS, STAFF_PASSWORD, STAFF_USER


@pytest.fixture(scope="session")
def policy_app(policy_app):
    """The session's app (tests/conftest.py) once its suggested questions are all checked: its check asks the model
    in the background, and a test here not marked model refuses the model while it runs."""
    checked(policy_app)
    return policy_app


@pytest.fixture
def own_app(own_app):
    """A test's own app (tests/conftest.py) whose background check ends with the test, rather than asking the
    model on in later tests (some of which refuse it)."""
    yield own_app
    own_app.suggestions.stop(wait=True)


def last_message(policy_app, question, history=None, conversation=None, answers=None):
    return list(policy_app.chat(question, history or [], conversation, answers or []))[-1]


def checked(app):
    """The app's suggestions once every candidate question has been asked (a background thread asks them after
    each load of the index; until then a follow-up not yet checked is not offered)."""
    assert app.suggestions.wait(timeout=600), "the suggestions were not checked in time"
    return app.suggestions


def offered_in(message: str) -> list[str]:
    """The questions a chat message offers one tap away."""
    return re.findall(r"<button class='suggested' type='button'>([^<]+)</button>", message)


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
    assert handlers <= {"chat", "rate", "reset", "clause_search", "visit", "api_ask", "api_search"}, handlers

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
    assert "href='tel:12345'" in message and "class='source'" not in message  # no other place's clauses or phone
    assert not re.search(r"\d{3,4}-\d{7,8}", message) and "suggested" not in message
    history, *_ = last_message(policy_app, "共青城的房产税怎么减免？")
    message = history[-1]["content"]
    assert "没有找到" in message and "href='tel:07924357300'" in message.split("<div")[0]
    related = re.findall(r"<div class='source-head'>(?:\[\d+\] )?《([^》]+)》", message)  # each card's title
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
    table, csv_path, message = lookup.clause_search("建材行业 牵头", [], "", "", "", 5, "hybrid")
    first = table.split("<tr>")[2]  # the header row, then the first result
    assert "三、重点任务 › (二)工业领域碳达峰行动 › 2.推动建材行业碳达峰" in first
    assert "市工信局" in first and "市住建局、市发改委、市城管局" in first
    assert f"href='/document/{SEEDS['ruijin']}?start=" in first  # the title opens the document at the clause
    assert "牵头：市工信局" in first and "<mark>" in first  # the clause in context, on demand
    assert "得分" not in table and "按相关程度排列" in message  # order, not a fusion score
    assert re.fullmatch(r"条款检索_建材行业-牵头_\d{8}\.csv", Path(csv_path).name)
    with open(csv_path, encoding="utf-8-sig") as handle:
        exported = list(csv.reader(handle))
    assert exported[0] == ["#", "文件", "条款路径", "牵头部门", "配合部门", "条款内容", "chunk_id"]
    assert len(exported) == 6 and "严禁违规新增水泥熟料产能" in exported[1][5]
    district = lookup.search("碳达峰", [], "", "district", "", 10, "bm25")
    assert {h.clause.title for h in district} == {"关于《槐荫区碳达峰工作方案》的解读"}
    assert ("关于《槐荫区碳达峰工作方案》的解读", SEEDS["huaiyin"]) in policy_app.document_choices()
    assert lookup.clause_search("  ", [], "", "", "", 5, "hybrid") == ("", None, "请输入检索内容。")


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


# -- the page as a public service (issue 22): phones, cards at the quote, refusals once, tables, a way in ----
# Without the model: an index assembled from the ingested seed documents (no vectors), whose searcher fails the
# test if it is asked to embed anything.

class NoModel:
    def encode_queries(self, texts):
        raise AssertionError(f"the model was asked to embed {texts!r}")


@pytest.fixture(scope="module")
def plain_index(corpus_report) -> PolicyIndex:
    documents = {d.doc_id: DocumentRecord.from_document(d.document, d.content_hash) for d in corpus_report.documents}
    clauses = corpus_report.clauses
    bm25 = BM25Index.build([Tokenizer.for_lexicon().tokenize(c.passage()) for c in clauses])
    return PolicyIndex(Path("no-index"), {"model": {"id": "none"}}, documents, clauses,
                       np.zeros((len(clauses), 1), np.float32), dense=None, bm25=bm25)


@pytest.fixture(scope="module")
def plain_answerer(plain_index) -> Answerer:
    return Answerer(Searcher(plain_index, Settings(), NoModel()))


def _clause(index: PolicyIndex, doc: str, heading: str, part: int = 1):
    return next(c for c in index.clauses if c.doc_id == SEEDS[doc] and c.section_path
                and c.section_path[-1] == heading and c.part == part)


def _cited(index: PolicyIndex, clause, quote: str, **fields) -> Answer:
    text = index.documents[clause.doc_id].text
    start = text.index(quote, clause.start)
    citation = Sources(index).citation(1, clause, start, start + len(quote))
    return Answer("问题", f"{quote}[1]", False, "zh-Hans", [citation], **fields)


def _card(message: str, n: int = 1) -> str:
    return message.split(f"id='a1-s{n}'>")[1].split("查看全文")[0]


def _visible(html_text: str) -> str:
    return re.sub(r"<[^>]+>", "", html_text)


def test_phone_numbers_are_tel_links_wherever_they_are_shown(plain_index, plain_answerer):
    assert link_phones("咨询电话:0792-4357300。") == (
        "咨询电话:<a class='tel' href='tel:07924357300'>0792-4357300</a>。")
    assert "href='tel:12345'" in link_phones("可拨打12345政务服务便民热线", ["12345"])
    # A quantity, and a mobile no contact list gives, stay text.
    assert "tel:" not in link_phones("到2025年建成12345根，编号13912345678")
    gongqingcheng = plain_index.documents[SEEDS["gongqingcheng"]]
    # An answer quoting the consulting line: the answer's words and its card both dial.
    consulting = _clause(plain_index, "gongqingcheng", "五、政策咨询")
    contact = {"name": "共青城市发展和改革委员会", "phone": "0792-4357300", "organisation": None, "source_n": 1}
    answer = _cited(plain_index, consulting, "咨询电话:0792-4357300", contacts=[contact])
    answer.answer += "\n如需进一步咨询，可联系共青城市发展和改革委员会，电话0792-4357300。"
    message = answer_message(answer, plain_index, 1)
    spoken, card = message.split("<div class='answer-sources'>")[0], _card(message)
    assert spoken.count("href='tel:07924357300'") == 2 and "href='tel:07924357300'" in card
    # A refusal: the asked place's office, one tap away.
    intent = plain_answerer.analyse("共青城的房产税怎么减免？")
    hits = [Hit(i, 1.0, c) for i, c in enumerate(
        [c for c in plain_index.clauses if c.doc_id == gongqingcheng.doc_id], 1)]
    refusal = plain_answerer.refusals.refuse(intent, hits, "absent", Decision("answered", probability=0.01))
    assert "href='tel:07924357300'>0792-4357300</a>" in answer_text(refusal, 1)
    # The document page.
    page = document_page(plain_index, gongqingcheng.doc_id, None, None, "zh-Hans", "s2tw")
    assert "<a class='tel' href='tel:07924357300'>0792-4357300</a>" in page


def test_a_card_opens_at_the_quote_with_the_rest_of_the_clause_a_tap_away(plain_index):
    # A long clause of the 瑞金 plan (423 characters), quoted from its second half.
    clause = _clause(plain_index, "ruijin", "1.推动运输装备低碳转型")
    text = plain_index.documents[clause.doc_id].text[clause.start:clause.end]
    sentence = [s for s in re.split(r"(?<=[。;])", text) if s][-2]
    quote = sentence[2:].rstrip("。;")  # a quote that starts inside its sentence
    message = answer_message(_cited(plain_index, clause, quote), plain_index, 1)
    card = _card(message)
    opening = card.split("<div class='source-quote'>")[1].split("</div>")[0]
    assert opening.startswith("…" + html.escape(sentence[:2]) + "<mark>")  # the quote's own sentence, first
    assert len(_visible(opening)) <= len(sentence) + 2 and quote in _visible(opening)
    whole = card.split("<summary>查看整条条款</summary>")[1]
    assert _visible(whole).replace("\n", "").endswith(_visible(html.escape(text[-30:])).replace("\n", ""))
    # Its heading once: in the path, not again in the body (opening or whole).
    assert _visible(card.split("<details")[0]).count("1.推动运输装备低碳转型") == 1
    assert "1.推动运输装备低碳转型" not in whole


def test_a_part_of_a_split_clause_says_so_and_shows_its_neighbour(plain_index, plain_answerer):
    first = _clause(plain_index, "ruijin", "2.加快提升建筑绿色化水平", part=1)
    second = _clause(plain_index, "ruijin", "2.加快提升建筑绿色化水平", part=2)
    assert (first.parts, second.parts) == (2, 2)
    quote = plain_index.documents[first.doc_id].text[first.end - 20:first.end]
    card = _card(answer_message(_cited(plain_index, first, quote), plain_index, 1))
    assert "（第1部分/共2部分）" in card and "<summary>查看第2部分</summary>" in card
    assert html.escape(second.text[:40]) in card.split("查看第2部分")[1]
    # A refusal's related reading names a path once, whichever parts of it were found.
    intent = plain_answerer.analyse("瑞金的建筑绿色化怎么补贴？")
    other = _clause(plain_index, "ruijin", "3.大力优化建筑用能结构")
    related = plain_answerer.refusals.related(intent, [Hit(1, 1.0, second), Hit(2, 0.9, first), Hit(3, 0.8, other)])
    assert [c.chunk_id for c in related] == [second.chunk_id, other.chunk_id]
    # And in the lookup: the two parts' rows say which is which.
    table = results_table([Hit(1, 1.0, first), Hit(2, 0.9, second)], plain_index)
    assert "（第1部分/共2部分）" in table and "（第2部分/共2部分）" in table


def test_a_refusal_says_it_once_and_lists_each_related_clause_once(plain_index, plain_answerer):
    gongqingcheng = SEEDS["gongqingcheng"]
    intent = plain_answerer.analyse("共青城的房产税怎么减免？")
    hits = [Hit(i, 1.0, c) for i, c in enumerate(
        [c for c in plain_index.clauses if c.doc_id == gongqingcheng], 1)]
    refusal = plain_answerer.refusals.refuse(intent, hits, "absent", Decision("answered", probability=0.01))
    message = answer_message(refusal, plain_index, 1)
    spoken = message.split("<div class='answer-sources'>")[0]
    assert spoken.startswith("<strong>这些政策文件中没有找到能回答这个问题的内容。</strong>如需咨询")
    assert not any(c.section in spoken for c in refusal.related) and "以下条款" not in spoken
    sections = re.findall(r"<div class='source-section'>([^<]+)", message)
    assert len(sections) == len(refusal.related) == len(set(sections)) == 3
    assert "<div class='contact'>" not in message  # whom to call is said once, in the sentence
    for c in refusal.related:  # a card's body starts after its heading, which the path shows already
        shown = _card(message, c.n).split("<details")[0]
        assert _visible(shown).count(c.section.split(" › ")[-1]) == 1


def test_suggestions_are_drawn_from_headings(plain_index, plain_answerer):
    def verb(topic: str) -> bool:
        return plain_index.tokenizer.tagged(topic)[0][1] == "v"

    assert phrase("瑞金", "2.推动建材行业碳达峰", verb) == "瑞金如何推动建材行业碳达峰？"
    assert phrase("瑞金", "二、主要目标", verb) == "瑞金的主要目标是什么？"
    assert phrase("瑞金", "(五)节能减污降碳增效行动", verb, leaf=False) is None  # a banner over its items
    pool = candidates(plain_index, plain_answerer.catalogue.places)
    questions = {s.question for s in pool}
    assert "瑞金如何推动建材行业碳达峰？" in questions and "成都的主要目标是什么？" in questions
    assert not any("联系人" in q or "政策咨询" in q for q in questions)  # headings over a contact line
    assert all(q.startswith(("瑞金", "成都", "共青城", "槐荫", "江西")) for q in questions)


@pytest.mark.model
def test_suggested_questions_are_answered_by_the_page(policy_app):
    """Every question the welcome offers, and the ones offered under answers and a refusal, asked as a citizen
    would (through the chat, one tap each): none is refused or hedged."""
    welcome = checked(policy_app).welcome()
    assert len(welcome) >= 4 and all(1 <= len(questions) <= 3 for _, questions in welcome)
    offered = [q for _, questions in welcome for q in questions]
    assert len({to_simplified(q) for q in offered}) == len(offered)  # no question twice, in either script
    page = policy_app.welcome_page()
    assert all(f"<button class='suggested' type='button'>{q}</button>" in page for q in offered)
    for asked in ("成都到2025年新能源车要达到多少辆？", "共青城的房产税怎么减免？"):
        history, *_, answers = last_message(policy_app, asked)
        follow_ups = offered_in(history[-1]["content"])
        assert 2 <= len(follow_ups) <= 3 and asked not in follow_ups
        offered += follow_ups
    history, _, conversation, answers = last_message(policy_app, offered[0])
    for question in offered:  # in one conversation, as a citizen tapping one after another
        history, _, conversation, answers = last_message(policy_app, question, history, conversation, answers)
        assert not answers[-1]["refused"] and answers[-1].get("confidence") != "low", question
    traditional = to_traditional(offered[-1])
    history, *_, answers = last_message(policy_app, traditional)
    assert not answers[-1]["refused"] and answers[-1]["script"] == "zh-Hant"


@pytest.mark.model
def test_a_general_question_gets_no_districts_line(policy_app):
    history, *_, answers = last_message(policy_app, "碳达峰到底是什么意思？")
    assert not answers[-1]["refused"] and answers[-1]["contacts"] == []
    assert "0531" not in history[-1]["content"] and "进一步咨询" not in history[-1]["content"]
    history, *_, answers = last_message(policy_app, "共青城到2025年单位GDP能耗下降多少")  # a place named: its line
    assert "电话<a class='tel' href='tel:07924357300'>0792-4357300</a>" in history[-1]["content"]


@pytest.mark.model
def test_the_catalogue_opens_each_document_and_fits_a_phone(policy_app):
    table = policy_app.document_table()
    for doc_id, document in policy_app.index.documents.items():
        assert f"<a href='/document/{doc_id}' target='_blank'>{html.escape(document.title)}</a>" in table
    header = re.findall(r"<th scope='col'[^>]*>([^<]+)</th>", table)
    assert header == DOCUMENT_COLUMNS
    # Each cell names its column for the phone layout (a card a document).
    rows = table.split("<tbody>")[1].split("<tr>")[1:]
    assert len(rows) == len(policy_app.index.documents)
    assert all(row.count("<span class='cell-label'>") == len(DOCUMENT_COLUMNS) for row in rows)


@pytest.mark.model
def test_the_welcome_offers_the_published_official_answers_first(own_app):
    """The official answers served right now, the most recently approved first, none repeated among the headings'
    questions."""
    building = _clause(own_app.index, "ruijin", "2.推动建材行业碳达峰")
    drafted = own_app.officials.draft("瑞金建材企业可以找谁咨询碳达峰政策？", "请咨询市工信局。",
                                      [building.chunk_id], STAFF_USER, own_app.index)
    headings = own_app.suggestions.welcome()
    assert headings[0][0] != OFFICIAL_TOPIC  # a draft is not served, so not offered
    assert "瑞金的主要目标是什么？" in dict(headings)["瑞金市碳达峰实施方案"]
    own_app.officials.approve(drafted.id, "li")
    topic, questions = own_app.suggestions.welcome()[0]
    assert (topic, questions) == (OFFICIAL_TOPIC, ["瑞金建材企业可以找谁咨询碳达峰政策？"])
    *_, answers = last_message(own_app, questions[0])
    assert answers[-1]["mode"] == "official"
    # Staff answer a heading's own question: offered once, as theirs, and before the older official answer.
    targets = own_app.officials.draft("瑞金的主要目标是什么？", "到2025年……", [_clause(own_app.index, "ruijin",
                                      "二、主要目标").chunk_id], STAFF_USER, own_app.index)
    own_app.officials.approve(targets.id, "li")
    welcome = own_app.suggestions.welcome()
    assert welcome[0] == (OFFICIAL_TOPIC, ["瑞金的主要目标是什么？", "瑞金建材企业可以找谁咨询碳达峰政策？"])
    assert [q for _, questions in welcome for q in questions].count("瑞金的主要目标是什么？") == 1


@pytest.mark.model
def test_the_welcome_is_worked_out_once_until_staff_change_what_is_published(own_app, monkeypatch):
    """Each visit reads the welcome as it was worked out for this index and these official answers: no official
    answer matched again, no question embedded, until staff approve or withdraw one."""
    clause = _clause(own_app.index, "ruijin", "2.推动建材行业碳达峰")
    served = own_app.officials.draft("瑞金建材企业可以找谁咨询碳达峰政策？", "请咨询市工信局。",
                                     [clause.chunk_id], STAFF_USER, own_app.index)
    own_app.officials.approve(served.id, "li")
    page = own_app.welcome_page()
    assert "瑞金建材企业可以找谁咨询碳达峰政策？" in page
    matched = []
    official = own_app.hotline.official
    monkeypatch.setattr(own_app.hotline, "official", lambda *args: matched.append(args) or official(*args))
    assert own_app.welcome_page() == page and not matched
    own_app.officials.withdraw(served.id, "li")
    assert "瑞金建材企业可以找谁咨询碳达峰政策？" not in own_app.welcome_page()


def test_the_welcome_promises_only_what_the_page_does():
    """An answer carries a phone number only when its question names a place whose document lists one: the
    welcome does not promise one under every answer."""
    assert "原文出处" in WELCOME_PAGE and not re.search(r"每条回答.*电话", WELCOME_PAGE)


@pytest.mark.model
def test_the_welcome_headings_come_in_order(policy_app):
    """Under the page's <h1>, the welcome's lead is an <h2> and each topic an <h3>; the topics of a greeting's
    reply (in the chat, under the <h1>) are <h2>."""
    levels = [int(n) for n in re.findall(r"<h(\d)", policy_app.welcome_page())]
    assert levels[0] == 2 and set(levels[1:]) == {3}
    history, *_ = last_message(policy_app, "你好")
    assert set(re.findall(r"<h(\d)", history[-1]["content"])) == {"2"}


@pytest.mark.model
def test_a_withdrawn_official_answer_leaves_no_suggestion_behind(own_app):
    """A suggestion is judged by the answerer's own answer: while staff served 瑞金如何组织实施？ it was answered,
    but once they withdraw it the page answers it from another section, so it must not be offered then."""
    question = "瑞金如何组织实施？"
    served = own_app.officials.draft(question, "各单位按本方案抓好落实。",
                                     [_clause(own_app.index, "ruijin", "五、组织实施").chunk_id], STAFF_USER,
                                     own_app.index)
    own_app.officials.approve(served.id, "li")
    near = "瑞金如何落实财税金融政策？"  # quotes 四、政策保障, next to 五、组织实施
    last_message(own_app, near)
    own_app.suggestions.welcome()
    own_app.officials.withdraw(served.id, "li")
    pool = {s.question: s for s in checked(own_app).pool}
    history, *_ = last_message(own_app, near)
    offered = offered_in(history[-1]["content"]) + [q for _, qs in own_app.suggestions.welcome() for q in qs]
    assert offered
    for asked in offered:  # each answered, unhedged, from its heading's document and first-level section
        answer = own_app.api_ask(asked)
        quoted = answer["citations"][0]
        assert not answer["refused"] and answer.get("confidence") != "low", asked
        heading = pool[asked]
        assert quoted["doc_id"] == heading.doc_id and quoted["section"].startswith(heading.first_level), asked


@pytest.mark.model
def test_follow_ups_are_looked_up_never_asked_while_a_citizen_waits(policy_app, monkeypatch):
    """Every candidate question is asked once, in the background, after each load of the index; an answer's
    follow-ups are only looked up, so the chat asks the answerer once a question, and offers nothing not checked."""
    from rag.app.suggest import Suggestions

    suggestions = checked(policy_app)
    assert set(suggestions.verdicts) == {s.question for s in suggestions.pool}
    asked = []
    ask = policy_app.extractive.ask
    monkeypatch.setattr(policy_app.extractive, "ask", lambda *a, **k: asked.append(a[0]) or ask(*a, **k))
    history, *_ = last_message(policy_app, "成都到2025年新能源车要达到多少辆？")
    assert asked == ["成都到2025年新能源车要达到多少辆？"] and 2 <= len(offered_in(history[-1]["content"])) <= 3
    # A generation whose questions have not been checked yet offers none, and asks nothing to find some.
    unchecked = Suggestions(policy_app.extractive, policy_app.hotline, policy_app.officials)
    answer = ask("瑞金推动建材行业碳达峰是哪个部门牵头？")
    asked.clear()
    assert unchecked.follow_ups(answer, answer.question) == [] and asked == []


@pytest.mark.model
def test_follow_ups_stay_with_the_place_asked_about(policy_app):
    """A question about 槐荫 that the documents answer only from 瑞金 (hedged) is offered no 瑞金 questions;
    a question about 瑞金 is offered 瑞金's."""
    pool = {s.question: s for s in checked(policy_app).pool}
    places = policy_app.extractive.catalogue
    for question, place in (("槐荫区如何推动交通运输绿色低碳", "槐荫"), ("瑞金如何落实财税金融政策？", "瑞金")):
        history, *_ = last_message(policy_app, question)
        offered = offered_in(history[-1]["content"])
        assert all(pool[q].doc_id in places.documents_of(place) for q in offered), (question, offered)
    assert len(offered) >= 2  # 瑞金's own


@pytest.mark.model
def test_a_publish_asks_the_welcome_questions_before_anyone_visits(own_app, tmp_path, monkeypatch):
    """After staff publish, the new generation's welcome is ready before it is swapped in: a visit asks nothing."""
    import threading

    note = tmp_path / "welcome-notice.txt"
    note.write_text(NOTICE, encoding="utf-8")
    staged, _ = StaffHandlers(own_app).stage([str(note)])
    own_app.desk.publish(staged, STAFF_USER)
    asked = []
    ask = own_app.extractive.ask

    def counted(*args, **kwargs):  # the background check may be asking in its own thread meanwhile
        if threading.current_thread() is threading.main_thread():
            asked.append(args[0])
        return ask(*args, **kwargs)

    monkeypatch.setattr(own_app.extractive, "ask", counted)
    page = own_app.welcome_page()
    assert "瑞金市碳达峰实施方案" in page and not asked


class Refusing:
    """An answerer over the seed documents that answers nothing and counts what it was asked, by document."""

    def __init__(self, answerer: Answerer):
        self.index, self.catalogue = answerer.index, answerer.catalogue
        self.asked: list[str] = []

    def ask(self, question: str) -> Answer:
        self.asked.append(question)
        time.sleep(0.001)  # lets another thread run, as a real ask does
        return Answer(question, "", True, "zh-Hans")


class Answering(Refusing):
    """An answerer over the seed documents that answers each heading's question from the heading's own clause."""

    def ask(self, question: str) -> Answer:
        self.asked.append(question)
        heading = next(s for s in candidates(self.index, self.catalogue.places) if s.question == question)
        clause = self.index.clauses[heading.row]
        answer = _cited(self.index, clause, self.index.documents[clause.doc_id].text[clause.start:clause.end][:20])
        answer.confidence = "high"
        return answer


def test_the_welcome_shows_staff_uploads_first(plain_answerer, tmp_path):
    """The welcome's documents in a stated order: the staff's uploads (here, as if 槐荫's were one) first, so the
    eight shown never leave them out, then the corpus by document id."""
    from rag.app.suggest import Suggestions
    from rag.staff import AuditLog, Hotline, OfficialAnswers

    officials = OfficialAnswers(tmp_path / "faq.json", AuditLog(tmp_path / "audit.jsonl"))
    titles = {doc_id: doc.title for doc_id, doc in plain_answerer.index.documents.items()}
    for first in ([], [SEEDS["huaiyin"]]):
        welcome = Suggestions(Answering(plain_answerer), Hotline(officials, None), officials, first).welcome()
        assert [topic for topic, _ in welcome] == [titles[d] for d in first + sorted(set(titles) - set(first))]


def test_the_welcome_asks_a_few_headings_a_document_once(plain_answerer, tmp_path):
    """Where nothing answers, building the welcome asks at most WELCOME_TRIES headings of a document, each once
    even when two visitors ask for the welcome at the same moment."""
    from rag.app.suggest import WELCOME_TRIES, Suggestions
    from rag.staff import AuditLog, Hotline, OfficialAnswers

    refusing = Refusing(plain_answerer)
    officials = OfficialAnswers(tmp_path / "faq.json", AuditLog(tmp_path / "audit.jsonl"))
    suggestions = Suggestions(refusing, Hotline(officials, None), officials)
    visitors = [threading.Thread(target=suggestions.welcome) for _ in range(2)]
    for visitor in visitors:
        visitor.start()
    for visitor in visitors:
        visitor.join()
    assert suggestions.welcome() == [] and len(refusing.asked) == len(set(refusing.asked))
    by_document = Counter(s.doc_id for s in suggestions.pool if s.question in refusing.asked)
    assert by_document and max(by_document.values()) <= WELCOME_TRIES


@pytest.mark.model
def test_a_failed_reload_leaves_the_serving_generation_checking_its_suggestions(own_app):
    checking, searcher = own_app.suggestions, own_app.searcher
    (own_app.settings.index_dir / "manifest.json").write_text("{", encoding="utf-8")  # a broken index on disk
    with pytest.raises(Exception):
        own_app.reload()
    assert own_app.suggestions is checking and own_app.searcher is searcher  # still serving the old generation
    assert not checking.stopped.is_set() and (checking.checked.is_set() or checking.thread.is_alive())
