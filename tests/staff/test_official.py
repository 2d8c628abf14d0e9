"""Official answers: drafted by one account, approved by another, cited exactly, withdrawn when their clause
changes; on the seed documents' clauses, no model needed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.index import PolicyIndex
from rag.index.store import DocumentRecord
from rag.staff import AuditLog, OfficialAnswerError, OfficialAnswers
from rag.staff.official import DRAFT, PUBLISHED, WITHDRAWN

from ..conftest import SEEDS


def index_of(documents: dict, clauses: list) -> PolicyIndex:
    return PolicyIndex(Path("no-index"), {"model": {"id": "none"}}, documents, clauses,
                       np.zeros((len(clauses), 1), np.float32), dense=None, bm25=None)


@pytest.fixture(scope="module")
def index(corpus_report) -> PolicyIndex:
    documents = {d.doc_id: DocumentRecord.from_document(d.document, d.content_hash) for d in corpus_report.documents}
    return index_of(documents, corpus_report.clauses)


@pytest.fixture
def store(tmp_path) -> OfficialAnswers:
    return OfficialAnswers(tmp_path / "faq.json", AuditLog(tmp_path / "audit.jsonl"))


def charging_clause(index: PolicyIndex):
    return next(c for c in index.clauses if c.doc_id == SEEDS["ruijin"] and "充电桩" in c.text)


def test_a_draft_is_published_only_by_a_second_account(store, index):
    clause = charging_clause(index)
    drafted = store.draft("瑞金要建多少充电桩？", "到2025年建成充电桩17万个以上。", [clause.chunk_id], "wang", index,
                          paraphrases=["瑞金充电桩的建设目标", "瑞金要建多少充电桩？"])
    assert drafted.state == DRAFT and store.published() == []
    assert drafted.paraphrases == ("瑞金充电桩的建设目标",)  # the question itself is not repeated
    (citation,) = drafted.citations  # the whole clause, an exact slice of the cleaned text
    assert citation.quote == index.documents[clause.doc_id].text[clause.start:clause.end] and citation.quote
    with pytest.raises(OfficialAnswerError, match="另一个工作人员账号"):
        store.approve(drafted.id, "wang")
    approved = store.approve(drafted.id, "li")
    assert approved.state == PUBLISHED and approved.approved_by == "li" and approved.approved_at
    assert [a.id for a in store.published()] == [drafted.id]
    with pytest.raises(OfficialAnswerError, match="不是草稿"):
        store.approve(drafted.id, "zhao")
    withdrawn = store.withdraw(drafted.id, "zhao", "政策调整")
    assert withdrawn.state == WITHDRAWN and withdrawn.reason == "政策调整" and store.published() == []
    actions = [(r["user"], r["action"]) for r in store.audit.records()]
    assert actions == [("wang", "official-draft"), ("li", "official-approve"), ("zhao", "official-withdraw")]


def test_an_edit_sends_a_published_answer_back_to_review(store, index):
    drafted = store.draft("瑞金要建多少充电桩？", "17万个以上。", [charging_clause(index).chunk_id], "wang", index)
    store.approve(drafted.id, "li")
    edited = store.edit(drafted.id, "li", index, answer="到2025年建成充电桩17万个以上。")
    assert edited.id == drafted.id and edited.state == DRAFT and edited.drafted_by == "li"
    assert store.published() == []
    with pytest.raises(OfficialAnswerError):  # li now drafted it: another account approves
        store.approve(edited.id, "li")


def test_an_import_names_every_bad_line_and_imports_nothing(store, index, tmp_path):
    chunk = charging_clause(index).chunk_id
    path = tmp_path / "faq.jsonl"
    path.write_text("\n".join([
        f'{{"question": "瑞金要建多少充电桩？", "answer": "17万个以上", "citations": [{{"chunk_id": "{chunk}"}}]}}',
        '{"question": "没有答复"}',
        "not json",
        '{"question": "q", "answer": "a", "citations": [{"chunk_id": "no-such-clause"}]}',
    ]) + "\n", encoding="utf-8")
    with pytest.raises(OfficialAnswerError) as failure:
        store.import_file(path, "wang", index)
    lines = str(failure.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["line 2", "line 3", "line 4"]
    assert "answer, citations" in lines[0] and "no-such-clause" in lines[2]
    assert store.all() == [] and store.audit.records() == []
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    (drafted,) = store.import_file(path, "wang", index)
    assert drafted.drafted_by == "wang" and drafted.state == DRAFT


def test_an_answer_whose_clause_changed_is_withdrawn(store, index):
    clause = charging_clause(index)
    drafted = store.draft("瑞金要建多少充电桩？", "17万个以上。", [clause.chunk_id], "wang", index)
    store.approve(drafted.id, "li")
    assert store.withdraw_stale(index) == []  # unchanged: still served
    doc = index.documents[clause.doc_id]
    edited_text = doc.text[:clause.end - 1] + "。另行通知" + doc.text[clause.end - 1:]  # the clause reworded
    changed = index_of({**index.documents, doc.doc_id: replace(doc, text=edited_text)}, index.clauses)
    (stale,) = store.withdraw_stale(changed)
    assert stale.id == drafted.id and stale.state == WITHDRAWN and "修改或删除" in stale.reason
    assert store.published() == [] and store.audit.records()[-1]["user"] == "system"
    gone = index_of(index.documents, [c for c in index.clauses if c.chunk_id != clause.chunk_id])
    again = store.draft("瑞金要建多少充电桩？", "17万个以上。", [clause.chunk_id], "wang", index)
    store.approve(again.id, "li")
    assert [a.id for a in store.withdraw_stale(gone)] == [again.id]  # the clause left the index
