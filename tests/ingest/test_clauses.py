"""Structure and clauses on the real documents."""

from __future__ import annotations

import re

import pytest

from rag.ingest.clauses import build_clauses, clause_spans
from rag.ingest.clean import clean_text
from rag.ingest.headings import match_heading
from rag.ingest.responsibility import contacts_of, parse_note, responsibility_of
from rag.ingest.sections import parse_sections
from rag.text.normalize import PINYIN_ANNOTATION, to_simplified

from ..conftest import EXTRA, SEEDS


def clause_at(doc, section: str):
    matches = [c for c in doc.clauses if c.section == section]
    assert matches, f"no clause under {section!r}; have {sorted({c.section for c in doc.clauses})[:12]}"
    return matches


def test_ruijin_building_materials_clause(seeds):
    (clause,) = clause_at(seeds[SEEDS["ruijin"]], "三、重点任务 › (二)工业领域碳达峰行动 › 2.推动建材行业碳达峰")
    assert "104千克标准煤/吨" in clause.text
    assert clause.lead_departments == ("市工信局",)
    assert clause.supporting_departments == ("市住建局", "市发改委", "市城管局")
    assert clause.title == "瑞金市碳达峰实施方案"
    # The responsibility note stays in the text as published.
    assert clause.text.endswith("(市工信局牵头,市住建局、市发改委、市城管局配合)")


def test_chengdu_organisation_section_is_simplified(seeds):
    doc = seeds[SEEDS["chengdu"]]
    clauses = [c for c in doc.clauses if c.section_path[:1] == ("四、组织实施",)]
    labels = [c.section_path[-1] for c in clauses]
    assert labels == ["(一)建强工作机制", "(二)严格监督考核", "(三)加强合作交流", "(四)注重宣传引导"]
    for clause in clauses:
        assert to_simplified(clause.text) == clause.text
    assert "市绿色发展工作委员会加强组织统筹" in clauses[0].text


def test_chengdu_numbering_runs_across_sections(seeds):
    # 成都 numbers its tasks 1-33 straight through the ten actions.
    sections = {c.section for c in seeds[SEEDS["chengdu"]].clauses}
    assert "三、重点行动 › (四)实施交通体系绿色转型行动 › 12.推广节能低碳型交通运输工具" in sections


def test_huaiyin_contact(seeds):
    (contact,) = seeds[SEEDS["huaiyin"]].document.contacts
    assert (contact.name, contact.phone) == ("刘峰", "0531-87589586")
    assert contact.organisation == "槐荫区发展改革局综合监管科"


def test_gongqingcheng_contact(seeds):
    doc = seeds[SEEDS["gongqingcheng"]].document
    (contact,) = doc.contacts
    assert (contact.name, contact.phone) == ("共青城市发展和改革委员会", "0792-4357300")
    assert doc.text[contact.start : contact.end] == "咨询电话:0792-4357300"


def test_clause_text_is_an_exact_slice_of_the_cleaned_document(corpus_report):
    for doc in corpus_report.documents:
        for clause in doc.clauses:
            assert doc.document.text[clause.start : clause.end] == clause.text


def test_clauses_are_clean(corpus_report):
    chrome = ("字号", "扫一扫", "我要评论", "视力保护色", "扫码使用", "赣政通")
    for clause in corpus_report.clauses:
        assert not PINYIN_ANNOTATION.search(clause.text)
        assert not any(word in clause.text for word in chrome), clause.chunk_id
        # A line break never follows a comma or an enumeration mark: no sentence is cut in two.
        assert not re.search(r"[，,、(（]\n", clause.text), clause.chunk_id
        assert not re.search(r"\n[，,、。；)）]", clause.text), clause.chunk_id


def test_long_clauses_split_on_sentence_ends_and_keep_their_path(corpus_report):
    split = [c for c in corpus_report.clauses if c.parts > 1]
    assert split
    for clause in split:
        assert len(clause.text) <= 400 + 40
        if clause.part < clause.parts:
            assert clause.text[-1] in "。！？；;，,\n", clause.text[-20:]
    by_section: dict = {}
    for clause in split:
        by_section.setdefault((clause.doc_id, clause.section), []).append(clause)
    for pieces in by_section.values():
        assert [p.part for p in pieces] == list(range(1, pieces[0].parts + 1))
        assert all(a.end + 1 >= b.start for a, b in zip(pieces, pieces[1:]))


def test_chunk_ids_are_stable_and_local(seeds):
    doc = seeds[SEEDS["ruijin"]]
    again = build_clauses(doc.document.doc_id, doc.document.title, doc.document.text)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in doc.clauses]
    assert len({c.chunk_id for c in doc.clauses}) == len(doc.clauses)
    # Editing one clause changes its id only; every other citation stays valid.
    edited = doc.document.text.replace("104千克标准煤/吨", "100千克标准煤/吨")
    changed = {c.chunk_id for c in build_clauses(doc.document.doc_id, doc.document.title, edited)} ^ {
        c.chunk_id for c in doc.clauses
    }
    assert len(changed) == 2


def test_heading_hierarchy_styles():
    text = clean_text(
        "总体要求\n一、重点任务\n(一)工业领域碳达峰行动\n加快推进工业低碳转型。\n1.推进工业绿色低碳发展。加快推进。\n"
        "(1)细项一。\n（2）细项二。\n2、推动建材行业碳达峰。引导建材行业。\n二、保障措施\n（一）扎实开展统计核算。提升能力。"
    ).text
    paths = [s.path for s in parse_sections(text)]
    assert paths == [
        (),
        ("一、重点任务",),
        ("一、重点任务", "(一)工业领域碳达峰行动"),
        ("一、重点任务", "(一)工业领域碳达峰行动", "1.推进工业绿色低碳发展"),
        ("一、重点任务", "(一)工业领域碳达峰行动", "1.推进工业绿色低碳发展", "(1)细项一"),
        ("一、重点任务", "(一)工业领域碳达峰行动", "1.推进工业绿色低碳发展", "（2）细项二"),
        ("一、重点任务", "(一)工业领域碳达峰行动", "2、推动建材行业碳达峰"),
        ("二、保障措施",),
        ("二、保障措施", "（一）扎实开展统计核算"),
    ]


def test_heading_only_sections_join_the_clause_below(seeds):
    (clause,) = clause_at(seeds[SEEDS["chengdu"]], "四、组织实施 › (一)建强工作机制")
    assert clause.text.startswith("四、组织实施\n(一)建强工作机制。")


def test_numbers_and_references_are_not_headings():
    assert match_heading("2.5万人/平方公里的密度") is None
    assert match_heading("第十八条的规定,拟订住房公积金的具体缴存比例") is None
    assert match_heading("1、,") is None
    assert match_heading("第十八条 住房公积金的缴存基数").label == "第十八条"


def test_regulation_articles_keep_their_enumerated_items():
    path = EXTRA / "law_housing_provident_fund_regulation.txt"
    if not path.exists():
        pytest.skip("../shared/corpus-extra is not beside the project")
    cleaned = clean_text(path.read_text(encoding="utf-8"))
    clauses = build_clauses("hpf", "住房公积金管理条例", cleaned.text)
    (article,) = [c for c in clauses if c.section == "第二章 机构及其职责 › 第九条"]
    assert "(三)确定住房公积金的最高贷款额度；" in article.text
    assert article.text.startswith("第九条住房公积金管理委员会在住房公积金管理方面履行下列职责：")
    # An article whose items run over several lines keeps them too (第九条's one-line items fold back anyway).
    (withdrawal,) = [c for c in clauses if c.section.startswith("第四章 提取和使用 › 第二十四条")]
    assert withdrawal.section == "第四章 提取和使用 › 第二十四条" and "(六)房租超出" in withdrawal.text


def test_responsibility_notes_from_the_corpus():
    assert parse_note("国家发展改革委、工业和信息化部、生态环境部等按职责分工负责").lead == (
        "国家发展改革委", "工业和信息化部", "生态环境部"
    )
    note = parse_note("省金融监管局、人行南昌中心支行牵头，江西银保监局、省工业和信息化厅、省发展改革委等配合")
    assert note.lead == ("省金融监管局", "人行南昌中心支行")
    assert note.supporting == ("江西银保监局", "省工业和信息化厅", "省发展改革委")
    assert parse_note("责任单位：北京海关、市财政局、北京市税务局、市卫生健康委").lead[0] == "北京海关"
    # Parentheses that are not responsibility notes.
    assert parse_note("执行事务合伙人、个人独资企业投资人、经营者或者负责人") is None
    assert parse_note("排在第一为牵头单位，下同") is None
    assert not responsibility_of("碳捕获、利用与封存(CCUS)等领域")


def test_contacts_need_a_label():
    assert contacts_of("2023年8月23日印发,编号0792-4357300") == ()
    (contact,) = contacts_of("五、政策咨询\n咨询部门:共青城市发展和改革委员会\n咨询电话:0792-4357300")
    assert contact.organisation == "共青城市发展和改革委员会"


def test_spans_cover_the_whole_document(corpus_report):
    for doc in corpus_report.documents:
        spans = clause_spans(parse_sections(doc.document.text))
        assert spans[0][1] == 0 and spans[-1][2] == len(doc.document.text)
        assert all(a[2] + 1 >= b[1] for a, b in zip(spans, spans[1:]))


def test_a_clause_passage_carries_its_title_and_section_unless_headers_are_off(seeds):
    clause = next(c for c in seeds[SEEDS["ruijin"]].clauses if "104千克标准煤/吨" in c.text)
    text = clause.passage()
    assert text.startswith("瑞金市碳达峰实施方案 › 三、重点任务 › (二)工业领域碳达峰行动 › 2.推动建材行业碳达峰\n")
    assert text.endswith(clause.text)
    assert clause.passage(header=False) == clause.text
    opening = next(c for c in seeds[SEEDS["ruijin"]].clauses if not c.section_path)
    assert opening.passage() == f"{opening.title}\n{opening.text}"
