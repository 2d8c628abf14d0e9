"""The answer rules on the seed documents, without the embedding model: an index is assembled from the ingested
corpus (no vectors), and every searcher here fails the test if it is asked to embed anything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.answer import HEDGE, Answer, Answerer, Conversation, Decision, analyse, resolve_follow_up
from rag.answer.contact import giving_a_number, listed_contact
from rag.answer.features import Candidate, TermStatistics
from rag.answer.issue_date import dated_spans, issue_answer, names_document
from rag.answer.quotes import Quoter, beyond_the_window, trim
from rag.answer.refusal import Refusals
from rag.answer.replies import Replies
from rag.answer.sources import Sources
from rag.answer.staff import assigning_work, responsibility_answer, task_and_note
from rag.app.present import answer_text
from rag.config import Settings
from rag.index import PolicyIndex
from rag.index.bm25 import BM25Index
from rag.index.store import DocumentRecord
from rag.ingest import SENTENCE
from rag.retrieve import Hit, Searcher
from rag.retrieve.search import search_request
from rag.text import PlaceCatalogue, Tokenizer

from ..conftest import SEEDS

RUIJIN, CHENGDU, JIANGXI = SEEDS["ruijin"], SEEDS["chengdu"], SEEDS["jiangxi"]
GONGQINGCHENG, HUAIYIN = SEEDS["gongqingcheng"], SEEDS["huaiyin"]


class NoModel:
    """A question encoder that must never be used: these rules answer without the model."""

    def encode_queries(self, texts):
        raise AssertionError(f"the model was asked to embed {texts!r}")


@pytest.fixture(scope="module")
def corpus_index(corpus_report) -> PolicyIndex:
    documents = {d.doc_id: DocumentRecord.from_document(d.document, d.content_hash) for d in corpus_report.documents}
    clauses = corpus_report.clauses
    # Term statistics read its vocabulary.
    bm25 = BM25Index.build([Tokenizer.for_lexicon().tokenize(c.passage()) for c in clauses])
    return PolicyIndex(Path("no-index"), {"model": {"id": "none"}}, documents, clauses,
                       np.zeros((len(clauses), 1), np.float32), dense=None, bm25=bm25)


@pytest.fixture(scope="module")
def answerer(corpus_index) -> Answerer:
    return Answerer(Searcher(corpus_index, Settings(), NoModel()))


@pytest.fixture(scope="module")
def sources(corpus_index) -> Sources:
    return Sources(corpus_index)


def clause_of(index: PolicyIndex, doc_id: str, heading: str):
    return next(c for c in index.clauses if c.doc_id == doc_id and c.section_path and c.section_path[-1] == heading)


def hit(clause, rank: int = 1) -> Hit:
    return Hit(rank, 1.0 / rank, clause)


def sentences(text: str, clause) -> list[tuple[int, int]]:
    return [m.span() for m in SENTENCE.finditer(text, clause.start, clause.end) if m.group(0).strip()]


# -- places ----------------------------------------------------------------------------------------------


def test_a_place_has_its_own_documents_else_those_its_region_names(corpus_index):
    places = PlaceCatalogue.of_documents(corpus_index.documents)
    assert places.documents_of("江西") == (JIANGXI,)  # the province's opinions, not 瑞金's and 共青城's plans
    assert places.documents_of("赣州") == (RUIJIN,)  # no document of 赣州 itself: 江西省赣州市瑞金市 names it
    assert places.documents_of("北京") == ()
    assert {"九江", "赣州", "共青城", "槐荫"} <= places.known_places and "北京" not in places.known_places
    assert places.documents_about("江西") >= {JIANGXI} and RUIJIN not in places.documents_about("成都")
    # A Milvus collection keeps titles and regions only: the same places from them.
    rows = [(d, doc.title, doc.metadata.get("region") or "") for d, doc in corpus_index.documents.items()]
    assert PlaceCatalogue.of_titles(rows).places == places.places


def test_the_searcher_normalises_a_raw_query_but_not_an_analysed_one():
    assert search_request("瑞金充電樁", 5, "hybrid") == ("瑞金充电桩", 5)  # the CLI's raw words
    assert search_request("瑞金充電樁", 5, "hybrid", normalized=True) == ("瑞金充電樁", 5)


# -- quotes ----------------------------------------------------------------------------------------------


def test_a_long_sentence_is_cut_to_the_parts_around_the_one_the_question_asks(corpus_index, sources):
    text = sources.text(RUIJIN)
    start = text.index("加快推进公交场站、停车场、客货枢纽")
    end = text.index("。", start) + 1
    assert end - start > 150  # the sentence: four comma-separated parts
    terms = TermStatistics(corpus_index)
    near = analyse("瑞金住宅小区停车位配建专用充电设施吗", frozenset({"瑞金"}))
    a, b = trim(text[start:end], start, near, terms)
    assert a == start and text[a:b].endswith("公共充电设施为辅助,")  # parts 1-3: the asked part 2 and its neighbours
    far = analyse("瑞金国省道两侧配建城际充电设施吗", frozenset({"瑞金"}))
    a, b = trim(text[start:end], start, far, terms)
    assert text[a:b].startswith("以公共建筑停车场") and b == end  # parts 3-4: the asked part is the last
    sentence = "争取水泥熟料综合能耗降低到104千克标准煤/吨。"  # short: quoted whole
    assert trim(sentence, 2000, near, terms) == (2000, 2000 + len(sentence))


def test_a_quote_takes_in_the_neighbouring_sentences_that_also_answer(corpus_index, sources):
    clause = clause_of(corpus_index, RUIJIN, "2.推动建材行业碳达峰")
    text = sources.text(RUIJIN)
    spans = sentences(text, clause)
    best_at = next(i for i, (a, _) in enumerate(spans) if text.startswith("支持建材企业", a))

    def candidate(i: int, p: float) -> Candidate:
        return Candidate(clause, hit(clause), *spans[i], probability=p)

    intent = analyse("瑞金水泥熟料综合能耗要降到多少", frozenset({"瑞金"}))
    quoter = Quoter(sources, TermStatistics(corpus_index), refuse_threshold=0.3)
    best = candidate(best_at, 0.9)
    likely = [best, candidate(best_at - 1, 0.1), candidate(best_at + 1, 0.5)]
    assert quoter.span(intent, best, likely) == (spans[best_at][0], spans[best_at + 1][1])
    unlikely = [best, candidate(best_at - 1, 0.1), candidate(best_at + 1, 0.4)]  # under half the best's 0.9
    assert quoter.span(intent, best, unlikely) == spans[best_at]


# -- refusals --------------------------------------------------------------------------------------------


def refusals(answerer: Answerer, settings: Settings | None = None) -> Refusals:
    return Refusals(answerer.searcher, answerer.sources, answerer.catalogue, settings or Settings(), "test")


def test_a_refusal_points_to_the_asked_places_own_office_and_its_clauses(answerer, corpus_index, sources):
    intent = analyse("共青城的房产税怎么减免？", answerer.known_places)
    own = [c for c in corpus_index.clauses if c.doc_id == GONGQINGCHENG]
    consulting = clause_of(corpus_index, GONGQINGCHENG, "五、政策咨询")
    hits = [hit(consulting, 1), hit(clause_of(corpus_index, RUIJIN, "2.推动建材行业碳达峰"), 2)] + [
        hit(c, rank) for rank, c in enumerate(own[:6], 3)]  # six clauses, three paths (split clauses' parts)
    decided = Decision("answered", intent.kind, places=intent.places, probability=0.05)
    answer = refusals(answerer).refuse(intent, hits, "absent", decided)
    contact = answer.contacts[0]
    assert contact["phone"] == "0792-4357300" and contact["doc_id"] == GONGQINGCHENG
    assert "0792-4357300" in sources.text(GONGQINGCHENG)[contact["start"]:contact["end"]]
    assert answer.answer == ("这些政策文件中没有找到能回答这个问题的内容。"
                             "如需咨询，可联系共青城市发展和改革委员会，电话0792-4357300。")
    assert answer.refused and [c.n for c in answer.related] == [1, 2, 3]
    assert len({c.section for c in answer.related}) == 3  # a path once, whichever of its parts were found
    assert all(c.doc_id == GONGQINGCHENG and c.chunk_id != consulting.chunk_id for c in answer.related)
    assert all(c.quote == corpus_index.clause(c.chunk_id).text for c in answer.related)
    # Shown once, as sources, never in the text.
    assert not any(c.section and c.section in answer.answer for c in answer.related)
    assert answer.decision.route == "refused" and answer.decision.refused_because == "absent"
    assert answer.probability == 0.05  # a refusal for want of a good sentence keeps its probability


def test_without_a_place_a_refusal_points_to_the_general_line(answerer, corpus_index):
    intent = analyse("个人所得税起征点是多少", answerer.known_places)
    hits = [hit(clause_of(corpus_index, RUIJIN, "2.推动建材行业碳达峰"))]
    default = refusals(answerer).refuse(intent, hits, "duty", Decision("answered", probability=0.2))
    # 12345 is in the line's name, so it is not written twice.
    assert default.answer == "文件中没有写明这项工作由哪个部门负责。如需咨询，可拨打12345政务服务便民热线。"
    assert default.contacts == [{"name": "12345政务服务便民热线", "phone": "12345", "organisation": None,
                                 "general": True}]
    assert default.probability is None  # only an "absent" refusal carries the probability
    other = Settings(general_contact_name="市民服务中心", general_contact_phone="0791-8888888")
    named = refusals(answerer, other).refuse(intent, [], "date", Decision("answered"))
    assert named.answer == "文件中没有写明这一日期，无法确认。如需咨询，可拨打市民服务中心（0791-8888888）。"


def test_a_question_about_a_place_without_documents_is_refused_unsearched(answerer):
    answer = answerer.ask("北京的充电桩补贴是多少？")  # NoModel: a search would fail the test
    assert answer.refused and answer.answer.startswith("这些政策文件中没有北京的文件，无法回答这个问题。")
    assert answer.related == [] and answer.contacts[0]["general"]
    decision = answer.decision
    assert (decision.route, decision.refused_because, decision.places, decision.foreign) == (
        "refused", "place", ("北京",), ("北京",))
    assert decision.probability is None and decision.asked
    assert "decision" not in answer.to_dict() and "why" not in answer.to_dict()
    assert answer_text(answer, 1).startswith("<strong>这些政策文件中没有北京的文件，无法回答这个问题。</strong>")


@pytest.mark.parametrize(("message", "route"),
                         [("", "empty"), ("   ", "empty"), ("你好", "welcome"), ("🙂", "welcome")])
def test_a_message_that_asks_nothing_is_decided_without_a_search(answerer, message, route):
    answer = answerer.ask(message)
    assert answer.refused and answer.decision.route == route and not answer.decision.asked
    assert "<strong>" not in answer_text(answer, 1)  # a welcome is not presented as a failed search


# -- the rules -------------------------------------------------------------------------------------------


def test_a_contact_question_is_answered_from_the_documents_contact_line(corpus_index, sources):
    intent = analyse("槐荫区碳达峰方案有问题找谁", frozenset({"槐荫"}))
    ruijin = clause_of(corpus_index, RUIJIN, "2.推动建材行业碳达峰")
    huaiyin = next(c for c in corpus_index.clauses if c.doc_id == HUAIYIN)
    answer = listed_contact(intent, [hit(ruijin, 1), hit(huaiyin, 2)], (), sources, Decision("answered"), "v")
    line = corpus_index.documents[HUAIYIN].contact_list[0]
    citation = answer.citations[0]
    assert citation.quote == sources.text(HUAIYIN)[line.start:line.end] == "联系人:刘峰0531-87589586"
    assert corpus_index.clause(citation.chunk_id).start <= line.start < corpus_index.clause(citation.chunk_id).end
    assert "槐荫区发展改革局综合监管科（联系人：刘峰），电话0531-87589586" in answer.answer
    assert answer.contacts == [{"name": "刘峰", "phone": "0531-87589586", "organisation": "槐荫区发展改革局综合监管科",
                                "source_n": 1}]
    assert (answer.decision.route, answer.decision.rule) == ("answered", "contact")
    gongqingcheng = next(c for c in corpus_index.clauses if c.doc_id == GONGQINGCHENG)
    asked = listed_contact(intent, [hit(huaiyin, 1), hit(gongqingcheng, 2)], (GONGQINGCHENG,), sources,
                           Decision("answered"), "v")
    assert asked.contacts[0]["phone"] == "0792-4357300"  # the asked place's, though 槐荫's ranked first
    assert listed_contact(intent, [hit(ruijin)], (), sources, Decision("answered"), "v") is None  # none listed


def test_without_a_contact_line_only_a_sentence_giving_a_number_answers(corpus_index, sources):
    consulting = clause_of(corpus_index, GONGQINGCHENG, "五、政策咨询")
    plan = clause_of(corpus_index, RUIJIN, "3.加强绿色交通基础设施建设")
    text, ruijin_text = sources.text(GONGQINGCHENG), sources.text(RUIJIN)
    phone = text.index("咨询电话")
    chargers = ruijin_text.index("到2025年全市建成各类充电桩900根")  # a year and a count are not a phone number
    options = [Candidate(plan, hit(plan), chargers, chargers + 16), Candidate(consulting, hit(consulting), phone,
                                                                               phone + 17)]
    assert [c.start for c in giving_a_number(options, sources)] == [phone]


def test_who_leads_is_quoted_with_its_task_and_note(answerer, corpus_index, sources):
    clause = clause_of(corpus_index, RUIJIN, "2.推动建材行业碳达峰")
    text = sources.text(RUIJIN)
    start, end = task_and_note(clause, text)
    assert text[start:end].startswith("推动水泥行业绿色化") and text[start:end].endswith("市城管局配合)")
    assert task_and_note(clause_of(corpus_index, GONGQINGCHENG, "五、政策咨询"), sources.text(GONGQINGCHENG)) is None
    intent = analyse("瑞金推动建材行业碳达峰是哪个部门牵头？", answerer.known_places)
    replies = Replies(sources, Quoter(sources, TermStatistics(corpus_index), 0.3), "v")
    options = [Candidate(clause, hit(clause), start, end, probability=0.8)]
    answer = responsibility_answer(intent, options, Decision("answered"), True, 0.3, sources, replies)
    assert answer.answer.startswith("根据《瑞金市碳达峰实施方案》“2.推动建材行业碳达峰”：推动水泥行业绿色化")
    assert "市工信局牵头" in answer.citations[0].quote and answer.decision.rule == "departments"
    hedged = responsibility_answer(intent, options, Decision("answered"), False, 0.3, sources, replies)
    assert hedged.answer.startswith(HEDGE + "《瑞金市碳达峰实施方案》")
    assert hedged.decision.route == "hedged" and hedged.confidence == "low"
    assert responsibility_answer(intent, options, Decision("answered"), True, 0.9, sources, replies) is None


def test_who_issued_a_document_is_answered_by_the_sentence_that_issues_it(answerer, corpus_index, sources):
    text = sources.text(RUIJIN)
    issuing = text.index("瑞金市人民政府发布关于印发")
    clause = next(c for c in corpus_index.clauses if c.doc_id == RUIJIN and c.start <= issuing < c.end)
    start, end = next(span for span in sentences(text, clause) if span[0] <= issuing < span[1])
    options = [Candidate(clause, hit(clause), start, end, probability=0.8)]
    issued = analyse("《瑞金市碳达峰实施方案》是哪个部门印发的？", answerer.known_places)
    leads = analyse("瑞金的碳达峰方案是哪个部门牵头？", answerer.known_places)
    assert issued.kind == leads.kind == "staff"
    assert assigning_work(options, 0.3, sources, issued) == options
    assert assigning_work(options, 0.3, sources, leads) == []  # issuing a plan is not leading its work
    assert assigning_work(options, 0.9, sources, issued) == []  # and never below the line


def test_a_span_cut_by_its_reading_window_is_completed_to_its_sentence(corpus_index, sources):
    text = sources.text(RUIJIN)
    start = text.index("《方案》明确")
    cut = text.index("目标任务") + 3  # a window ending 24 characters past its sentence stopped inside 目标任务
    clause = next(c for c in corpus_index.clauses if c.doc_id == RUIJIN and c.start <= start < c.end)
    lo, hi = beyond_the_window(text, start, cut, (start - 60, cut), (clause.start, clause.end))
    assert lo == start and text[lo:hi].endswith("“十大行动”。") and "目标任务" in text[lo:hi]
    assert beyond_the_window(text, start, cut, (start - 60, cut + 5), (clause.start, clause.end)) == (start, cut)
    inside = text.index("为确保如期完成")  # cut at the window's start: back to where the sentence starts
    assert beyond_the_window(text, inside, cut, (inside, cut + 5), (clause.start, clause.end)) == (start, cut)


def test_the_issue_date_is_the_date_under_the_title_not_one_the_document_cites(answerer, corpus_index, sources):
    text, title = sources.text(JIANGXI), corpus_index.documents[JIANGXI].title
    intent = analyse("江西省做好碳达峰碳中和工作的实施意见是哪天发布的？", answerer.known_places)
    dated = [text[a:b] for a, b in dated_spans(intent, text, title)]
    assert "(2022年4月6日)" in dated  # under the title
    # The opening sentence issues this very document (印发了《关于…实施意见》) with the date in it: dated too.
    assert dated[0].startswith("中共江西省委") and "印发了《关于完整准确全面贯彻" in dated[0]
    central = "为贯彻落实《中共中央国务院关于完整准确全面贯彻新发展理念做好碳达峰碳中和工作的意见》精神"
    assert not names_document(intent, central, title)  # the national opinions it cites, not itself
    assert names_document(intent, "本意见自2022年印发之日起施行。", title)
    replies = Replies(sources, Quoter(sources, TermStatistics(corpus_index), 0.3), "v")
    answer = issue_answer(intent, [hit(corpus_index.clauses[corpus_index.doc_rows[JIANGXI][0]])], (), sources,
                          replies, Decision("answered"))
    assert answer.answer == f"根据《{title}》：{dated[0]}[1]" and answer.citations[0].start == 0
    assert "2022年4月6日" in answer.answer and answer.decision.rule == "issue_date"
    assert issue_answer(intent, [hit(corpus_index.clauses[corpus_index.doc_rows[CHENGDU][0]])], (), sources,
                        replies, Decision("answered")) is None  # 成都's plan states no date


# -- follow-ups ------------------------------------------------------------------------------------------


def test_a_follow_up_is_read_against_the_previous_question(answerer):
    known = answerer.known_places
    before = analyse("瑞金到2025年新能源汽车要达到多少辆？", known)
    assert resolve_follow_up("那成都呢？", before, known) == "成都到2025年新能源汽车要达到多少辆？"
    assert resolve_follow_up("这个由谁负责？", before, known) == "瑞金到2025年新能源汽车要达到多少辆由谁负责？"
    assert resolve_follow_up("成都的充电桩有多少？", before, known) == "成都的充电桩有多少？"  # asks on its own
    # A question about another place that asks something of its own is not the previous question moved there (a
    # tapped suggestion was read as 瑞金的保障措施是什么？).
    assert resolve_follow_up("瑞金的主要目标是什么？", before, known) == "瑞金的主要目标是什么？"
    assert resolve_follow_up("那成都和江西呢？", before, known) == "成都、江西到2025年新能源汽车要达到多少辆？"


def test_the_topic_is_the_last_answered_turn_not_a_refusal_or_a_greeting(answerer):
    def turn(question: str, refused: bool, route: str) -> Answer:
        return Answer(question, "…", refused, "zh-Hans", intent=analyse(question, answerer.known_places),
                      decision=Decision(route))

    talk = Conversation(answerer)
    talk.turns = [turn("瑞金到2025年新能源汽车要达到多少辆？", False, "answered"),
                  turn("个人所得税起征点是多少", True, "refused"), turn("你好", True, "welcome")]
    assert talk.context() is talk.turns[0]
    assert talk.resolve("那江西呢？") == "江西到2025年新能源汽车要达到多少辆？"
    talk.turns = talk.turns[1:]  # nothing answered: the last question that asked something
    assert talk.context() is talk.turns[0]


def test_a_private_mobile_is_never_offered_but_an_office_mobile_is():
    from rag.answer.sources import is_private
    from rag.ingest import Contact
    from rag.ingest.responsibility import contacts_of

    volunteer = contacts_of("如有法律问题可咨询志愿律师。\n联系人：王某，电话：13912345678\n")
    office = contacts_of("共青城市发展和改革委员会\n联系电话：13912345678\n")
    assert volunteer and is_private(volunteer[0])
    assert office and not is_private(office[0])
    assert not is_private(Contact("市发改委", "0792-4321234", None, 0, 1))


def test_a_refusal_refers_to_the_place_the_question_is_about_not_the_first_place_named(answerer):
    """Someone who came from 共青城 and asks about 成都's buses asks about 成都: what it asks matches 成都's
    documents, which list no consulting line, so the general line is given, never 共青城's number."""
    refusals = answerer.refusals
    about_chengdu = answerer.analyse("我从共青城搬到成都了，成都的公交车以后会换成新能源的吗？")
    assert list(about_chengdu.places[:2]) == ["共青城", "成都"]
    assert refusals.place_asked_about(about_chengdu) == "成都"
    assert refusals.whom_to_call(about_chengdu)["general"]
    # Asked the other way round, the same two places: 共青城's own line.
    about_gongqingcheng = answerer.analyse("我从成都来，共青城的低碳试点有哪些重点任务？")
    assert refusals.place_asked_about(about_gongqingcheng) == "共青城"
    line = refusals.whom_to_call(about_gongqingcheng)
    assert line["doc_id"] == GONGQINGCHENG and not line.get("general")
    # A place without documents named first does not hide the one that has them.
    from_beijing = answerer.analyse("我从北京来，共青城的低碳试点有哪些重点任务？")
    assert from_beijing.places[0] == "北京" and not answerer.catalogue.documents_of("北京")
    assert refusals.place_asked_about(from_beijing) == "共青城"


def test_a_short_answer_is_widened_to_whole_words(seeds):
    """The span head works on subword tokens: a span that stops inside 全面贯彻 is read to the word's end, and
    no span ends on an opening bracket."""
    from rag.answer.quotes import whole_words
    from rag.text import Tokenizer

    text = seeds["jiangxi-carbon-peak-neutrality-opinions"].document.text
    at = text.index("全面贯彻新发展理念")
    bounds = Tokenizer.for_lexicon().bounds
    start, end = whole_words(text, at, at + 3, at - 10, at + 20, bounds)
    assert text[start:end] == "全面贯彻"
    start, end = whole_words(text, at - 2, at + 4, at - 10, at + 20, bounds)
    assert text[start:end].endswith("全面贯彻") and not text[start:end].startswith(("，", "、"))


def test_an_answer_offers_the_line_of_the_place_asked_never_of_the_document_quoted(answerer, corpus_index, sources):
    """A question about 成都 answered from 共青城's document is not sent to 共青城's office (review of issue 22)."""
    replies = Replies(sources, Quoter(sources, TermStatistics(corpus_index), 0.3), "v",
                      answerer.catalogue.documents_of_places)
    clause = clause_of(corpus_index, GONGQINGCHENG, "五、政策咨询")
    citation = sources.whole_clause(1, clause)
    about_chengdu = replies.answered(analyse("成都落实资金保障", answerer.known_places), "…[1]", [citation],
                                     Decision("answered"))
    assert about_chengdu.contacts == []
    about_gongqingcheng = replies.answered(analyse("共青城落实资金保障", answerer.known_places), "…[1]", [citation],
                                           Decision("answered"))
    assert [c["phone"] for c in about_gongqingcheng.contacts] == ["0792-4357300"]


def test_a_number_listed_without_a_name_is_offered_as_a_number_to_dial():
    from rag.answer.messages import call, further_contact

    # An NCP notice lists only 0832-2024729 under 咨询电话: no empty name before the comma.
    assert call("", "0832-2024729") == "如需咨询，可拨打电话0832-2024729。"
    assert further_contact(" ", "0832-2024729").strip() == "如需进一步咨询，可拨打电话0832-2024729。"
    assert call("区发改局", "0832-2024729") == "如需咨询，可联系区发改局，电话0832-2024729。"
