"""The staff desk (/staff/): upload → parsed preview → publish, delete, the clause lookup, the feedback log and
the audit log. With no account configured it only says how to create one."""

from __future__ import annotations

import html
import logging
from pathlib import Path

import gradio as gr

from ..ingest import SUFFIXES
from ..ingest.dates import DocumentDates
from ..staff import Staged, beijing_time
from .citizen import clause_lookup_tab
from .hotline_pages import hotline_tabs
from .lookup import shorten
from .service import DOCUMENT_COLUMNS, PolicyApp

log = logging.getLogger("policy_rag.app")

NO_ACCOUNT = """## 工作人员后台尚未启用
还没有配置工作人员账号，因此这里不能上传、发布或删除任何文件。

在服务器上运行以下命令创建账号（密码只以加密散列保存在本机配置目录，不进入代码仓库），然后重启应用：

    .venv/bin/policy-rag staff add 用户名
"""


TREE_LINES = 40  # the preview's section tree; the rest is counted


def _some(names: list[str], limit: int = 12) -> str:
    return "、".join(names[:limit]) + (f" 等 {len(names)} 个" if len(names) > limit else "") if names else "无"


def dates_markdown(dates: DocumentDates | None) -> str:
    """The dates read from an upload, each with the words it came from (staff check them before publishing)."""
    if dates is None:
        return ""
    lines = []
    for label, found in (("印发日期", dates.issued), ("施行日期", dates.effective), ("有效期至", dates.expires)):
        if found is None:
            lines.append(f"  - {label}：未注明")
            continue
        value = "自印发之日起" if found.value == "issued" else found.value.removeprefix("open: ")
        lines.append(f"  - {label}：{html.escape(value)}（依据：“{html.escape(found.evidence)}”）")
    return "\n- 日期（请核对，如有误请修改文件后重新上传）：\n" + "\n".join(lines)


def preview_markdown(staged: list[Staged]) -> str:
    """What an upload will become once published: title, section tree, clauses, departments, contacts."""
    parts = []
    for s in staged:
        if not s.publishable:
            parts.append(f"### ✗ {html.escape(s.name)}\n不能发布：{html.escape(s.problem or '')}")
            continue
        lead, support = s.departments
        tree = "\n".join(f"{'  ' * (len(line) - len(line.lstrip()))}- {html.escape(line.strip())}"
                         for line in s.sections[:TREE_LINES]) or "- （没有编号标题，按段落切分）"
        if len(s.sections) > TREE_LINES:
            tree += f"\n\n……另有 {len(s.sections) - TREE_LINES} 个标题未列出（共 {len(s.sections)} 个）。"
        replaces = (f"\n- **将替换已发布的同名文件**：原 {s.replaces} 条条款，发布后为 {len(s.clauses)} 条"
                    if s.replaces is not None else "")
        contacts = "；".join(f"{c['organisation'] or c['name']} {c['phone']}".strip() for c in s.contacts) or "无"
        duplicate = (f"\n- **与已发布的《{html.escape(s.near_duplicate[1])}》近似重复**"
                     f"（相似度 {s.near_duplicate[2]}），"
                     "发布后作为同一文件的另一来源，不单独索引" if s.near_duplicate else "")
        parts.append(f"### {html.escape(s.title)}\n- 文件：{html.escape(s.name)}（编号 {s.doc_id}）\n"
                     f"- 条款：{len(s.clauses)} 条\n- 牵头部门：{html.escape(_some(lead))}\n"
                     f"- 配合部门：{html.escape(_some(support))}\n- 咨询电话：{html.escape(contacts)}"
                     f"{duplicate}{replaces}{dates_markdown(s.dates)}\n\n章节结构：\n\n{tree}")
    return "\n\n".join(parts) + "\n\n确认无误后点击“确认发布”；发布前，这些文件不会被检索或引用。"


class StaffHandlers:
    """What the staff desk's events call, over the app's document desk and logs."""

    def __init__(self, app: PolicyApp):
        self.app = app

    def stage(self, files: list | None) -> tuple[list[Staged], str]:
        """The uploads read as indexing would (unpublished), and their markdown preview."""
        if not files:
            return [], "请选择要上传的文件。"
        staged = [self.app.desk.stage(Path(f if isinstance(f, str) else f.name), self.app.index) for f in files]
        seen: set[str] = set()
        for item in staged:  # two files of one batch that would be stored as the same document
            if item.doc_id in seen and item.publishable:
                item.problem = f"与同一批中的另一个文件编号相同（{item.doc_id}），请改名后分别上传"
            seen.add(item.doc_id)
            if item.publishable and item.doc_id in self.app.index.documents:  # publishing replaces it: say so
                item.replaces = len(self.app.index.doc_rows.get(item.doc_id, ()))
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
            report = self.app.desk.publish(ready, user, lambda f, d: progress(f, desc=d))
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
        index = self.app.index
        title = index.documents[doc_id].title if doc_id in index.documents else doc_id
        try:
            report = self.app.desk.delete(doc_id, index, user, lambda f, d: progress(f, desc=d))
        except ValueError as exc:
            return str(exc), False
        except Exception:
            log.exception("delete failed")
            return "删除失败，已撤销；索引保持原样。详情见服务器日志。", False
        return f"已删除《{title}》，索引共 {report.clauses} 条。", False

    def uploads(self) -> list[tuple[str, str]]:
        """(title, doc_id) of the published uploads, sorted by doc_id: the only documents the desk may delete."""
        uploaded = self.app.desk.uploaded(self.app.index)
        return sorted(((title, doc_id) for doc_id, title in uploaded.items()), key=lambda c: c[1])

    def feedback_rows(self) -> list[list]:
        """The feedback log as table rows (time, rating, question, comment, answer), newest first; an answer
        rated twice (有帮助, then 有误) counts once, as last rated."""
        latest: dict = {}
        for i, r in enumerate(self.app.feedback_log.records()):
            latest[r.get("answer_id") or i] = r
        records = sorted(latest.values(), key=lambda r: r["time"])
        return [[beijing_time(r["time"]), "有帮助" if r["rating"] == "helpful" else "有误", r["question"], r["comment"],
                 shorten(r["answer"], 80)] for r in reversed(records)]

    def audit_rows(self) -> list[list]:
        """The audit log as table rows (time, user, action, title, file, sha256 prefix), newest first."""
        names = {"publish": "发布", "replace": "替换", "delete": "删除", "official-draft": "起草标准答复",
                 "official-approve": "审核发布标准答复", "official-edit": "修改标准答复",
                 "official-withdraw": "撤回标准答复"}
        return [[beijing_time(r["time"]), r["user"], names.get(r["action"], r["action"]),
                 r.get("title") or r.get("question", ""), r["file"], (r["sha256"] or "")[:16]]
                for r in reversed(self.app.audit.records())]


def build_staff_ui(app: PolicyApp) -> gr.Blocks:
    """The staff desk: reached only after login (see create_server)."""
    staff = StaffHandlers(app)
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
                removable = gr.Dropdown(list(staff.uploads()), label="工作人员上传的文件", elem_id="removable")
                confirm = gr.Checkbox(label="确认删除", elem_id="confirm-delete")
                remove = gr.Button("删除", variant="stop", elem_id="delete")
            removed = gr.Textbox(label="删除结果", interactive=False, elem_id="delete-result")
        with gr.Tab("条款检索"):
            docs = clause_lookup_tab(app)
        hotline, hotline_refreshed = hotline_tabs(app)
        with gr.Tab("反馈记录"):
            feedback = gr.Dataframe(staff.feedback_rows(), headers=["时间（北京时间）", "评价", "问题", "意见", "回答"],
                                    interactive=False, wrap=True, label="市民反馈（最新在前）")
        with gr.Tab("审计日志"):
            headers = ["时间（北京时间）", "账号", "操作", "标题或问题", "文件或编号", "SHA-256 前16位"]
            audit = gr.Dataframe(staff.audit_rows(), headers=headers,
                                 interactive=False, wrap=True, elem_id="audit",
                                 label="发布、删除与标准答复的记录（最新在前）")
        refresh = [documents, removable, docs, audit, feedback]

        def refreshed(chosen: str | None = None):
            uploads = list(staff.uploads())  # a choice still published stays chosen (请先勾选确认删除 keeps it)
            kept = chosen if chosen in {doc_id for _, doc_id in uploads} else None
            return (app.document_rows(), gr.update(choices=uploads, value=kept),
                    gr.update(choices=app.document_choices()), staff.audit_rows(), staff.feedback_rows())

        parse.click(staff.stage, [files], [staged, preview], api_visibility="private")
        publish.click(staff.publish, [staged], [staged, result], api_visibility="private",
                      concurrency_id="indexing", concurrency_limit=1).then(refreshed, None, refresh,
                                                                           api_visibility="private")
        cancel.click(lambda: ([], "已取消，未发布任何文件。", None), None, [staged, preview, files],
                     api_visibility="private")
        remove.click(staff.delete, [removable, confirm], [removed, confirm], api_visibility="private",
                     concurrency_id="indexing", concurrency_limit=1).then(refreshed, [removable], refresh,
                                                                          api_visibility="private")
        demo.load(refreshed, None, refresh, api_visibility="private")
        demo.load(hotline_refreshed, None, hotline, api_visibility="private")
    return demo
