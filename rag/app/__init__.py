"""The app: the service behind the citizen page and the staff desk, their Gradio pages and the web server."""

