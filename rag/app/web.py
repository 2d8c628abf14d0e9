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
.source-current {outline:2px solid #f0a020}
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
        "common.complete": "完成", "common.copy": "复制", "common.upload": "上传",
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
  // [n] shows its own answer's source card: scrolled to the middle of the chat and marked, without the
  // browser's hash jump (which the chat's own scrolling would undo).
  document.addEventListener('click', function (event) {
    var link = event.target.closest ? event.target.closest('a[href^="#a"]') : null;
    if (!link) { return; }
    var card = document.getElementById(link.getAttribute('href').slice(1));
    if (!card) { return; }
    event.preventDefault();
    document.querySelectorAll('.source-current').forEach(function (e) { e.classList.remove('source-current'); });
    card.classList.add('source-current');
    // After the chat's own scroll-to-latest has reacted to the change, not before.
    setTimeout(function () { card.scrollIntoView({block: 'center'}); }, 150);
  });
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
  // Gradio writes some accessible names and tooltips in English whatever the language ("bot's message:
  // <the raw markup>", "Scroll down", "Copy table data", "range slider for …"). They are renamed as they appear.
  var NAMES = {
    'Scroll down': '滚动到最新', 'More tabs': '更多标签页', 'chatbot conversation': '对话记录',
    'Liked': '已标记有帮助', 'Disliked': '已标记有误', 'Reset to default value': '恢复默认值',
    'Table actions': '表格操作', 'Copy table data': '复制表格', 'Fullscreen': '全屏', 'Exit fullscreen': '退出全屏',
    'Open cell menu': '单元格菜单', 'File upload': '上传文件', 'Clear': '清除', 'Download': '下载',
    'Remove': '移除', 'Close': '关闭', 'Loading...': '加载中…', 'Click to upload or drop files': '点击上传或拖放文件',
    'Dataframe': '表格', 'copy': '复制'
  };
  var PREFIXES = [["bot's message: ", '回答：', true], ["user's message: ", '问题：', true],
                  ['number input for ', '数值：', false], ['range slider for ', '滑块：', false]];
  function renamed(el, name) {
    if (NAMES[name]) { return NAMES[name]; }
    for (var i = 0; i < PREFIXES.length; i++) {
      var rule = PREFIXES[i];
      if (name.indexOf(rule[0]) === 0) {
        if (!rule[2]) { return rule[1] + name.slice(rule[0].length); }
        var shown = el.querySelector('.message-content') || el;  // the text read, not the markup sent
        return rule[1] + shown.innerText.replace(/\s+/g, ' ').trim();
      }
    }
    return null;
  }
  function rename(root) {
    root.querySelectorAll('[aria-label], [title]').forEach(function (el) {
      ['aria-label', 'title'].forEach(function (attribute) {
        var name = el.getAttribute(attribute);
        var better = name && renamed(el, name);
        if (better && better !== name) { el.setAttribute(attribute, better); }
      });
    });
  }
  // The chat scrolls to a new question when one is added (Gradio's autoscroll is off, see app.py).
  var rows = 0;
  function followLatest() {
    var log = document.querySelector('#chat [role=log]');
    if (!log) { return; }
    var count = log.querySelectorAll('.message-row').length;
    if (count > rows) {
      var question = log.querySelectorAll('.user-row');
      if (question.length) {  // the chat log scrolls, never the page: the newest question at its top
        var top = question[question.length - 1].getBoundingClientRect().top;
        log.scrollTop += top - log.getBoundingClientRect().top - 8;
      }
    }
    rows = count;
  }
  var pending = false;
  new MutationObserver(function () {
    if (pending) { return; }
    pending = true;
    requestAnimationFrame(function () { pending = false; rename(document.body); followLatest(); });
  }).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                          attributeFilter: ['aria-label', 'title']});
})();
</script>"""


def localise(page: bytes) -> bytes:
    """The page marked zh-CN with HEAD_SCRIPT first in its head; a page that is not UTF-8 passes unchanged."""
    try:
        text = page.decode("utf-8")
    except UnicodeDecodeError:
        return page
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
