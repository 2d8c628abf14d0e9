"""Question analysis (kind, places, years, terms), typo correction and places in a ranking, on the seed corpus."""

from __future__ import annotations

import pytest

from rag.answer.intent import analyse, has_content
from rag.text.places import document_places, region_places, strip_suffix, without_places

KNOWN = frozenset({"瑞金", "成都", "江西", "共青城", "槐荫"})


@pytest.mark.parametrize(("question", "kind"), [
    ("推动建材行业碳达峰由哪个部门牵头？", "staff"),
    ("碳达峰政策有问题打什么电话咨询？", "contact"),
    ("什么是碳普惠？", "definition"),
    ("到2025年光伏装机要达到多少千瓦？", "numeric"),
    ("绿色建筑有哪些要求", "general"),
    # Questions matching two kinds: who, then whom to call, then what a word means, before any number.
    ("2025年新能源汽车目标由哪个部门负责？", "staff"),
    ("碳普惠的咨询电话是多少？", "contact"),
    ("什么是碳达峰目标？", "definition"),
])
def test_the_kind_of_answer_a_question_wants(question, kind):
    assert analyse(question, KNOWN).kind == kind


def test_places_years_and_terms_are_read_from_the_question():
    intent = analyse("成都市到2030年新能源汽车保有量目标是多少？", KNOWN)
    assert intent.places == ("成都",) and intent.years == ("2030",) and intent.script == "zh-Hans"
    assert "新能源汽车" in intent.terms
    assert not {"都市", "2030", "多少", "目标是"} & set(intent.terms)  # no place remnant, year or question word
    several = analyse("瑞金、成都和江西省2030年单位GDP能耗分别下降多少？", KNOWN)
    assert several.places == ("瑞金", "成都", "江西") and several.compares
    assert analyse("共青城碳達峰試點有哪些任務？", KNOWN).script == "zh-Hant"
    assert analyse("共青城碳達峰試點有哪些任務？", KNOWN).places == ("共青城",)  # a county-level place jieba lacks


def test_one_rule_for_place_suffixes_serves_regions_titles_questions_and_topics():
    assert region_places("江西省赣州市瑞金市") == ["江西", "赣州", "瑞金"]
    assert region_places("内蒙古自治区锡林郭勒盟") == ["内蒙古", "锡林郭勒"]  # 自治区 is not read as 区
    assert strip_suffix("成都市") == "成都" and strip_suffix("广西壮族自治区") == "广西壮族"
    assert strip_suffix("新区") == "新区"  # two characters: a word, not a name with a suffix
    assert document_places("瑞金市碳达峰实施方案", {"region": "江西省赣州市瑞金市"}) == ("瑞金",)
    # 成都市 goes whole: no 都市 or 市 is left to become a search term.
    assert without_places("成都市新能源汽车", ("成都",)).split() == ["新能源汽车"]
    assert region_places("吉林省延边朝鲜族自治州延吉市") == ["吉林", "延边朝鲜族", "延吉"]
    # A topic keeps the words a suffix character begins: 地区生产总值 (GDP), 旗舰.
    assert without_places("江西地区生产总值目标", ("江西",)).split() == ["地区生产总值目标"]
    assert without_places("上海旗舰项目", ("上海",)).split() == ["旗舰项目"]


@pytest.mark.model
def test_typos_are_corrected_against_the_corpus_but_two_character_words_are_not(searcher):
    from rag.answer.features import TermStatistics

    terms = TermStatistics(searcher.index)
    assert terms.corrected("碳排方") == "碳排放"  # three characters the corpus never uses, one away from a word
    assert terms.corrected("碳排放") == "碳排放"  # a word the corpus uses stays as it is
    # The promise: 房价 is a word of its own, not a typo of 电价 (two-character terms are never "corrected").
    assert "电价" in "".join(c.text for c in searcher.index.clauses)
    assert terms.corrected("房价") == "房价"


@pytest.mark.model
def test_a_named_place_finds_its_own_documents_through_its_words(searcher, answerer):
    # No place bonus in the fusion: the place is a word of the question, matched by BM25 and by the title header
    # each passage is embedded with; the answer scorer's rerank weighs the place on top.
    for question, own in (("成都充电桩建设目标", "chengdu-carbon-peak-plan"),
                          ("瑞金公共领域新增交通工具采用新能源的目标", "ruijin-carbon-peak-plan")):
        hybrid = [h.clause.doc_id for h in searcher.search(question, k=5)]
        assert hybrid[0] == own and sum(d == own for d in hybrid) >= 4
        assert answerer.rerank(question, k=1)[0].clause.doc_id == own


def test_a_when_issued_question_is_read_with_the_verbs_a_document_is_dated_by():
    from rag.answer import ISSUE_QUESTION
    from rag.answer.features import ISSUE_WORDS

    for verb in ISSUE_WORDS.pattern.split("|"):  # one list of verbs for questions and for dated lines
        assert ISSUE_QUESTION.search(f"这份文件是哪天{verb}的") and ISSUE_QUESTION.search(f"{verb}日期是什么时候")
    assert not ISSUE_QUESTION.search("碳达峰的时间目标是什么")


@pytest.mark.parametrize(("message", "asks"), [
    ("你好呀", False), ("谢谢您啦", False), ("辛苦了", False), ("在吗亲", False), ("好的谢谢", False),
    ("你们电话多少", True), ("谢谢，碳普惠怎么参加？", True), ("您好，瑞金充电桩归谁管", True),
])
def test_greetings_and_thanks_in_any_form_ask_nothing(message, asks):
    assert has_content(message) is asks
