"""The app: the service behind the citizen page and the staff desk, their Gradio pages and the web server."""

from .citizen import build_citizen_ui, clause_lookup_tab
from .lookup import ClauseLookup
from .server import create_server, ensure_index, main
from .service import DOCUMENT_COLUMNS, PolicyApp
from .staff_pages import NO_ACCOUNT, StaffHandlers, build_staff_ui, preview_markdown

__all__ = [
    "ClauseLookup", "DOCUMENT_COLUMNS", "NO_ACCOUNT", "PolicyApp", "StaffHandlers", "build_citizen_ui",
    "build_staff_ui", "clause_lookup_tab", "create_server", "ensure_index", "main", "preview_markdown",
]
