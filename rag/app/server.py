"""The web server: document pages (/document/<id>), the staff desk at /staff/ behind a login, the citizen page at
/; and `main`, which builds the index on the first run and serves it (`make run`, `python app.py`)."""

from __future__ import annotations

import logging
import time

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from ..answer import manifest_stamps
from ..config import Settings
from ..index import IndexUnavailable, PolicyIndex, build_index
from ..text import TRADITIONAL_VARIANTS
from .citizen import build_citizen_ui
from .present import document_page
from .service import PolicyApp
from .staff_pages import build_staff_ui
from .web import CSS, I18N, ChinesePages

log = logging.getLogger("policy_rag.app")

NO_DOCUMENT = "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><p>没有这份文件。</p></html>"


def ensure_index(settings: Settings) -> None:
    """The first run builds the index, with progress on the console."""
    if PolicyIndex.exists(settings.index_dir):
        return
    from ..embed.encoder import Embedder

    log.info("首次运行：正在建立索引 %s …", settings.index_dir)
    report = build_index(settings.all_corpus_dirs(), settings.index_dir, settings, lambda: Embedder(settings),
                         progress=True, stamps=manifest_stamps())
    log.info("索引完成：%d 条款，%.0f 秒", report.clauses, report.seconds)


def create_server(app: PolicyApp) -> FastAPI:
    """One server: document pages, the staff desk at /staff (login when an account exists), the citizen page."""
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    server.add_middleware(ChinesePages)

    @server.get("/document/{doc_id}")
    def document(doc_id: str, start: int | None = None, end: int | None = None, script: str = "zh-Hans",
                 variant: str = TRADITIONAL_VARIANTS[0]) -> HTMLResponse:
        # A variant the converter does not know (a hand-edited link) gets the default page, not an error.
        if variant not in TRADITIONAL_VARIANTS:
            variant = TRADITIONAL_VARIANTS[0]
        page = document_page(app.index, doc_id, start, end, script, variant)
        return HTMLResponse(NO_DOCUMENT, status_code=404) if page is None else HTMLResponse(page)

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
    ensure_index(settings)
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
