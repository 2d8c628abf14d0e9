"""The citizen page (/): 政策咨询 (the chat, with a welcome of common questions by topic), 条款检索 (the clause
lookup, shared with the staff desk) and 文件目录, plus the named API endpoints /ask and /search. Nothing on it
changes the corpus."""

from __future__ import annotations

import gradio as gr

from ..answer import EXAMPLES
from .lookup import ClauseLookup
from .present import LEVELS
from .service import WELCOME_PAGE, PolicyApp

MODE_CHOICES = [("混合", "hybrid"), ("语义", "dense"), ("关键词", "bm25")]
LEVEL_CHOICES = [("全部", "")] + [(name, value) for value, name in LEVELS.items()]
LIVE_REGION = "<div id='answer-status' class='sr-only' role='status' aria-live='polite' aria-atomic='true'></div>"


def _answering(app: PolicyApp) -> dict:
    # Answers and lookups share one queue and one worker limit, so lookups cannot starve the chat; both private.
    return {"concurrency_id": "answer", "concurrency_limit": app.settings.concurrency, "api_visibility": "private"}


def clause_lookup_tab(app: PolicyApp) -> gr.Dropdown:
    """The clause lookup, read-only: filters, results as a table (cards on a phone) with 牵头/配合 in view, each
    clause in context on demand. Returns the document filter, whose choices the page refreshes on each visit."""
    work = _answering(app)
    lookup = ClauseLookup(app)
    with gr.Row():
        query = gr.Textbox(label="检索内容", placeholder="例如：建材行业 碳达峰 牵头", scale=4, elem_id="lookup-query")
        search_button = gr.Button("检索", variant="primary", scale=1, min_width=80)
    with gr.Row():
        docs = gr.Dropdown(app.document_choices(), multiselect=True, label="文件", min_width=240, elem_id="doc-filter")
        region = gr.Textbox(label="地区（包含）", placeholder="江西", min_width=120)
        level = gr.Dropdown(LEVEL_CHOICES, value="", label="层级", min_width=120, elem_id="level")
        section = gr.Textbox(label="条款路径前缀", placeholder="三、重点任务", min_width=160)
    with gr.Row():
        k = gr.Slider(1, 50, value=10, step=1, label="条数")
        mode = gr.Radio(MODE_CHOICES, value="hybrid", label="检索方式", elem_id="mode")
    status = gr.Markdown(elem_id="lookup-status")
    results = gr.HTML(elem_id="results")
    export = gr.DownloadButton("导出 CSV", value=None)
    inputs = [query, docs, region, level, section, k, mode]
    outputs = [results, export, status]
    search_button.click(lookup.clause_search, inputs, outputs, **work)
    query.submit(lookup.clause_search, inputs, outputs, **work)
    return docs


def build_citizen_ui(app: PolicyApp) -> gr.Blocks:
    """The public page: it answers and looks up; nothing on it changes the corpus."""
    work = _answering(app)
    with gr.Blocks(title="政策问答", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# 政策问答\n用日常语言提问，回答引用政策原文，标注到具体条款。")
        with gr.Tab("政策咨询"):
            conversation, answers = gr.State(None), gr.State([])
            # Gradio's own scroll-to-latest would undo the jump to a source card; rag/app/web.py's script scrolls.
            # The welcome's common questions are filled in when the page loads (asked when the index was loaded).
            chatbot = gr.Chatbot(label="对话", show_label=False, height=560, elem_id="chat", buttons=[],
                                 autoscroll=False, feedback_options=("Like", "Dislike"),
                                 placeholder=WELCOME_PAGE.format(way_in=""))
            with gr.Row(equal_height=True):
                question = gr.Textbox(label="您的问题", placeholder=f"例如：{EXAMPLES[0]}",
                                      show_label=False, scale=5, elem_id="question", submit_btn=False)
                ask_button = gr.Button("提问", variant="primary", scale=1, min_width=72, elem_id="ask")
            with gr.Row(equal_height=True):
                comment = gr.Textbox(label="意见（可选）", show_label=False, scale=5, elem_id="comment",
                                     placeholder="可选：先写下哪里有误，再点回答下方的“有帮助”或“有误”图标（不记录个人信息）")
                clear = gr.Button("清空对话", scale=1, min_width=72, elem_id="clear")
            thanks = gr.Markdown(elem_id="thanks")
            # What a screen reader says when an answer arrives (rag/app/web.py's script fills it, once an answer).
            gr.HTML(LIVE_REGION, elem_id="answer-live")
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
            docs = clause_lookup_tab(app)
        with gr.Tab("文件目录"):
            table = gr.HTML(elem_id="documents")

        def visit():
            # Each visit sees the documents published so far (staff may have added some since the page was built)
            # and the welcome's questions as the current documents and official answers answer them (worked out
            # once for each, so a visit in this single-slot queue takes milliseconds).
            return (gr.update(choices=app.document_choices()), app.document_table(),
                    gr.update(placeholder=app.welcome_page()))

        demo.load(visit, None, [docs, table, chatbot], api_visibility="private")
        gr.api(app.api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=app.settings.concurrency)
        gr.api(app.api_search, api_name="search", **{**work, "api_visibility": "public"})
    return demo
