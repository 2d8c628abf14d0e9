"""The app in a real headless Chromium (Debian's), at a desktop width (1366 px) and a phone's (390 px), as a
citizen and as an official would use it. Screenshots go to eval/reports/app/."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from ..conftest import NOTICE, NOTICE_QUESTION, ROOT, STAFF_PASSWORD, STAFF_USER, Serving, new_app

# Drives Debian's Chromium against a served app: every test here needs the model and a browser.
pytestmark = [pytest.mark.browser, pytest.mark.model]

SHOTS = ROOT / "eval" / "reports" / "app"
CHROMIUM = Path("/usr/bin/chromium")
WIDTHS = {1366: 900, 390: 844}
# Latin words a citizen may meet: file formats and units. Anything else in English is a defect.
ALLOWED_LATIN = {"CSV", "PDF", "DOCX", "HTML", "HTM", "TXT", "MD", "MB", "SHA", "txt", "md", "html", "htm", "pdf",
                 "docx"}
FIRST, WHO_LEADS = "成都到2025年新能源车要达到多少辆？", "瑞金推动建材行业碳达峰是哪个部门牵头？"
ELSEWHERE = "北京购房补贴是多少？"
MARKUP_QUESTION = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b>粗体</b>'
                   "成都到2025年新能源车要达到多少辆？")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it as root): browser test skipped")
    from playwright.sync_api import Error, sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
    except Error as exc:
        playwright.stop()
        pytest.skip(f"chromium could not start here ({exc}): browser test skipped")
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield browser
    browser.close()
    playwright.stop()


def _page(browser, url: str, width: int):
    # An English browser: the pages must be Chinese whatever the visitor's browser language.
    context = browser.new_context(viewport={"width": width, "height": WIDTHS[width]}, locale="en-US",
                                  accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    return context, context.new_page()


def _ask(page, question: str, expect: str | None = None) -> None:
    """Types a question, presses Enter, and waits for its finished answer: one more copy button, or (a
    welcome has none) a latest message holding `expect`."""
    before = page.locator("#chat .copy-answer").count()
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    if expect:
        page.wait_for_function("""text => { const m = [...document.querySelectorAll('#chat .bot .message-content')];
            return m.length && m[m.length - 1].innerText.includes(text); }""", arg=expect, timeout=60000)
    else:
        page.wait_for_function(f"document.querySelectorAll('#chat .copy-answer').length > {before}", timeout=60000)


def _bot_messages(page) -> list:
    return page.locator("#chat .bot .message-content").all()


def _latin_words(page) -> set[str]:
    """English a visitor can see or hear: visible text, accessible names, tooltips and placeholders."""
    text = page.evaluate("""() => {
        const out = [document.body.innerText, document.title];
        document.querySelectorAll('[aria-label],[title],[placeholder],[alt]').forEach(e => out.push(
            e.getAttribute('aria-label') || '', e.getAttribute('title') || '', e.getAttribute('placeholder') || '',
            e.getAttribute('alt') || ''));
        return out.join('\\n'); }""")
    return set(re.findall(r"[A-Za-z]{2,}", text)) - ALLOWED_LATIN


def _overlaps(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_citizen_asks_in_a_real_browser(browser, live_url, policy_app, width):
    context, page = _page(browser, live_url, width)
    try:
        page.goto(live_url, wait_until="load")
        page.wait_for_selector("#question textarea", timeout=30000)
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert not page.locator("footer:visible").count()  # no "Use via API · Built with Gradio · Settings"

        for question in (FIRST, WHO_LEADS, ELSEWHERE):
            _ask(page, question)
        first, who, elsewhere = _bot_messages(page)

        # [1] of the first answer shows the first answer's clause, after two more answers.
        first.locator("a[href='#a1-s1']").first.click()  # the fact and its quote both cite [1]
        target = page.locator(".source-current")
        assert target.get_attribute("id") == "a1-s1" and "全市新能源汽车达到80万辆" in target.inner_text()
        assert first.locator("#a1-s1").count() == 1 and target.is_visible()
        box = target.bounding_box()
        assert 0 <= box["y"] and box["y"] + min(box["height"], 100) <= WIDTHS[width]  # scrolled into view

        # The sources sit right below their answer, inside the same message.
        gap = first.evaluate("""m => { const p = m.querySelector('p').getBoundingClientRect();
            return m.querySelector('.answer-sources').getBoundingClientRect().top - p.bottom; }""")
        assert 0 <= gap < 80, first.evaluate("m => m.innerHTML.slice(0, 600)")

        # Copy: plain text, the answer with [1] then 《title》section lines; no markdown link syntax.
        first.locator(".copy-answer").click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert "根据《成都市碳达峰实施方案》" in copied and "[1]" in copied.splitlines()[0]  # the fact, then its source
        assert re.search(r"^\[1\] 《成都市碳达峰实施方案》三、重点行动 › ", copied, re.M) and "](#" not in copied

        # Who leads: the department once, in one cited quote.
        spoken = who.inner_text().split("引用来源")[0]
        assert spoken.count("市工信局") == 1 and spoken.count("[1]") == 1 and "[2]" not in spoken

        # A refusal: it says so, then 12345, and leads with no other place's number or clauses.
        refusal = elsewhere.inner_text()
        assert "未找到" in refusal and "12345" in refusal and not re.search(r"\d{3,4}-\d{7,8}", refusal)
        assert elsewhere.locator(".source").count() == 0

        # A greeting: a one-line welcome with examples, no search.
        _ask(page, "你好", expect="您可以这样问")
        assert _bot_messages(page)[-1].locator(".source").count() == 0

        # Feedback on an earlier answer, not only the latest; the comment box empties once sent.
        page.fill("#comment textarea", "这个数字对吗？")
        first.hover()
        page.locator("#chat button[aria-label='有误']").first.click()
        page.wait_for_function("document.querySelector('#thanks').innerText.includes('谢谢')", timeout=30000)
        assert page.input_value("#comment textarea") == ""
        record = json.loads(policy_app.settings.feedback_path.read_text(encoding="utf-8").splitlines()[-1])
        assert record["question"] == FIRST and record["rating"] == "wrong" and record["comment"] == "这个数字对吗？"

        # Nothing in English, and at 390 px no sideways scrolling and nothing covering a message.
        assert not _latin_words(page), " ".join(sorted(_latin_words(page)))
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 10
        chrome = page.evaluate("""() => [...document.querySelectorAll('#chat label, #chat .icon-button-wrapper')]
            .filter(e => !e.closest('.message-row') && e.offsetParent !== null)
            .map(e => { const r = e.getBoundingClientRect();
                        return {x: r.x, y: r.y, width: r.width, height: r.height}; })
            .filter(r => r.width && r.height)""")
        for message in page.locator("#chat .message-row").all():
            box = message.bounding_box()
            assert not any(_overlaps(box, c) for c in chrome)
        page.screenshot(path=str(SHOTS / f"citizen-chat-{width}.png"), full_page=True)

        # Markup in a question is shown as the text it is: never run, never rendered (after the English
        # check: these are the asker's own words).
        _ask(page, MARKUP_QUESTION)
        assert page.evaluate("window.__pwned === undefined")
        assert "<script>window.__pwned=1" in page.inner_text("#chat")


        # Clearing empties the conversation, its sources and its notices.
        page.click("#clear")
        page.wait_for_function("document.querySelectorAll('#chat .message-row').length === 0", timeout=30000)
        assert page.inner_text("#thanks").strip() == ""

        # A Traditional question: answer, sources, labels and the follow-up in Traditional.
        _ask(page, "成都到2025年新能源車要達到多少輛？")
        _ask(page, "那瑞金呢？")
        traditional, follow = _bot_messages(page)
        assert "引用來源" in traditional.inner_text() and "複製回答" in traditional.inner_text()
        assert "全市新能源汽車達到80萬輛" in traditional.locator(".source-text").first.inner_text()
        assert "3100輛" in follow.inner_text() and "引用來源" in follow.inner_text()
        with context.expect_page() as opened:
            traditional.locator("a.full-link").first.click()
        document = opened.value
        document.wait_for_load_state()
        assert "新能源汽車" in document.inner_text("#quote")
        assert document.evaluate("document.documentElement.lang") == "zh-TW"
        document.close()
    finally:
        context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_clause_lookup_in_a_real_browser(browser, live_url, width):
    context, page = _page(browser, live_url, width)
    try:
        page.goto(live_url, wait_until="load")
        _open_tab(page, "条款检索")
        page.get_by_label("检索内容").fill("建材行业 牵头")
        page.get_by_role("button", name="检索", exact=True).click()
        page.wait_for_function("document.querySelector('#results').innerText.includes('市工信局')", timeout=30000)
        if width == 1366:  # 牵头/配合 in view without scrolling sideways
            for header in ("牵头部门", "配合部门"):
                box = page.locator("#results th", has_text=header).first.bounding_box()
                assert box and box["x"] + box["width"] <= width
        assert all(word in page.inner_text("#mode") for word in ("混合", "语义", "关键词"))
        page.locator("#level input").click()
        assert {"省级", "市级", "区县级"} <= set(page.get_by_role("option").all_inner_texts())
        page.keyboard.press("Escape")
        page.locator("#results span.text", has_text="市工信局").first.click()
        page.wait_for_function("document.querySelector('#clause-context').innerText.includes('牵头：市工信局')",
                               timeout=30000)
        with page.expect_download() as download:
            page.get_by_role("button", name="导出 CSV").click()
        assert download.value.suggested_filename == f"条款检索_建材行业-牵头_{datetime.now():%Y%m%d}.csv"
        assert not _latin_words(page), " ".join(sorted(_latin_words(page)))
        page.screenshot(path=str(SHOTS / f"clause-lookup-{width}.png"), full_page=True)
        _open_tab(page, "文件目录")
        listed = page.inner_text("#documents")
        assert "瑞金市碳达峰实施方案" in listed and "ruijin-" not in listed  # titles, not file slugs
    finally:
        context.close()


def _open_tab(page, name: str) -> None:
    """Clicks a tab; on a phone the tabs that do not fit sit behind the 更多标签页 button."""
    page.wait_for_selector("[role=tab]", timeout=30000)
    tab = page.get_by_role("tab", name=name)
    if tab.first.is_visible():
        tab.first.click()
        return
    page.locator("button[aria-label='更多标签页']").click()
    page.locator("button:not([tabindex]):not([role])", has_text=re.compile(f"^{name}$")).first.click()


def _login(page, url: str, password: str) -> None:
    page.goto(url + "staff/", wait_until="load")
    page.wait_for_selector("input[type=password]", timeout=30000)
    page.fill("input[type=text]", STAFF_USER)
    page.fill("input[type=password]", password)
    page.get_by_role("button", name="登录").click()


@pytest.fixture(scope="module")
def staff_app(tmp_path_factory, seed_index):
    """The official publishes and deletes on an app of this module's own, served apart, so the session's app
    that the other tests read is never changed."""
    return new_app(tmp_path_factory.mktemp("staff-app"), seed_index[0])


@pytest.fixture(scope="module")
def staff_url(staff_app):
    from app import create_server

    serving = Serving(create_server(staff_app))
    yield serving.url
    serving.stop()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_an_official_publishes_and_deletes_in_a_real_browser(browser, staff_url, staff_app, tmp_path, width):
    notice = tmp_path / f"community-chargers-{width}.txt"
    notice.write_text(NOTICE, encoding="utf-8")
    doc_id = notice.stem
    context, page = _page(browser, staff_url, width)
    try:
        _login(page, staff_url, STAFF_PASSWORD + "x")
        page.wait_for_selector("text=凭据不正确", timeout=30000)  # a wrong password opens nothing
        _login(page, staff_url, STAFF_PASSWORD)
        page.wait_for_selector("#parse", timeout=30000)

        page.set_input_files("#upload input[type=file]", str(notice))
        page.click("#parse")
        page.wait_for_function("document.querySelector('#preview').innerText.includes('章节结构')", timeout=30000)
        preview = page.inner_text("#preview")
        assert "关于推进社区充电设施建设的通知" in preview and "区发改局" in preview and "0791-7654321" in preview
        page.screenshot(path=str(SHOTS / f"staff-preview-{width}.png"), full_page=True)
        assert not any(c["doc_id"] == doc_id for c in staff_app.api_ask(NOTICE_QUESTION)["citations"])

        # The bar shows while the index updates; watched from before the click, so a quick publish cannot
        # come and go between two polls.
        page.evaluate("""() => { window.__sawProgress = false;
            new MutationObserver(() => { if (document.querySelector('.progress-level, .progress-text'))
                window.__sawProgress = true; }).observe(document.body, {subtree: true, childList: true}); }""")
        page.click("#publish")
        page.wait_for_function("document.querySelector('#publish-result textarea').value.includes('已发布')",
                               timeout=120000)
        assert page.evaluate("window.__sawProgress")
        assert any(c["doc_id"] == doc_id for c in staff_app.api_ask(NOTICE_QUESTION)["citations"])

        # The filter lists know the new document without a restart; the audit log names who and what.
        _open_tab(page, "条款检索")
        page.locator("#doc-filter input").click()
        assert page.get_by_role("option", name="关于推进社区充电设施建设的通知").count() == 1
        page.keyboard.press("Escape")
        _open_tab(page, "审计日志")
        page.wait_for_function(f"document.querySelector('#audit').innerText.includes('{notice.name}')", timeout=30000)
        assert STAFF_USER in page.inner_text("#audit") and "发布" in page.inner_text("#audit")
        _open_tab(page, "文件管理")
        page.locator("#removable input").click()
        page.get_by_role("option", name="关于推进社区充电设施建设的通知").click()
        page.locator("#confirm-delete input").check()
        page.click("#delete")
        page.wait_for_function("document.querySelector('#delete-result textarea').value.includes('已删除')",
                               timeout=120000)
        assert doc_id not in staff_app.index.documents
        # The delete refreshes the page's lists; Gradio's own notices ("queue: 1/2", "processing | 0.3s") show
        # while those events wait or run. The page is judged once they have run (a notice that stays fails the wait).
        page.wait_for_function("!/queue|processing/.test(document.body.innerText)", timeout=60000)
        english = _latin_words(page) - set(re.findall(r"[A-Za-z]+", notice.name))  # the file's own name aside
        assert not english, " ".join(sorted(english))
        page.screenshot(path=str(SHOTS / f"staff-documents-{width}.png"), full_page=True)
    finally:
        context.close()


HOTLINE_NOTICE = NOTICE.replace("二、组织实施", "本通知执行期限为2020年2月1日至2020年6月30日。\n二、组织实施")
UNSETTLED = "本区的充电桩停车费怎么收？"  # the notice says nothing of fees


def _choose(page, dropdown: str, text: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option").filter(has_text=text).first.click()


def _staff_page(browser, url: str, user: str, password: str):
    context, page = _page(browser, url, 1366)
    page.goto(url + "staff/", wait_until="load")
    page.wait_for_selector("input[type=password]", timeout=30000)
    page.fill("input[type=text]", user)
    page.fill("input[type=password]", password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector("#parse", timeout=30000)
    return context, page


def test_the_hotline_learns_in_a_real_browser(browser, staff_url, staff_app, tmp_path):
    """A question the documents do not settle reaches the queue; one account drafts an official answer citing a
    clause, a second approves it; the same need in other words gets it, labelled; publishing the cited document
    again with the clause changed withdraws it; the catalogue and an answer show an expired measure."""
    notice = tmp_path / "community-chargers-hotline.txt"
    notice.write_text(HOTLINE_NOTICE, encoding="utf-8")
    staff_app.desk.publish([staff_app.desk.stage(notice, staff_app.index)], STAFF_USER)
    staff_app.accounts.add("li", STAFF_PASSWORD)
    citizen_context, citizen = _page(browser, staff_url, 1366)
    wang_context, wang = _staff_page(browser, staff_url, STAFF_USER, STAFF_PASSWORD)
    li_context = None
    try:
        citizen.goto(staff_url, wait_until="load")
        _ask(citizen, UNSETTLED)
        _open_tab(citizen, "文件目录")
        citizen.wait_for_function("document.querySelector('#documents').innerText.includes('已到期')", timeout=30000)
        citizen.screenshot(path=str(SHOTS / "citizen-documents-dates-1366.png"), full_page=True)

        wang.reload(wait_until="load")
        _open_tab(wang, "待处理问题")
        wang.wait_for_function(f"document.querySelector('#queue').innerText.includes('{UNSETTLED}')", timeout=30000)
        _choose(wang, "#queue-group", UNSETTLED[:8])
        wang.click("#queue-answer")
        wang.wait_for_function("document.querySelector('#queue-result').innerText.includes('已填入')", timeout=30000)
        wang.screenshot(path=str(SHOTS / "staff-queue-1366.png"), full_page=True)
        _open_tab(wang, "标准答复")
        assert wang.input_value("#official-question textarea") == UNSETTLED
        wang.fill("#official-paraphrases textarea", "本区充电桩停车收费标准")
        wang.fill("#official-answer textarea", "通知未规定停车收费，请咨询区发改局。")
        wang.fill("#official-clause-query textarea", "社区充电桩 200根")
        wang.click("#official-clause-search")
        wang.wait_for_selector("#official-clauses label", timeout=30000)
        wang.locator("#official-clauses label").filter(has_text="关于推进社区充电设施建设的通知").first.click()
        wang.click("#official-save")
        wang.wait_for_function("document.querySelector('#official-saved').innerText.includes('已保存草稿')",
                               timeout=30000)
        (drafted,) = staff_app.officials.all()
        _choose(wang, "#official-chosen", drafted.id)
        wang.click("#official-approve")
        wang.wait_for_function("document.querySelector('#official-acted').innerText.includes('另一个工作人员账号')",
                               timeout=30000)

        li_context, li = _staff_page(browser, staff_url, "li", STAFF_PASSWORD)
        _open_tab(li, "标准答复")
        _choose(li, "#official-chosen", drafted.id)
        li.click("#official-approve")
        li.wait_for_function("document.querySelector('#official-acted').innerText.includes('已发布')", timeout=30000)
        li.screenshot(path=str(SHOTS / "staff-official-1366.png"), full_page=True)

        _open_tab(citizen, "政策咨询")
        _ask(citizen, "本区的充电桩停车怎么收费？")
        last = _bot_messages(citizen)[-1].inner_text()
        assert "工作人员审核答复" in last and "通知未规定停车收费" in last and UNSETTLED in last
        citizen.screenshot(path=str(SHOTS / "citizen-official-1366.png"), full_page=True)

        notice.write_text(HOTLINE_NOTICE.replace("充电", "充换电"), encoding="utf-8")  # every clause reworded
        staff_app.desk.publish([staff_app.desk.stage(notice, staff_app.index)], STAFF_USER)
        assert [a.state for a in staff_app.officials.all()] == ["withdrawn"]
        _ask(citizen, "本区的充电桩停车怎么收费？")
        assert "工作人员审核答复" not in _bot_messages(citizen)[-1].inner_text()
        _ask(citizen, "本区到2025年建成多少根社区充电桩？")
        assert "该措施执行期至2020年6月30日，已到期" in _bot_messages(citizen)[-1].inner_text()
        wang.reload(wait_until="load")
        _open_tab(wang, "待处理问题")
        wang.wait_for_function("document.querySelector('#queue').innerText.includes('标准答复已撤回')", timeout=30000)
    finally:
        for context in (citizen_context, wang_context, li_context):
            if context is not None:
                context.close()
