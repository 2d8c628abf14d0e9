"""Cleaning, one test per kind of noise, each on the real snippet it comes from."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.clean import clean_text
from rag.text.normalize import PINYIN_ANNOTATION, normalize_chars, to_simplified

from ..conftest import EXTRA, ROOT, SEEDS, raw

CJK = re.compile(r"[\u4e00-\u9fff]")


def cjk(text: str) -> str:
    return "".join(CJK.findall(text))


# 1. Traditional -> Simplified


def test_traditional_documents_become_simplified(seeds):
    chengdu = seeds[SEEDS["chengdu"]].document.text
    assert "成都市碳達峰實施方案" in raw("chengdu")
    assert "成都市碳达峰实施方案" in chengdu
    assert "到2025年,全市新能源汽车达到80万辆" in chengdu
    huaiyin = seeds[SEEDS["huaiyin"]].document.text
    assert "槐荫区" in huaiyin and "槐蔭區" not in huaiyin


def test_a_second_t2s_pass_changes_no_character(corpus_report):
    for doc in corpus_report.documents:
        assert to_simplified(doc.document.text) == doc.document.text, doc.document.doc_id


def test_corpus_extra_is_stable_under_t2s(extra_report):
    for doc in extra_report.documents:
        assert to_simplified(doc.document.text) == doc.document.text, doc.document.doc_id


# 2. Pinyin annotations


def test_pinyin_annotations_are_removed():
    snippet = "關(guān)於《槐蔭區(qū)碳達(dá)峰工作方案》的解讀"
    assert clean_text(snippet).text == "关于《槐荫区碳达峰工作方案》的解读"


def test_no_pinyin_annotation_remains_in_any_seed(corpus_report):
    assert PINYIN_ANNOTATION.search(raw("huaiyin"))
    for doc in corpus_report.documents:
        assert not PINYIN_ANNOTATION.search(doc.document.text), doc.document.doc_id
    assert "(" not in seeds_title_line(corpus_report)


def seeds_title_line(report) -> str:
    doc = next(d for d in report.documents if d.document.doc_id == SEEDS["huaiyin"])
    return doc.document.text.split("\n", 1)[0]


def test_uppercase_and_untoned_parentheses_are_kept():
    # Abbreviations in parentheses are policy text, not pinyin.
    text = "碳捕获、利用与封存(CCUS)等领域,数据中心平均电能利用效率(PUE)值"
    assert clean_text(text).text == text


# 3. Web-page chrome and the metadata header


CHROME = {
    "gongqingcheng": ["字号", "[关闭]", "视力保护色", "扫一扫在手机打开当前页面", "赣服通", "赣政通", "手机版",
                      "政务微信", "无障碍", "相关附件"],
    "chengdu": ["我要评论"],
    "huaiyin": ["字号", "大 中 小", "扫码使用手机浏览本页内容"],
}


def test_page_chrome_is_dropped(seeds):
    assert "字號: 大 中 小" not in raw("huaiyin")  # the widget spans two lines as published
    for name, snippets in CHROME.items():
        text = seeds[SEEDS[name]].document.text
        for snippet in snippets:
            assert snippet not in text, (name, snippet)
    assert "我要評論" in raw("chengdu")


def test_metadata_header_becomes_document_metadata(seeds):
    doc = seeds[SEEDS["gongqingcheng"]].document
    assert doc.metadata["生成日期"] == "2024-02-09"
    assert doc.metadata["责任部门"] == "共青城市"
    assert doc.metadata["信息类别"] == "政策解读"
    assert "信息类别" not in doc.text and "信息索取号" not in doc.text
    assert all(d.reason in ("chrome", "header") for d in doc.dropped)


def test_dropped_lines_are_only_chrome_page_numbers_and_headers(corpus_report):
    for doc in corpus_report.documents:
        for line in doc.document.dropped:
            assert line.reason in ("chrome", "page-number", "header")
            if line.reason == "chrome":
                assert len(cjk(line.text)) <= 20, line.text


# 4. PDF extraction damage


def test_hard_line_breaks_and_spaces_inside_sentences_are_rejoined(seeds):
    text = seeds[SEEDS["jiangxi"]].document.text
    # "是一场广泛而深刻的\n\n经济社会…" and "全面贯 彻新\n\n发展理念" as published
    assert "是一场广泛而深刻的\n\n经济社会系统性变革" in raw("jiangxi")
    assert "是一场广泛而深刻的经济社会系统性变革" in text
    assert "《中共中央国务院关于完整准确全面贯彻新发展理念做好碳达峰碳中和工作的意见》精神" in text
    assert "到2025年,经济社会发展全面绿色转型取得新突破" in text  # "到 2025 年"


def test_stray_bullets_are_removed_and_the_sentence_rejoined(seeds):
    text = seeds[SEEDS["jiangxi"]].document.text
    assert "- 业,推动办展设施循环使用" in raw("jiangxi")
    assert "打造会展龙头企业,推动办展设施循环使用" in text
    assert "\n- " not in text and not text.startswith("- ")


def test_heading_glued_after_a_sentence_gets_its_own_line(seeds):
    text = seeds[SEEDS["jiangxi"]].document.text
    assert "提质增效。 (三)提升服务业低碳发展水平" in raw("jiangxi")
    assert "促进农业发展提质增效。\n(三)提升服务业低碳发展水平。" in text


def test_chengdu_line_broken_mid_sentence_is_rejoined(seeds):
    text = seeds[SEEDS["chengdu"]].document.text
    assert "推进适应大规模高比例新能源友好并网等技术创新" in text
    assert "研发关键材料、锂电池、电池管理与控制系统" in text


def test_page_numbers_are_dropped_and_pages_rejoined():
    path = EXTRA / "cn_urban_rural_construction_carbon_peak_plan.txt"
    if not path.exists():
        pytest.skip("../shared/corpus-extra is not beside the project")
    published = path.read_text(encoding="utf-8")
    assert "\n- 2 -\n" in published
    cleaned = clean_text(published)
    assert not re.search(r"^- \d+ -$", cleaned.text, re.M)
    assert "科学确定节能降碳要求。坚持创新引领" in cleaned.text  # across "- 2 -"
    assert {d.text for d in cleaned.dropped if d.reason == "page-number"} >= {"- 1 -", "- 2 -"}


def test_dash_page_numbers_of_the_long_dash_kind():
    cleaned = clean_text("实施方案\n— 1 —\n到2030 年，进一步研究突破一批碳中和前沿和颠覆性技术，形\n"
                         "成一批具有显著影响力的低碳技术。")
    assert cleaned.text == ("实施方案\n到2030年，进一步研究突破一批碳中和前沿和颠覆性技术，"
                            "形成一批具有显著影响力的低碳技术。")


# 5. NFKC, zero-width characters, U+3000 and NBSP


def test_ideographic_space_nbsp_and_zero_width_characters():
    path = EXTRA / "ncp2020_beijing_epidemic_support_measures_a.txt"
    published = "(责任单位：各区政府) \u3000\u30002.设立进口防控物资快速通关专用窗口和绿色通道"
    if not path.exists():
        pytest.skip("../shared/corpus-extra is not beside the project")
    assert published in path.read_text(encoding="utf-8")  # the snippet is real published text
    # The published snippet, with a zero-width space and an NBSP of the kind the same dataset carries.
    snippet = published + "\u200b，对用于疫情防控\u00a0治疗的进口药品"
    cleaned = clean_text(snippet).text
    assert "\u3000" not in cleaned and "\u00a0" not in cleaned and "\u200b" not in cleaned
    assert cleaned == "(责任单位：各区政府)\n2.设立进口防控物资快速通关专用窗口和绿色通道，对用于疫情防控治疗的进口药品"


def test_kangxi_radicals_and_full_width_digits_fold_but_punctuation_stays():
    # PDF text layers often carry Kangxi radicals (⼀ U+2F00, ⼯ U+2F2F) and full-width digits.
    snippet = "到２０２５年，⼀批⼯业园区完成改造（试点），“双碳”目标！"
    assert normalize_chars(snippet) == "到2025年，一批工业园区完成改造（试点），“双碳”目标！"


# 6. Idempotence and no loss of policy text


def _snippets() -> list[str]:
    texts = [raw(name) for name in SEEDS]
    return [t[i : i + 400] for t in texts for i in range(0, len(t), 997)]


NOISY_ALPHABET = st.sampled_from(
    list("碳达峰中和。，、；：,.()（）“”一二三四五六十章条节第12aZ \n\t\u3000\u00a0\u200b-—#•")
    + ["(guān)", "字号:", "- 1 -", "— 2 —", "我要评论", "關於", "大 中 小", "SOURCE: x", "TITLE: 标题",
       "信息类别: 解读",
       "第一条 ", "（一）", "1.", "(1)", "2025 年", "贯 彻", "- ", "## ", "推动建材行业碳达峰" * 3]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(_snippets()), st.lists(NOISY_ALPHABET, max_size=80).map("".join)))
def test_cleaning_is_idempotent(text):
    once = clean_text(text).text
    assert clean_text(once).text == once


def test_every_cjk_character_of_policy_text_survives(corpus_report):
    """What cleaning removes is exactly the dropped lines; everything else reaches the clauses."""
    for doc in corpus_report.documents:
        published = cjk(to_simplified(raw(next(k for k, v in SEEDS.items() if v == doc.document.doc_id))))
        for dropped in doc.document.dropped:
            removed = cjk(dropped.text)
            index = published.find(removed)
            assert index >= 0, dropped
            published = published[:index] + published[index + len(removed) :]
        assert published == cjk(doc.document.text), doc.document.doc_id
        covered = "".join(doc.document.text[c.start : c.end] for c in doc.clauses)
        assert cjk(covered) == cjk(doc.document.text), doc.document.doc_id


def test_a_document_written_as_one_line_is_titled_by_its_opening_words(tmp_path):
    """NCP documents are one line: title, a space, the text. The title stops at the space, not mid-word."""
    from pathlib import Path

    from rag.ingest.pipeline import ingest

    source = Path(__file__).resolve().parents[3] / "shared" / "ncp" / "corpus" / "96a2f56a8966308c981b0c0f1f9d13f3.txt"
    text = source.read_text(encoding="utf-8") if source.exists() else (
        "山西：21条税收措施助力企业复产扩能 优惠政策落实给力、非接触式办税添力、"
        "疫情防控加力21条税收措施助力企业复产扩能疫情就此展开。")
    (tmp_path / "one-line.txt").write_text(text, encoding="utf-8")
    (document,) = ingest([tmp_path]).documents
    assert document.document.title == "山西：21条税收措施助力企业复产扩能"
    (tmp_path / "one-line.txt").write_text("瑞金市碳达峰实施方案\n一、总体要求\n到2025年，全市新能源装机达30万千瓦。",
                                           encoding="utf-8")
    assert ingest([tmp_path]).documents[0].document.title == "瑞金市碳达峰实施方案"


def test_a_collapsed_documents_contact_block_keeps_its_lines_and_its_names_apart():
    """NCP documents are one line with each paragraph indented by U+3000s: the contact block at the end becomes
    lines of its own and two names given with a space between them stay two names."""
    from rag.ingest.responsibility import contacts_of

    source = ROOT.parent / "shared" / "ncp" / "corpus" / "0a03ce2e160e32699f6587bf9bf71487.txt"
    if not source.exists():
        pytest.skip("../shared/ncp is not beside the project")
    published = source.read_text(encoding="utf-8")
    assert "联系人：孙良谊\u3000王蔚 \u3000\u3000联系电话：010-64521235" in published
    cleaned = clean_text(published).text
    assert "\n联系人：孙良谊 王蔚\n联系电话：010-64521235" in cleaned
    assert [(c.name, c.phone) for c in contacts_of(cleaned)] == [("孙良谊、王蔚", "010-64521235")]


def test_the_person_of_a_contact_block_is_read_from_the_line_above_its_number():
    from rag.ingest.responsibility import contacts_of

    block = "联系科室：绿色节能与安全科\n联系人：马旭斗\n联系电话：15001222707\n昌平区经济和信息化局"
    (contact,) = contacts_of(block)
    assert (contact.name, contact.phone, contact.organisation) == ("马旭斗", "15001222707", "绿色节能与安全科")
    # Names the next field follows without a break stop before it.
    (glued,) = contacts_of("规划发展科联系人：刘霞、张宏鸽联系电话：18600636475")
    assert glued.name == "刘霞、张宏鸽"
