"""The desk's hotline tabs: 待处理问题 (the queue, grouped by meaning) and 标准答复 (draft with clause search,
approve by a second account, withdraw). What they call is rag/staff; this module only lays it out."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from ..staff import OfficialAnswerError, QueueGroup, beijing_time, open_queue
from ..staff.official import DRAFT, PUBLISHED
from .lookup import shorten
from .service import PolicyApp

QUEUE_COLUMNS = ["次数", "问题", "其他问法", "结果", "最近一次（北京时间）"]
OFFICIAL_COLUMNS = ["编号", "状态", "问题", "起草", "审核", "引用条款"]
OUTCOME_NAMES = {"refused": "未找到", "hedged": "仅供参考", "flagged": "市民反馈有误", "withdrawn": "标准答复已撤回"}
STATE_NAMES = {DRAFT: "草稿（待审核）", PUBLISHED: "已发布", "withdrawn": "已撤回"}
SINGLE_ACCOUNT = "目前只有一个工作人员账号：起草的答复需要另一个账号审核后才会发布（policy-rag staff add 用户名）。"


def _user(request: gr.Request | None) -> str:
    return getattr(request, "username", None) or "unknown"


class HotlineHandlers:
    """What the two tabs' events call."""

    def __init__(self, app: PolicyApp):
        self.app = app

    # -- 待处理问题 --------------------------------------------------------------------------------------

    def groups(self) -> list[QueueGroup]:
        """The open groups, most asked first."""
        entries = self.app.question_log.entries()
        return open_queue(entries, self.app.queue_decisions, self.app.searcher.encoder()) if entries else []

    def queue_view(self) -> tuple[list[list], dict, str]:
        """The queue's rows, the group choices and a summary line."""
        groups = self.groups()
        rows = [[g.count, g.question, "；".join(q for q, _ in g.questions[1:]) or "—",
                 "、".join(f"{OUTCOME_NAMES.get(k, k)} {v}" for k, v in g.outcomes.items()),
                 beijing_time(g.last_asked)] for g in groups]
        choices = [(f"{g.count} 次 · {shorten(g.question, 40)}", g.key) for g in groups]
        summary = f"共 {len(groups)} 组待处理（同一需求的不同问法归为一组）。" if groups else "没有待处理的问题。"
        return rows, gr.update(choices=choices, value=None), summary

    def dismiss(self, key: str | None, reason: str, request: gr.Request) -> str:
        """Take a group out of the queue with a reason."""
        group = next((g for g in self.groups() if g.key == key), None)
        if group is None:
            return "请先选择一组问题。"
        try:
            self.app.queue_decisions.dismiss(group, _user(request), reason or "")
        except ValueError:
            return "请填写忽略的理由。"
        return f"已忽略“{group.question}”（{group.count} 次）：{reason.strip()}"

    def answer_group(self, key: str | None) -> tuple[str, str, str]:
        """The draft form filled from a group: its most asked wording and the others as paraphrases."""
        group = next((g for g in self.groups() if g.key == key), None)
        if group is None:
            return "", "", "请先选择一组问题。"
        others = "\n".join(q for q, _ in group.questions[1:])
        return group.question, others, "已填入“标准答复”页：请检索并勾选要引用的条款，写好答复后保存草稿。"

    # -- 标准答复 ----------------------------------------------------------------------------------------

    def clause_choices(self, query: str) -> tuple[dict, str]:
        """Clauses for the citation picker: (《title》section — text, chunk id)."""
        if not (query or "").strip():
            return gr.update(choices=[]), "请输入检索内容。"
        hits = self.app.searcher.search(query, k=10)
        choices = [(f"《{h.clause.title}》{h.clause.section} — {shorten(h.clause.text, 50)}", h.clause.chunk_id)
                   for h in hits]
        return gr.update(choices=choices, value=[]), f"找到 {len(choices)} 条，勾选要引用的条款。"

    def save_draft(self, question: str, paraphrases: str, answer: str, chunk_ids: list[str] | None,
                   request: gr.Request) -> str:
        """A draft by the logged-in account; a problem said in Chinese."""
        try:
            drafted = self.app.officials.draft(question or "", answer or "", list(chunk_ids or []), _user(request),
                                               self.app.index, (paraphrases or "").splitlines())
        except OfficialAnswerError as exc:
            return str(exc)
        note = SINGLE_ACCOUNT if len(self.app.accounts.load()) < 2 else "请另一位工作人员审核后发布。"
        return f"已保存草稿 {drafted.id}。{note}"

    def official_view(self) -> tuple[list[list], dict, str]:
        """Every official answer as rows, the choices to act on, and the single-account notice if it applies."""
        answers = self.app.officials.all()
        rows = [[a.id, STATE_NAMES.get(a.state, a.state), a.question,
                 f"{a.drafted_by} {beijing_time(a.drafted_at)}",
                 f"{a.approved_by} {beijing_time(a.approved_at)}" if a.approved_at else "—",
                 "；".join(f"《{c.title}》{c.section}" for c in a.citations)] for a in reversed(answers)]
        choices = [(f"{a.id} · {STATE_NAMES.get(a.state, a.state)} · {shorten(a.question, 30)}", a.id)
                   for a in reversed(answers) if a.state != "withdrawn"]
        notice = SINGLE_ACCOUNT if len(self.app.accounts.load()) < 2 else ""
        return rows, gr.update(choices=choices, value=None), notice

    def approve(self, answer_id: str | None, request: gr.Request) -> str:
        """Publish a draft (never the drafter's own)."""
        if not answer_id:
            return "请先选择一条标准答复。"
        try:
            approved = self.app.officials.approve(answer_id, _user(request))
        except OfficialAnswerError as exc:
            return str(exc)
        self.app.queue_decisions.answered(approved.wordings, _user(request), approved.id)
        return f"已发布 {approved.id}：市民以相同意思提问时将收到这条工作人员审核答复。"

    def withdraw(self, answer_id: str | None, reason: str, request: gr.Request) -> str:
        """Stop serving an answer."""
        if not answer_id:
            return "请先选择一条标准答复。"
        try:
            withdrawn = self.app.officials.withdraw(answer_id, _user(request), reason or "")
        except OfficialAnswerError as exc:
            return str(exc)
        return f"已撤回 {withdrawn.id}。"


def hotline_tabs(app: PolicyApp) -> tuple[list, Callable[[], tuple]]:
    """The two tabs, laid out inside the desk's Blocks; returns the components a visit refreshes and the
    function that refreshes them."""
    work = HotlineHandlers(app)
    private = {"api_visibility": "private"}
    with gr.Tab("待处理问题"):
        queue_summary = gr.Markdown(elem_id="queue-summary")
        queue = gr.Dataframe(headers=QUEUE_COLUMNS, interactive=False, wrap=True, elem_id="queue",
                             label="市民问到而文件没有答复的问题（问得最多的在前）")
        with gr.Row():
            group = gr.Dropdown([], label="选择一组", elem_id="queue-group", scale=3)
            reason = gr.Textbox(label="忽略理由", placeholder="例如：不属于本热线受理范围", scale=2)
        with gr.Row():
            dismiss = gr.Button("忽略", elem_id="queue-dismiss")
            answer_it = gr.Button("起草标准答复", variant="primary", elem_id="queue-answer")
        queue_result = gr.Markdown(elem_id="queue-result")
    with gr.Tab("标准答复"):
        notice = gr.Markdown(elem_id="official-notice")
        question = gr.Textbox(label="问题", elem_id="official-question")
        paraphrases = gr.Textbox(label="其他问法（每行一个）", lines=3, elem_id="official-paraphrases")
        answer = gr.Textbox(label="答复", lines=4, elem_id="official-answer")
        with gr.Row():
            clause_query = gr.Textbox(label="检索要引用的条款", scale=4, elem_id="official-clause-query")
            clause_search = gr.Button("检索条款", scale=1, elem_id="official-clause-search")
        clause_status = gr.Markdown()
        clauses = gr.CheckboxGroup([], label="引用的条款（至少一条，引用条款原文）", elem_id="official-clauses")
        save = gr.Button("保存草稿", variant="primary", elem_id="official-save")
        saved = gr.Markdown(elem_id="official-saved")
        answers = gr.Dataframe(headers=OFFICIAL_COLUMNS, interactive=False, wrap=True, elem_id="officials",
                               label="标准答复（最新在前）")
        with gr.Row():
            chosen = gr.Dropdown([], label="选择一条", elem_id="official-chosen", scale=3)
            withdraw_reason = gr.Textbox(label="撤回理由", scale=2)
        with gr.Row():
            approve = gr.Button("审核通过并发布", variant="primary", elem_id="official-approve")
            withdraw = gr.Button("撤回", variant="stop", elem_id="official-withdraw")
        acted = gr.Markdown(elem_id="official-acted")

    def refreshed():
        return (*work.queue_view(), *work.official_view())

    outputs = [queue, group, queue_summary, answers, chosen, notice]
    dismiss.click(work.dismiss, [group, reason], queue_result, **private).then(refreshed, None, outputs, **private)
    answer_it.click(work.answer_group, [group], [question, paraphrases, queue_result], **private)
    clause_search.click(work.clause_choices, [clause_query], [clauses, clause_status], **private)
    clause_query.submit(work.clause_choices, [clause_query], [clauses, clause_status], **private)
    save.click(work.save_draft, [question, paraphrases, answer, clauses], saved, **private).then(
        refreshed, None, outputs, **private)
    approve.click(work.approve, [chosen], acted, **private).then(refreshed, None, outputs, **private)
    withdraw.click(work.withdraw, [chosen, withdraw_reason], acted, **private).then(refreshed, None, outputs,
                                                                                   **private)
    return outputs, refreshed
