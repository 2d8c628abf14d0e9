"""What makes the Gradio pages Chinese and readable: the style sheet, Gradio's own words in Chinese, and an
ASGI middleware that serves every HTML page as zh-CN.

Gradio picks its interface language from the browser's, so an English browser would get "Clear", "Copy
message" and "Like". The middleware marks each page `lang="zh-CN"` and makes the page report zh-CN to
Gradio before its scripts run; `I18N` fills the keys Gradio's own zh-CN table lacks. The same script copies
an answer's plain text (the hidden `.plain-text` of its message) when its copy button is pressed.
"""

from __future__ import annotations

import gradio as gr

CSS = """
.answer-sources {margin-top:10px; border-top:1px solid #e5e5e5; padding-top:6px}
.sources-title {font-weight:600; font-size:14px; margin:4px 0}
.source {border:1px solid #ddd; border-radius:8px; padding:8px 10px; margin:8px 0; font-size:14px; line-height:1.6}
.source:target {outline:2px solid #f0a020}
.source-head {font-weight:600} .source-section {color:#555; font-size:13px; margin:2px 0 6px}
.source mark {background:#ffe58f; padding:0 1px} .contact {color:#0b6b3a; margin:4px 0}
.source-text {max-height:240px; overflow-y:auto}
.full-link {font-size:13px} .muted {color:#888}
.plain-text {display:none}
.copy-answer {font-size:13px; border:1px solid #ccc; border-radius:6px; padding:2px 10px; background:#fafafa}
#results td {vertical-align:top}
@media (max-width: 480px) {
  #chat {height:70vh !important}
  .source-text {max-height:180px}
}
"""

# Keys Gradio's zh-CN table leaves in English, and the two rating buttons under each answer.
I18N = gr.I18n(**{
    "zh-CN": {
        "chatbot.like": "有帮助", "chatbot.dislike": "有误", "chatbot.copy_message": "复制",
        "chatbot.copied_message": "已复制", "chatbot.clear": "清空对话", "chatbot.retry": "重试",
        "chatbot.undo": "撤销", "chatbot.edit": "编辑", "chatbot.submit": "提交", "chatbot.cancel": "取消",
        "chatbot.complete": "完成", "chatbot.conversation": "对话", "chatbot.chatbot": "对话",
    },
})

HEAD_SCRIPT = r"""<script>
(function () {
  try {
    Object.defineProperty(navigator, 'language', {get: function () { return 'zh-CN'; }});
    Object.defineProperty(navigator, 'languages', {get: function () { return ['zh-CN']; }});
  } catch (e) {}
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) { return navigator.clipboard.writeText(text); }
    var area = document.createElement('textarea');
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand('copy'); document.body.removeChild(area);
    return Promise.resolve();
  }
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('.copy-answer') : null;
    if (!button) { return; }
    var plain = button.parentElement.querySelector('.plain-text');
    if (!plain) { return; }
    var label = button.textContent;
    var lines = Array.prototype.map.call(plain.children, function (line) { return line.textContent; });
    copyText(lines.join('\n')).then(function () {
      button.textContent = label + ' ✓';
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });
  // Gradio writes a few accessible names in English whatever the language: "bot's message: <the raw
  // markup>", "Scroll down", "More tabs", "chatbot conversation". They are renamed here as they appear.
  var NAMES = {'Scroll down': '滚动到最新', 'More tabs': '更多标签页', 'chatbot conversation': '对话记录'};
  var ROLES = [["bot's message: ", '回答：'], ["user's message: ", '问题：']];
  function rename(root) {
    root.querySelectorAll('[aria-label]').forEach(function (el) {
      var name = el.getAttribute('aria-label');
      if (NAMES[name]) { el.setAttribute('aria-label', NAMES[name]); if (el.title) { el.title = NAMES[name]; } return; }
      ROLES.forEach(function (role) {
        if (name.indexOf(role[0]) === 0) {
          var shown = el.querySelector('.message-content') || el;
          el.setAttribute('aria-label', role[1] + shown.innerText.replace(/\s+/g, ' ').trim());
        }
      });
    });
  }
  var pending = false;
  new MutationObserver(function () {
    if (pending) { return; }
    pending = true;
    requestAnimationFrame(function () { pending = false; rename(document.body); });
  }).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                          attributeFilter: ['aria-label']});
})();
</script>"""


def localise(page: bytes) -> bytes:
    text = page.decode("utf-8")
    text = text.replace('lang="en"', 'lang="zh-CN"', 1)
    head = text.find("<head>")
    if head >= 0:
        text = text[: head + 6] + HEAD_SCRIPT + text[head + 6:]
    return text.encode("utf-8")


class ChinesePages:
    """ASGI middleware: HTML pages get `localise`d; everything else (API, queue streams, files) passes untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        chunks: list[bytes] = []

        async def send_localised(message):
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                html = headers.get(b"content-type", b"").startswith(b"text/html")
                if html and b"content-encoding" not in headers:
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = localise(b"".join(chunks))
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, send_localised)
