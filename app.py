"""政策问答 — the Gradio app: 政策咨询 (chat for citizens), 条款检索 (clause desk for staff), 文件库 (documents).

`make run` or `python app.py` builds the index on the first run (with progress) and serves on
127.0.0.1:7860 (POLICY_RAG_HOST / POLICY_RAG_PORT). Named API endpoints /ask and /search serve gradio_client.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import gradio as gr

from rag.answering import Answerer, Conversation
from rag.config import Settings
from rag.documents import SUFFIXES, LoadError, doc_id_for, load_document
from rag.index import IndexUnavailable, PolicyIndex, build_index
from rag.present import answer_markdown, clause_in_context, sources_html
from rag.search import MODES, Filters, Searcher
from rag.textnorm import to_traditional

EXAMPLES = [
    "成都到2025年新能源车要达到多少辆？",
    "瑞金推动建材行业碳达峰是哪个部门牵头？",
    "瑞金、成都和江西省2025年非化石能源消费比重目标分别是多少？",
    "成都到2025年新能源車要達到多少輛？",
]
RESULT_COLUMNS = ["#", "文件", "条款路径", "条款内容", "牵头部门", "配合部门", "得分", "chunk_id"]
LEVELS = ["", "province", "city", "district"]
CSS = """
.source {border:1px solid #ddd; border-radius:8px; padding:8px 10px; margin:8px 0; font-size:14px; line-height:1.6}
.source-head {font-weight:600} .source-section {color:#555; font-size:13px; margin:2px 0 6px}
.source mark {background:#ffe58f; padding:0 1px} .contact {color:#0b6b3a; margin:4px 0}
.full-text {max-height:320px; overflow-y:auto; font-size:13px; color:#333} .muted {color:#888}
"""


def _write_csv(rows: list[list]) -> str:
    handle = tempfile.NamedTemporaryFile("w", suffix=".csv", prefix="policy-search-", delete=False,
                                         encoding="utf-8-sig", newline="")
    with handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        writer.writerows(rows)
    return handle.name


class PolicyApp:
    """What the UI calls: one searcher and answerer per process, swapped after an upload re-indexes."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.lock = threading.Lock()
        self.reload()

    def reload(self) -> None:
        searcher = Searcher.open(self.settings)
        llm = None
        if self.settings.llm_base_url:
            from rag.llm import LLMWriter

            llm = LLMWriter.from_settings(self.settings)
        self.searcher, self.llm = searcher, llm
        self.answerer = Answerer(searcher, self.settings, llm=llm)  # the API: the LLM rewrites when configured
        self.extractive = Answerer(searcher, self.settings)  # the chat: extractive first, then the LLM streams
        self.extractive.ask("碳达峰")  # warm: jieba's tagger and the question encoder

    @staticmethod
    def ensure_index(settings: Settings) -> None:
        """The first run builds the index, with progress on the console."""
        if PolicyIndex.exists(settings.index_dir):
            return
        from rag.embedding import Embedder

        print(f"首次运行：正在建立索引 {settings.index_dir} …", flush=True)
        report = build_index(settings.all_corpus_dirs(), settings.index_dir, settings, lambda: Embedder(settings),
                             progress=True)
        print(f"索引完成：{report.clauses} 条款，{report.seconds:.0f} 秒", flush=True)

    # -- 政策咨询 -------------------------------------------------------------------------------------

    def chat(self, message: str, history: list, conversation: Conversation | None, last: dict | None):
        message = (message or "").strip()
        history = list(history or [])
        if not message:
            yield history, "", conversation, last, gr.update()
            return
        conversation = conversation or Conversation(self.extractive)
        # The question is shown as typed, as text: markup in it is escaped, never rendered or run.
        shown = message if len(message) <= 2000 else message[:2000] + "…"
        history.append({"role": "user", "content": html.escape(shown)})
        yield history + [{"role": "assistant", "content": "…"}], "", conversation, last, gr.update()
        answer = conversation.ask(message)
        if self.llm is not None and not answer.refused and answer.confidence != "low":
            for partial, final in self.llm.stream(answer, self.extractive):
                if final is None:
                    shown = to_traditional(partial, answer.variant) if answer.script == "zh-Hant" else partial
                    yield history + [{"role": "assistant", "content": shown}], "", conversation, last, gr.update()
                else:
                    answer = final
                    if answer.mode == "llm" and answer.script == "zh-Hant":
                        answer.answer = to_traditional(answer.answer, answer.variant)
        text = answer_markdown(answer)
        # The answer streams in; markers and links arrive whole because the cut points are sentence ends.
        cuts = [m.end() for m in re.finditer(r"[。；;\n]", text)] + [len(text)]
        for cut in cuts[:-1]:
            yield history + [{"role": "assistant", "content": text[:cut]}], "", conversation, last, gr.update()
        history.append({"role": "assistant", "content": text})
        last = {"question": message, **answer.to_dict()}
        yield history, "", conversation, last, sources_html(answer, self.searcher.index)

    def feedback(self, rating: str, comment: str, last: dict | None) -> str:
        """Appended to a JSON-lines file staff review; nothing about the user is stored."""
        if not last:
            return "请先提一个问题。"
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rating": rating,
            "comment": (comment or "").strip()[:1000], "question": last["question"], "answer": last["answer"],
            "refused": last["refused"], "citations": [c["chunk_id"] for c in last["citations"]],
        }
        path = self.settings.feedback_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock, open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "谢谢，反馈已记录。"

    # -- API ------------------------------------------------------------------------------------------

    def api_ask(self, question: str) -> dict:
        """One answer in the `policy-rag ask --json` contract."""
        return self.answerer.ask(question).to_dict()

    def api_search(self, query: str, k: int = 5) -> dict:
        """Clauses in the `policy-rag search --json` contract."""
        hits = self.searcher.search(query, k=int(k))
        return {"id": None, "query": query, "hits": [h.to_dict() for h in hits]}

    # -- 条款检索 -------------------------------------------------------------------------------------

    def staff_search(self, query: str, docs: list[str], region: str, level: str, section: str, k: float, mode: str):
        if not (query or "").strip():
            return [], [], None, "请输入检索内容。"
        filters = Filters(tuple(docs or ()), region.strip() or None, level or None, section.strip() or None)
        hits = self.searcher.search(query, k=int(k), mode=mode, filters=filters)
        rows = [[h.rank, h.clause.title, h.clause.section, h.clause.text, "、".join(h.clause.lead_departments),
                 "、".join(h.clause.supporting_departments), round(h.score, 4), h.clause.chunk_id] for h in hits]
        message = f"找到 {len(rows)} 条。" if rows else "没有找到符合条件的条款。"
        return rows, [h.clause.chunk_id for h in hits], (_write_csv(rows) if rows else None), message

    def staff_context(self, chunk_ids: list[str], event: gr.SelectData) -> str:
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        if not chunk_ids or row is None or row >= len(chunk_ids):
            return ""
        return clause_in_context(self.searcher.index, chunk_ids[row])

    # -- 文件库 ---------------------------------------------------------------------------------------

    def documents(self) -> list[list]:
        counts: dict[str, int] = {}
        for clause in self.searcher.index.clauses:
            counts[clause.doc_id] = counts.get(clause.doc_id, 0) + 1
        rows = []
        for doc in self.searcher.index.documents.values():
            m = doc.metadata
            rows.append([doc.doc_id, doc.title, m.get("issuer", ""), m.get("region", ""), m.get("level", ""),
                         m.get("date", ""), m.get("type", ""), counts.get(doc.doc_id, 0),
                         "、".join(d["doc_id"] for d in doc.duplicates)])
        return rows

    def check_upload(self, path: Path) -> str | None:
        """Why a file cannot be added, in Chinese, or None. The file is read the way indexing reads it."""
        if path.suffix.lower() not in SUFFIXES:
            return f"{path.name}：不支持的文件类型（支持 {'、'.join(SUFFIXES)}）"
        try:
            load_document(path, max_bytes=self.settings.max_file_bytes)
        except LoadError as exc:
            return f"{path.name}：{exc.reason}"
        return None

    def upload_target(self, name: str) -> Path:
        """Where an upload is stored: its sanitised id inside the upload folder, whatever the name says."""
        folder = self.settings.upload_dir.resolve()
        target = (folder / (doc_id_for(Path(name)) + Path(name).suffix.lower())).resolve()
        if target.parent != folder:  # cannot happen with doc_id_for's alphabet; checked because it matters
            raise ValueError(f"upload name {name!r} escapes the upload folder")
        return target

    def upload(self, files: list | None, progress=gr.Progress(track_tqdm=True)):
        if not files:
            return "请选择要上传的文件。", self.documents()
        messages, accepted = [], []
        for item in files:
            path = Path(item if isinstance(item, str) else item.name)
            problem = self.check_upload(path)
            if problem:
                messages.append(problem)
            else:
                accepted.append(path)
        if accepted:
            target = self.settings.upload_dir
            target.mkdir(parents=True, exist_ok=True)
            for path in accepted:
                shutil.copy(path, self.upload_target(path.name))
            from rag.embedding import Embedder

            progress(0, desc="正在建立索引…")
            with self.lock:
                report = build_index(self.settings.all_corpus_dirs(), self.settings.index_dir, self.settings,
                                     lambda: Embedder(self.settings), progress=True)
                self.reload()
            messages.append(f"已加入索引：{'、'.join(report.added + report.changed) or '无变化'}"
                            f"（新嵌入 {report.embedded} 条，共 {report.clauses} 条）")
            messages += [f"{Path(s.path).name}：{s.reason}" for s in report.skipped]
        return "\n".join(messages), self.documents()


def build_ui(app: PolicyApp) -> gr.Blocks:
    doc_ids = sorted(app.searcher.index.documents)
    # Every answering or searching event draws on one pool of `concurrency` workers; indexing has its own.
    work = {"concurrency_id": "answer", "concurrency_limit": app.settings.concurrency, "api_visibility": "private"}
    with gr.Blocks(title="政策问答") as demo:
        gr.Markdown("## 政策问答\n用日常语言提问，回答引用政策原文，标注到具体条款。")
        with gr.Tab("政策咨询"):
            conversation, last = gr.State(None), gr.State(None)
            with gr.Row():
                with gr.Column(scale=3, min_width=320):
                    chatbot = gr.Chatbot(label="对话", height=460, elem_id="chat")
                    with gr.Row():
                        question = gr.Textbox(placeholder="例如：成都到2025年新能源车要达到多少辆？", show_label=False,
                                              scale=5, elem_id="question", submit_btn=False)
                        ask_button = gr.Button("提问", variant="primary", scale=1, min_width=80, elem_id="ask")
                    gr.Examples(EXAMPLES, inputs=question, label="示例问题")
                    with gr.Row():
                        helpful = gr.Button("有帮助", size="sm", min_width=80)
                        wrong = gr.Button("有误", size="sm", min_width=80)
                    comment = gr.Textbox(placeholder="可选：说明哪里有误（不会记录任何个人信息）", show_label=False, lines=1)
                    thanks = gr.Markdown()
                with gr.Column(scale=2, min_width=320):
                    sources = gr.HTML("<p class='muted'>提问后，这里显示回答所引用的政策原文。</p>", elem_id="sources")
            outputs = [chatbot, question, conversation, last, sources]
            inputs = [question, chatbot, conversation, last]
            ask_button.click(app.chat, inputs, outputs, **work)
            question.submit(app.chat, inputs, outputs, **work)
            helpful.click(lambda c, l: app.feedback("helpful", c, l), [comment, last], thanks, api_visibility="private")
            wrong.click(lambda c, l: app.feedback("wrong", c, l), [comment, last], thanks, api_visibility="private")
        with gr.Tab("条款检索"):
            chunk_ids = gr.State([])
            with gr.Row():
                query = gr.Textbox(label="检索内容", placeholder="例如：建材行业 碳达峰 牵头", scale=4)
                search_button = gr.Button("检索", variant="primary", scale=1, min_width=80)
            with gr.Row():
                docs = gr.Dropdown(doc_ids, multiselect=True, label="文件", min_width=200)
                region = gr.Textbox(label="地区（包含）", placeholder="江西", min_width=120)
                level = gr.Dropdown(LEVELS, value="", label="层级", min_width=120)
                section = gr.Textbox(label="条款路径前缀", placeholder="三、重点任务", min_width=160)
            with gr.Row():
                k = gr.Slider(1, 50, value=10, step=1, label="条数")
                mode = gr.Radio(list(MODES), value="hybrid", label="检索方式")
            status = gr.Markdown()
            results = gr.Dataframe(headers=RESULT_COLUMNS, interactive=False, wrap=True, label="结果（点击一行查看上下文）")
            export = gr.DownloadButton("导出 CSV", value=None)
            context = gr.HTML()
            search_button.click(app.staff_search, [query, docs, region, level, section, k, mode],
                                [results, chunk_ids, export, status], **work)
            query.submit(app.staff_search, [query, docs, region, level, section, k, mode],
                         [results, chunk_ids, export, status], **work)
            results.select(app.staff_context, [chunk_ids], context, api_visibility="private")
        with gr.Tab("文件库"):
            table = gr.Dataframe(app.documents(), headers=["编号", "标题", "发布机关", "地区", "层级", "日期", "类型", "条款数", "同文另一来源"],
                                 interactive=False, wrap=True)
            files = gr.File(file_count="multiple", file_types=list(SUFFIXES),
                            label=f"上传文件（{'、'.join(SUFFIXES)}，每个不超过 {app.settings.max_file_mb} MB）")
            add = gr.Button("加入索引", variant="primary")
            upload_status = gr.Textbox(label="结果", lines=3, interactive=False)
            add.click(app.upload, [files], [upload_status, table], api_visibility="private",
                      concurrency_id="indexing", concurrency_limit=1)
        gr.api(app.api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=app.settings.concurrency)
        gr.api(app.api_search, api_name="search", concurrency_id="answer", concurrency_limit=app.settings.concurrency)
    return demo


def main() -> None:
    settings = Settings()
    started = time.perf_counter()
    PolicyApp.ensure_index(settings)
    try:
        app = PolicyApp(settings)
    except IndexUnavailable as exc:
        raise SystemExit(f"无法启动：{exc}") from exc
    demo = build_ui(app)
    print(f"政策问答 ready in {time.perf_counter() - started:.1f}s: http://{settings.host}:{settings.port}", flush=True)
    demo.queue(max_size=settings.queue_max_size).launch(server_name=settings.host, server_port=settings.port, css=CSS, show_error=True)


if __name__ == "__main__":
    main()
