"""What makes the Gradio pages Chinese and readable: the style sheet, Gradio's own words in Chinese, and an
ASGI middleware that serves every HTML page as zh-CN.

Gradio picks its interface language from the browser's, so an English browser would get "Clear", "Copy
message" and "Like". The middleware marks each page `lang="zh-CN"` and makes the page report zh-CN to
Gradio before its scripts run; `I18N` fills the keys Gradio's own zh-CN table lacks. The same script copies
an answer's plain text (the hidden `.plain-text` of its message) when its copy button is pressed, asks a
suggested question when it is tapped, reads a finished answer out to screen readers once, and lets a phone
number open the dialer in place.

The style sheet keeps text contrast at 4.5:1 or more and focus visible (WCAG 2.1 AA, GB/T 37668), and lays the
tables out as cards on a phone.
"""

from __future__ import annotations

import gradio as gr

CSS = """
/* Text contrast at least 4.5:1 (WCAG 2.1 AA, GB/T 37668): Gradio's orange accent on white is 2.8:1, this blue
   6.7:1; subdued greys darkened to 7:1 or more. */
.gradio-container {
  --color-accent: #1d4ed8; --color-accent-soft: #dbeafe; --button-primary-background-fill: #1d4ed8;
  --button-primary-background-fill-hover: #1e40af; --button-primary-border-color: #1d4ed8;
  --button-primary-border-color-hover: #1e40af; --button-primary-text-color: #ffffff;
  --button-primary-text-color-hover: #ffffff; --link-text-color: #1d4ed8; --link-text-color-hover: #1e40af;
  --link-text-color-visited: #5b21b6; --link-text-color-active: #1e40af; --body-text-color-subdued: #4b5563;
  --block-info-text-color: #4b5563; --block-label-text-color: #374151; --input-placeholder-color: #6b7280;
  --slider-color: #1d4ed8; --checkbox-background-color-selected: #1d4ed8; --loader-color: #1d4ed8;
}
.gradio-container .min_value, .gradio-container .max_value {color: #4b5563 !important}
/* Gradio fades every chat message to 80 % opacity, which takes the text below 4.5:1. */
#chat .chatbot.md {opacity: 1}
/* The chat's clear button sits in a strip of its own above the log, not over the messages scrolling by. */
#chat .wrapper {display:flex; flex-direction:column}
#chat .wrapper > .top-panel {position:static; align-self:flex-end; flex:none}
#chat .wrapper > .bubble-wrap {flex:1 1 auto; min-height:0}
/* Focus visible on everything reachable by keyboard. */
.gradio-container a:focus-visible, .gradio-container button:focus-visible, .gradio-container summary:focus-visible,
.gradio-container input:focus-visible, .gradio-container textarea:focus-visible,
.gradio-container [role=tab]:focus-visible, .gradio-container [tabindex]:focus-visible {
  outline: 3px solid #1d4ed8 !important; outline-offset: 2px !important;
}
.sr-only {position:absolute !important; width:1px; height:1px; padding:0; margin:-1px; overflow:hidden;
  clip:rect(0,0,0,0); white-space:nowrap; border:0}
#chat a, .gradio-container .source a {color:#1d4ed8}
a.tel {font-weight:600; white-space:nowrap}
.answer-sources {margin-top:10px; border-top:1px solid #e5e5e5; padding-top:6px}
.sources-title {font-weight:600; font-size:14px; margin:4px 0; color:#222}
.source {border:1px solid #ccc; border-radius:8px; padding:8px 10px; margin:8px 0; font-size:14px; line-height:1.6;
  background:#fff; color:#222}
.source-current {outline:3px solid #b45309}
.source-head {font-weight:600}
.gradio-container .source-section {color:#404040; font-size:13px; margin:2px 0 6px}
.source .part {font-weight:600}
.source mark {background:#ffe58f; color:#222; padding:0 1px}
.gradio-container .contact {color:#065f33; margin:4px 0}
.source-quote {margin:4px 0}
.source-more, .source-part {margin:4px 0}
.source-more > summary, .source-part > summary {cursor:pointer; color:#1d4ed8; font-size:13px; padding:2px 0}
.source-more > .source-text, .source-part > .source-text {margin:4px 0 6px; padding-left:8px;
  border-left:3px solid #ddd}
.full-link {font-size:13px} .gradio-container .muted {color:#4b5563}
.plain-text {display:none}
.copy-answer {font-size:13px; border:1px solid #767676; border-radius:6px; padding:2px 10px; background:#fafafa;
  color:#222}
.follow-ups {margin-top:8px}
button.suggested {display:inline-block; text-align:left; border:1px solid #1d4ed8; color:#1d4ed8; background:#fff;
  border-radius:16px; padding:4px 12px; margin:4px 6px 4px 0; font-size:14px; line-height:1.5; cursor:pointer}
button.suggested:hover {background:#eff6ff}
.welcome {text-align:left; max-width:760px; margin:0 auto; padding:8px 4px; color:#222; font-size:15px}
.welcome p {margin:6px 0}
.way-in .topic-title {font-size:14px; font-weight:600; margin:12px 0 2px; color:#222}
.welcome .way-in-lead {font-size:15px; font-weight:400; margin:6px 0; color:#222}
#chat .placeholder-content, #chat .placeholder {overflow-y:auto; max-height:100%; align-items:flex-start}
/* Tables that fit: a table on a desktop, a card a row on a phone (rag/app/tables.py). */
table.fits {width:100%; border-collapse:collapse; font-size:14px; table-layout:fixed; color:#222}
table.fits caption {text-align:left; font-weight:600; padding:4px 0 8px}
table.fits th, table.fits td {border-bottom:1px solid #ddd; padding:6px 8px; vertical-align:top; text-align:left;
  overflow-wrap:anywhere}
table.fits th {background:#f3f4f6}
table.fits .cell-label {display:none}
table.fits .col-rank {width:3em} table.fits .col-title {width:22%} table.fits .col-path {width:22%}
table.fits .col-dept {width:11%} table.fits .col-short {width:8%}
@media (max-width: 640px) {
  #chat {height:70vh !important}
  table.fits, table.fits tbody, table.fits tr, table.fits td {display:block; width:100% !important}
  table.fits thead {display:none}
  table.fits caption {display:block; width:100%}
  table.fits tr {border:1px solid #ccc; border-radius:8px; margin:8px 0; padding:6px 10px}
  table.fits td {border:none; padding:2px 0}
  table.fits .cell-label {display:inline-block; min-width:4.5em; margin-right:6px; color:#404040; font-weight:600}
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
  // Light only: the page's colours are chosen and checked for contrast on white; Gradio would otherwise follow a
  // dark system setting into a dark theme these colours were never checked against.
  if (window.matchMedia) {
    var media = window.matchMedia.bind(window);
    window.matchMedia = function (query) {
      return /prefers-color-scheme:\s*dark/.test(query) ? media('not all') : media(query);
    };
  }
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
  // A suggested question is asked as if typed: put in the box, then 提问. Focus goes to the box, since the
  // button may leave the page (the welcome goes once the chat has a message).
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('button.suggested') : null;
    var box = document.querySelector('#question textarea');
    var ask = document.querySelector('#ask');
    if (!button || !box || !ask) { return; }
    box.value = button.textContent;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    box.focus();
    setTimeout(function () { ask.click(); }, 50);  // after Gradio has read the input event
  });
  // A finished answer (its message ends with .answer-done) is read out once, as text, through the page's own
  // status region; the chat log's own live region would read every streamed piece, so it is silenced.
  var announced = 0;
  function announce() {
    var log = document.querySelector('#chat [role=log]');
    if (log && log.getAttribute('aria-live') !== 'off') { log.setAttribute('aria-live', 'off'); }
    var done = document.querySelectorAll('#chat .answer-done');
    var status = document.getElementById('answer-status');
    if (status && done.length > announced) {
      var message = done[done.length - 1].closest('.message-content');
      if (message) {
        var copy = message.cloneNode(true);
        copy.querySelectorAll('.answer-sources, .answer-extra').forEach(function (e) { e.remove(); });
        status.textContent = '回答：' + copy.textContent.replace(/\s+/g, ' ').trim();
      }
    }
    announced = done.length;
  }
  // A phone number opens the dialer in place: no new tab (Gradio opens every link in a message in one).
  function dialInPlace(root) {
    root.querySelectorAll('a[href^="tel:"][target]').forEach(function (a) {
      a.removeAttribute('target'); a.removeAttribute('rel');
    });
  }
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
    requestAnimationFrame(function () {
      pending = false; rename(document.body); followLatest(); announce(); dialInPlace(document.body);
    });
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
