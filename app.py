"""政策问答 — the web app: a citizen page that can change nothing, and a staff desk behind a login.

Citizen page (/): 政策咨询 (chat, each answer with its own sources), 条款检索 (read-only clause lookup),
文件目录 (the published documents). Named API endpoints /ask and /search serve gradio_client.
Staff desk (/staff/): upload → parsed preview → publish, delete, the feedback log and the audit log. It
requires an account from `policy-rag staff add NAME`; with none configured it only says how to create one.
Document pages (/document/<id>): a whole cleaned document, the quoted span marked.

`make run` or `python app.py` builds the index on the first run (with progress) and serves on
127.0.0.1:7860 (POLICY_RAG_HOST / POLICY_RAG_PORT). The code lives in rag/app/; the names below are
imported from here by the tests and scripts.
"""

from __future__ import annotations

from rag.app import PolicyApp, build_citizen_ui, build_staff_ui, create_server, main

__all__ = ["PolicyApp", "build_citizen_ui", "build_staff_ui", "create_server", "main"]

if __name__ == "__main__":
    main()
