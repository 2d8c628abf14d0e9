"""政策问答 — the web app: a citizen page that can change nothing, and a staff desk behind a login.

Citizen page (/): 政策咨询 (chat, each answer with its own sources), 条款检索 (read-only clause lookup),
文件目录 (the published documents). Named API endpoints /ask and /search serve gradio_client.
Staff desk (/staff/): upload → parsed preview → publish, delete, the feedback log and the audit log. It
requires an account from `policy-rag staff add NAME`; with none configured it only says how to create one.
Document pages (/document/<id>): a whole cleaned document, the quoted span marked.

`make run` or `python app.py` builds the index on the first run (with progress) and serves on
127.0.0.1:7860 (POLICY_RAG_HOST / POLICY_RAG_PORT).
"""

from __future__ import annotations

import csv
import html
import logging
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from rag.answer.answerer import Answerer, Conversation
from rag.answer.examples import EXAMPLES
from rag.app.present import LEVELS, answer_message, answer_text, clause_in_context, document_page
from rag.app.web import CSS, I18N, ChinesePages
from rag.config import Settings
from rag.files import JsonLines
from rag.index.store import IndexUnavailable, PolicyIndex, build_index
from rag.ingest.load import SUFFIXES
from rag.retrieve.search import Filters, Searcher
from rag.staff import AuditLog, DocumentDesk, StaffAccounts, Staged
from rag.text.normalize import TRADITIONAL_VARIANTS

log = logging.getLogger("policy_rag.app")

DOCUMENT_COLUMNS = ["标题", "发布机关", "地区", "层级", "日期", "条款数", "来源"]
RESULT_COLUMNS = ["#", "文件", "条款路径", "牵头部门", "配合部门", "条款内容", "得分"]
CSV_COLUMNS = ["#", "文件", "条款路径", "牵头部门", "配合部门", "条款内容", "得分", "chunk_id"]
PREVIEW_CHARS = 36  # clause text in the results table; the whole clause shows on click
MODE_CHOICES = [("混合", "hybrid"), ("语义", "dense"), ("关键词", "bm25")]
LEVEL_CHOICES = [("全部", "")] + [(name, value) for value, name in LEVELS.items()]
PLACEHOLDER = "<p class='muted'>提问后，每条回答下方列出它引用的政策原文。</p>"


def _csv_name(query: str) -> str:
    """条款检索_<query>_<date>.csv: the query kept to letters, digits and CJK, so the name is a safe file name."""
    words = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "-", query).strip("-")[:30] or "检索"
    return f"条款检索_{words}_{datetime.now():%Y%m%d}.csv"


EXPORTS = Path(tempfile.gettempdir()) / "policy-rag-exports"
EXPORT_TTL_S = 3600


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


def _short(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


class PolicyApp:
    """What the pages call: one searcher and answerer per process, swapped after staff change the corpus."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.lock = threading.Lock()
        self.audit = AuditLog(self.settings.audit_path)
        self.feedback_log = JsonLines(self.settings.feedback_path)
        self.accounts = StaffAccounts(self.settings.staff_accounts)
        self.reload()
        # Re-indexing after a publish uses the model the searcher already holds: no second load (~1 s, ~0.5 GB).
        self.desk = DocumentDesk(self.settings, lambda: self.searcher.encoder(), self.audit,
                                 on_change=self.reload)

    def reload(self) -> None:
        """A new generation of searcher and answerers over the index on disk; requests already running keep
        theirs, and each chat session moves to the new one at its next question."""
        previous = getattr(self, "searcher", None)
        searcher = Searcher.open(self.settings, embedder=previous.embedder if previous else None)
        llm = None
        if self.settings.llm_base_url:
            from rag.answer.llm import LLMWriter

            llm = LLMWriter.from_settings(self.settings)
        extractive = Answerer(searcher, self.settings)  # the chat: extractive first, then the LLM streams
        # The API: the LLM rewrites when configured; without one it is the same answerer.
        answerer = Answerer(searcher, self.settings, llm=llm) if llm else extractive
        extractive.ask(EXAMPLES[0])  # warm: jieba's tagger and the question encoder
        with self.lock:
            self.searcher, self.llm, self.answerer, self.extractive = searcher, llm, answerer, extractive

    @property
    def index(self) -> PolicyIndex:
        """The index the current searcher reads (replaced by `reload`)."""
        return self.searcher.index

    @staticmethod
    def ensure_index(settings: Settings) -> None:
        """The first run builds the index, with progress on the console."""
        if PolicyIndex.exists(settings.index_dir):
            return
        from rag.embed.encoder import Embedder

        log.info("首次运行：正在建立索引 %s …", settings.index_dir)
        report = build_index(settings.all_corpus_dirs(), settings.index_dir, settings, lambda: Embedder(settings),
                             progress=True)
        log.info("索引完成：%d 条款，%.0f 秒", report.clauses, report.seconds)

    # -- 政策咨询 -------------------------------------------------------------------------------------

    def chat(self, message: str, history: list, conversation: Conversation | None, answers: list | None
             ) -> Iterator[tuple[list[dict], str, Conversation | None, list[dict]]]:
        """Streams the chat: the question, a placeholder, the answer by sentences, then the answer with its
        sources. `answers` holds each assistant message's answer (for feedback), by message position."""
        message = (message or "").strip()
        history, answers = list(history or []), list(answers or [])
        if not message:
            yield history, "", conversation, answers
            return
        extractive = self.extractive  # read once: a reload mid-answer must not mix two indexes
        if conversation is None or conversation.answerer is not extractive:
            conversation = Conversation.continuing(conversation, extractive)
        # The question is shown as typed, as text: markup in it is escaped, never rendered or run.
        shown = message if len(message) <= 2000 else message[:2000] + "…"
        history.append({"role": "user", "content": html.escape(shown)})
        yield history + [{"role": "assistant", "content": "…"}], "", conversation, answers
        answer = conversation.ask(message)
        if self.llm is not None and not answer.refused and answer.confidence != "low":
            for partial, final in self.llm.stream(answer, extractive):
                if final is None:
                    yield history + [{"role": "assistant", "content": html.escape(partial)}], "", conversation, answers
                else:
                    answer = final
        turn = sum(1 for m in history if m["role"] == "assistant") + 1
        text = answer_text(answer, turn)
        # The answer streams in; markers and links arrive whole because the cut points are sentence ends.
        for cut in [m.end() for m in re.finditer(r"[。；;\n]", text)][:-1]:
            yield history + [{"role": "assistant", "content": text[:cut]}], "", conversation, answers
        history.append({"role": "assistant", "content": answer_message(answer, extractive.index, turn)})
        answers.append({"position": len(history) - 1, "question": message, **answer.to_dict()})
        yield history, "", conversation, answers

    def feedback(self, rating: str, comment: str, answer: dict | None) -> str:
        """The reply shown after the rating is appended to the JSON-lines file staff review (nothing about the user
        is stored); a prompt to ask first when there is no answer."""
        if not answer:
            return "请先提一个问题。"
        self.feedback_log.add({
            "rating": rating, "comment": (comment or "").strip()[:1000], "question": answer["question"],
            "answer": answer["answer"], "refused": answer["refused"],
            "citations": [c["chunk_id"] for c in answer["citations"]],
        })
        return "谢谢，反馈已记录。"

    def rate(self, answers: list | None, comment: str, event: gr.LikeData) -> tuple[str, str]:
        """有帮助/有误 on any answer of the conversation, with the comment typed so far (then cleared)."""
        position = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        answer = next((a for a in answers or [] if a["position"] == position), None)
        if answer is None or event.liked is None:  # a rating taken back, or a message that is not an answer
            return "", comment
        return self.feedback("helpful" if event.liked else "wrong", comment, answer), ""

    # -- API ------------------------------------------------------------------------------------------

    def api_ask(self, question: str) -> dict:
        """One answer in the `policy-rag ask --json` contract."""
        return self.answerer.ask(question).to_dict()

    def api_search(self, query: str, k: int = 5) -> dict:
        """Clauses in the `policy-rag search --json` contract."""
        hits = self.searcher.search(query, k=int(k))
        return {"id": None, "query": query, "hits": [h.to_dict() for h in hits]}

    # -- 条款检索 -------------------------------------------------------------------------------------

    def document_choices(self) -> list[tuple[str, str]]:
        """(title, doc_id) of every indexed document, sorted by doc_id: the lookup's document filter."""
        return sorted(((d.title, d.doc_id) for d in self.index.documents.values()), key=lambda c: c[1])

    def clause_search(self, query: str, docs: list[str], region: str, level: str, section: str, k: float,
                      mode: str) -> tuple[list[list], list[str], str | None, str]:
        """The lookup's table rows (text shortened), their chunk ids, the CSV export's path (None without hits)
        and a status line."""
        if not (query or "").strip():
            return [], [], None, "请输入检索内容。"
        filters = Filters(tuple(docs or ()), (region or "").strip() or None, level or None,
                          (section or "").strip() or None)
        hits = self.searcher.search(query, k=int(k), mode=mode, filters=filters)
        full = [[h.rank, h.clause.title, h.clause.section, "、".join(h.clause.lead_departments),
                 "、".join(h.clause.supporting_departments), h.clause.text, round(h.score, 4), h.clause.chunk_id]
                for h in hits]
        rows = [[*row[:5], _short(row[5]), row[6]] for row in full]
        message = f"找到 {len(rows)} 条，点击一行查看条款全文与上下文。" if rows else "没有找到符合条件的条款。"
        return rows, [h.clause.chunk_id for h in hits], (_write_csv(query, full) if full else None), message

    def clause_context(self, chunk_ids: list[str], event: gr.SelectData) -> str:
        """HTML of the clicked row's clause among its neighbours; "" for a click outside the rows."""
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        if not chunk_ids or row is None or row >= len(chunk_ids):
            return ""
        return clause_in_context(self.index, chunk_ids[row])

    def document_rows(self) -> list[list]:
        """One row per indexed document for the catalogue tables (DOCUMENT_COLUMNS), sorted by doc_id."""
        counts = self.index.doc_rows
        uploaded = self.desk.uploaded(self.index) if hasattr(self, "desk") else {}
        rows = []
        for doc in sorted(self.index.documents.values(), key=lambda d: d.doc_id):
            m = doc.metadata
            rows.append([doc.title, m.get("issuer", ""), m.get("region", ""), LEVELS.get(m.get("level", ""), ""),
                         m.get("date", ""), len(counts.get(doc.doc_id, ())),
                         "工作人员上传" if doc.doc_id in uploaded else "语料库"])
        return rows

    def document_html(self, doc_id: str, start: int | None, end: int | None, script: str, variant: str) -> HTMLResponse:
        """The whole-document page, the span marked; a 404 page for an unknown doc_id."""
        if variant not in TRADITIONAL_VARIANTS:
            variant = TRADITIONAL_VARIANTS[0]
        page = document_page(self.index, doc_id, start, end, script, variant)
        if page is None:
            return HTMLResponse("<!doctype html><html lang='zh-CN'><meta charset='utf-8'><p>没有这份文件。</p></html>",
                                status_code=404)
        return HTMLResponse(page)

    # -- staff desk -----------------------------------------------------------------------------------

    def stage(self, files: list | None) -> tuple[list[Staged], str]:
        """The uploads read as indexing would (unpublished), and their markdown preview."""
        if not files:
            return [], "请选择要上传的文件。"
        staged = [self.desk.stage(Path(f if isinstance(f, str) else f.name), self.index) for f in files]
        seen: set[str] = set()
        for item in staged:  # two files of one batch that would be stored as the same document
            if item.doc_id in seen and item.publishable:
                item.problem = f"与同一批中的另一个文件编号相同（{item.doc_id}），请改名后分别上传"
            seen.add(item.doc_id)
        return staged, preview_markdown(staged)

    def publish(self, staged: list[Staged] | None, request: gr.Request,
                progress: gr.Progress = gr.Progress()) -> tuple[list[Staged] | None, str]:
        """The staged list to keep (all of it on failure, only the unpublishable after a publish) and a message."""
        user = getattr(request, "username", None) or "unknown"
        ready = [s for s in staged or [] if s.publishable]
        if not ready:
            return staged, "没有可以发布的文件：请先上传并查看解析结果。"
        progress(0, desc="正在发布…")
        try:
            report = self.desk.publish(ready, user, lambda f, d: progress(f, desc=d))
        except ValueError as exc:
            return staged, str(exc)
        except Exception:
            log.exception("publish failed")
            return staged, "发布失败，已撤销；索引保持原样。详情见服务器日志。"
        added = "、".join(f"《{s.title}》" for s in ready)
        message = (f"已发布 {added}：新嵌入 {report.embedded} 条，索引共 {report.clauses} 条。" if report
                   else "没有变化。")
        return [s for s in staged if not s.publishable], message

    def delete(self, doc_id: str | None, confirmed: bool, request: gr.Request,
               progress: gr.Progress = gr.Progress()) -> tuple[str, bool]:
        """A message on the outcome and the confirm box's new value (cleared once a deletion was attempted)."""
        if not doc_id:
            return "请选择要删除的文件。", confirmed
        if not confirmed:
            return "请先勾选“确认删除”。", confirmed
        user = getattr(request, "username", None) or "unknown"
        title = self.index.documents[doc_id].title if doc_id in self.index.documents else doc_id
        try:
            report = self.desk.delete(doc_id, self.index, user, lambda f, d: progress(f, desc=d))
        except ValueError as exc:
            return str(exc), False
        except Exception:
            log.exception("delete failed")
            return "删除失败，已撤销；索引保持原样。详情见服务器日志。", False
        return f"已删除《{title}》，索引共 {report.clauses} 条。", False

    def feedback_rows(self) -> list[list]:
        """The feedback log as table rows (time, rating, question, comment, answer), newest first."""
        records = self.feedback_log.records()
        return [[r["time"], "有帮助" if r["rating"] == "helpful" else "有误", r["question"], r["comment"],
                 _short(r["answer"], 80)] for r in reversed(records)]

    def audit_rows(self) -> list[list]:
        """The audit log as table rows (time, user, action, title, file, sha256 prefix), newest first."""
        names = {"publish": "发布", "replace": "替换", "delete": "删除"}
        return [[r["time"], r["user"], names.get(r["action"], r["action"]), r.get("title", ""), r["file"],
                 r["sha256"][:16]] for r in reversed(self.audit.records())]


def _some(names: list[str], limit: int = 12) -> str:
    return "、".join(names[:limit]) + (f" 等 {len(names)} 个" if len(names) > limit else "") if names else "无"


def preview_markdown(staged: list[Staged]) -> str:
    """What an upload will become once published: title, section tree, clauses, departments, contacts."""
    parts = []
    for s in staged:
        if not s.publishable:
            parts.append(f"### ✗ {html.escape(s.name)}\n不能发布：{html.escape(s.problem or '')}")
            continue
        lead, support = s.departments
        tree = "\n".join(f"{'  ' * (len(line) - len(line.lstrip()))}- {html.escape(line.strip())}"
                         for line in s.sections[:40]) or "- （没有编号标题，按段落切分）"
        contacts = "；".join(f"{c['organisation'] or c['name']} {c['phone']}".strip() for c in s.contacts) or "无"
        duplicate = (f"\n- **与已发布的《{html.escape(s.near_duplicate[1])}》近似重复**"
                     f"（相似度 {s.near_duplicate[2]}），"
                     "发布后作为同一文件的另一来源，不单独索引" if s.near_duplicate else "")
        parts.append(f"### {html.escape(s.title)}\n- 文件：{html.escape(s.name)}（编号 {s.doc_id}）\n"
                     f"- 条款：{len(s.clauses)} 条\n- 牵头部门：{html.escape(_some(lead))}\n"
                     f"- 配合部门：{html.escape(_some(support))}\n- 咨询电话：{html.escape(contacts)}"
                     f"{duplicate}\n\n章节结构：\n\n{tree}")
    return "\n\n".join(parts) + "\n\n确认无误后点击“确认发布”；发布前，这些文件不会被检索或引用。"


# -- pages ------------------------------------------------------------------------------------------------

def _clause_lookup(app: PolicyApp) -> gr.Dropdown:
    """The clause lookup, read-only: filters, a table with 牵头/配合 in view, a clause in context on click."""
    work = {"concurrency_id": "answer", "concurrency_limit": app.settings.concurrency, "api_visibility": "private"}
    chunk_ids = gr.State([])
    with gr.Row():
        query = gr.Textbox(label="检索内容", placeholder="例如：建材行业 碳达峰 牵头", scale=4)
        search_button = gr.Button("检索", variant="primary", scale=1, min_width=80)
    with gr.Row():
        docs = gr.Dropdown(app.document_choices(), multiselect=True, label="文件", min_width=240, elem_id="doc-filter")
        region = gr.Textbox(label="地区（包含）", placeholder="江西", min_width=120)
        level = gr.Dropdown(LEVEL_CHOICES, value="", label="层级", min_width=120, elem_id="level")
        section = gr.Textbox(label="条款路径前缀", placeholder="三、重点任务", min_width=160)
    with gr.Row():
        k = gr.Slider(1, 50, value=10, step=1, label="条数")
        mode = gr.Radio(MODE_CHOICES, value="hybrid", label="检索方式", elem_id="mode")
    status = gr.Markdown()
    results = gr.Dataframe(headers=RESULT_COLUMNS, interactive=False, wrap=True, label="结果",
                           column_widths=["4%", "18%", "24%", "13%", "13%", "22%", "6%"], elem_id="results")
    export = gr.DownloadButton("导出 CSV", value=None)
    context = gr.HTML(elem_id="clause-context")
    inputs = [query, docs, region, level, section, k, mode]
    outputs = [results, chunk_ids, export, status]
    search_button.click(app.clause_search, inputs, outputs, **work)
    query.submit(app.clause_search, inputs, outputs, **work)
    results.select(app.clause_context, [chunk_ids], context, api_visibility="private")
    return docs


def build_citizen_ui(app: PolicyApp) -> gr.Blocks:
    """The public page: it answers and looks up; nothing on it changes the corpus."""
    work = {"concurrency_id": "answer", "concurrency_limit": app.settings.concurrency, "api_visibility": "private"}
    with gr.Blocks(title="政策问答", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown("## 政策问答\n用日常语言提问，回答引用政策原文，标注到具体条款。")
        with gr.Tab("政策咨询"):
            conversation, answers = gr.State(None), gr.State([])
            # Gradio's own scroll-to-latest would undo the jump to a source card; rag/web.py's script scrolls.
            chatbot = gr.Chatbot(label="对话", show_label=False, height=560, elem_id="chat", buttons=[],
                                 autoscroll=False, feedback_options=("Like", "Dislike"), placeholder=PLACEHOLDER)
            with gr.Row(equal_height=True):
                question = gr.Textbox(label="您的问题", placeholder=f"例如：{EXAMPLES[0]}",
                                      show_label=False, scale=5, elem_id="question", submit_btn=False)
                ask_button = gr.Button("提问", variant="primary", scale=1, min_width=72, elem_id="ask")
            with gr.Row(equal_height=True):
                comment = gr.Textbox(label="意见（可选）", show_label=False, scale=5, elem_id="comment",
                                     placeholder="可选：先写下哪里有误，再点回答下方的“有帮助”或“有误”图标（不记录个人信息）")
                clear = gr.Button("清空对话", scale=1, min_width=72, elem_id="clear")
            thanks = gr.Markdown(elem_id="thanks")
            gr.Examples(list(EXAMPLES), inputs=question, label="示例问题")
            outputs = [chatbot, question, conversation, answers]
            ask_button.click(app.chat, [question, chatbot, conversation, answers], outputs, **work)
            question.submit(app.chat, [question, chatbot, conversation, answers], outputs, **work)
            chatbot.like(app.rate, [answers, comment], [thanks, comment], api_visibility="private")
            def reset():
                return [], "", None, [], "", ""

            clear.click(reset, None, [chatbot, question, conversation, answers, thanks, comment],
                        api_visibility="private")
            chatbot.clear(reset, None, [chatbot, question, conversation, answers, thanks, comment],
                          api_visibility="private")
        with gr.Tab("条款检索"):
            docs = _clause_lookup(app)
        with gr.Tab("文件目录"):
            table = gr.Dataframe(app.document_rows(), headers=DOCUMENT_COLUMNS,
                                 interactive=False, wrap=True, elem_id="documents", label="已发布的政策文件")
        # Each visit sees the documents published so far (staff may have added some since the page was built).
        demo.load(lambda: (gr.update(choices=app.document_choices()), app.document_rows()), None, [docs, table],
                  api_visibility="private")
        gr.api(app.api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=app.settings.concurrency)
        gr.api(app.api_search, api_name="search", **{**work, "api_visibility": "public"})
    return demo


NO_ACCOUNT = """## 工作人员后台尚未启用
还没有配置工作人员账号，因此这里不能上传、发布或删除任何文件。

在服务器上运行以下命令创建账号（密码只以加密散列保存在本机配置目录，不进入代码仓库），然后重启应用：

    .venv/bin/policy-rag staff add 用户名
"""


def build_staff_ui(app: PolicyApp) -> gr.Blocks:
    """The staff desk: reached only after login (see create_server)."""
    with gr.Blocks(title="政策问答 · 工作人员", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        if not app.accounts.configured():
            gr.Markdown(NO_ACCOUNT, elem_id="no-account")
            return demo
        gr.Markdown("## 政策问答 · 工作人员后台\n上传的文件先解析预览，确认后才发布；每次发布和删除都记入审计日志。")
        with gr.Tab("上传发布"):
            staged = gr.State([])
            files = gr.File(file_count="multiple", file_types=list(SUFFIXES), elem_id="upload",
                            label=f"选择文件（{'、'.join(SUFFIXES)}，每个不超过 {app.settings.max_file_mb} MB）")
            parse = gr.Button("解析预览", elem_id="parse")
            preview = gr.Markdown(elem_id="preview")
            with gr.Row():
                publish = gr.Button("确认发布", variant="primary", elem_id="publish")
                cancel = gr.Button("取消", elem_id="cancel")
            result = gr.Textbox(label="发布结果", lines=2, interactive=False, elem_id="publish-result")
        with gr.Tab("文件管理"):
            documents = gr.Dataframe(app.document_rows(), headers=DOCUMENT_COLUMNS,
                                     interactive=False, wrap=True, elem_id="staff-documents", label="已发布的文件")
            with gr.Row():
                removable = gr.Dropdown(list(_uploads(app)), label="工作人员上传的文件", elem_id="removable")
                confirm = gr.Checkbox(label="确认删除", elem_id="confirm-delete")
                remove = gr.Button("删除", variant="stop", elem_id="delete")
            removed = gr.Textbox(label="删除结果", interactive=False, elem_id="delete-result")
        with gr.Tab("条款检索"):
            docs = _clause_lookup(app)
        with gr.Tab("反馈记录"):
            feedback = gr.Dataframe(app.feedback_rows(), headers=["时间", "评价", "问题", "意见", "回答"],
                                    interactive=False, wrap=True, label="市民反馈（最新在前）")
        with gr.Tab("审计日志"):
            audit = gr.Dataframe(app.audit_rows(), headers=["时间", "账号", "操作", "标题", "文件", "SHA-256 前16位"],
                                 interactive=False, wrap=True, elem_id="audit", label="发布与删除记录（最新在前）")
        refresh = [documents, removable, docs, audit, feedback]

        def refreshed():
            return (app.document_rows(), gr.update(choices=list(_uploads(app)), value=None),
                    gr.update(choices=app.document_choices()), app.audit_rows(), app.feedback_rows())

        parse.click(app.stage, [files], [staged, preview], api_visibility="private")
        publish.click(app.publish, [staged], [staged, result], api_visibility="private",
                      concurrency_id="indexing", concurrency_limit=1).then(refreshed, None, refresh,
                                                                           api_visibility="private")
        cancel.click(lambda: ([], "已取消，未发布任何文件。", None), None, [staged, preview, files],
                     api_visibility="private")
        remove.click(app.delete, [removable, confirm], [removed, confirm], api_visibility="private",
                     concurrency_id="indexing", concurrency_limit=1).then(refreshed, None, refresh,
                                                                          api_visibility="private")
        demo.load(refreshed, None, refresh, api_visibility="private")
    return demo


def _uploads(app: PolicyApp) -> list[tuple[str, str]]:
    return sorted(((title, doc_id) for doc_id, title in app.desk.uploaded(app.index).items()), key=lambda c: c[1])


def create_server(app: PolicyApp) -> FastAPI:
    """One server: document pages, the staff desk at /staff (login when an account exists), the citizen page."""
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    server.add_middleware(ChinesePages)

    @server.get("/document/{doc_id}")
    def document(doc_id: str, start: int | None = None, end: int | None = None, script: str = "zh-Hans",
                 variant: str = TRADITIONAL_VARIANTS[0]) -> HTMLResponse:
        return app.document_html(doc_id, start, end, script, variant)

    common = {"footer_links": [], "i18n": I18N, "css": CSS, "show_error": True}
    staff = build_staff_ui(app).queue(max_size=app.settings.queue_max_size)
    auth = app.accounts.authenticate if app.accounts.configured() else None
    gr.mount_gradio_app(server, staff, path="/staff", auth=auth, auth_message="政策问答 · 工作人员登录",
                        max_file_size=f"{app.settings.max_file_mb}mb", **common)
    citizen = build_citizen_ui(app).queue(max_size=app.settings.queue_max_size)
    # The citizen page has no upload; Gradio's upload route still exists, so it is kept tiny.
    gr.mount_gradio_app(server, citizen, path="/", max_file_size="1kb", **common)
    return server


def main() -> None:
    """Builds the index if there is none, then serves the app until stopped (`make run`, `python app.py`)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings()
    started = time.perf_counter()
    PolicyApp.ensure_index(settings)
    try:
        app = PolicyApp(settings)
    except IndexUnavailable as exc:
        raise SystemExit(f"无法启动：{exc}") from exc
    server = create_server(app)
    staff = "工作人员后台 /staff/" if app.accounts.configured() else \
        "工作人员后台未启用（.venv/bin/policy-rag staff add 用户名）"
    log.info("政策问答 ready in %.1fs: http://%s:%d  ·  %s", time.perf_counter() - started, settings.host,
             settings.port, staff)
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
