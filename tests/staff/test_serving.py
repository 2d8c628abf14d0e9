"""Official answers served: a question in other words (either script) gets the reviewed answer, labelled and
cited; an unrelated one does not; the command line drives the whole workflow. Needs the model."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.staff import AuditLog, Hotline, OfficialAnswers, OfficialMatcher, QuestionLog

from ..conftest import SEEDS

pytestmark = pytest.mark.model
QUESTION = "瑞金到2025年要建多少充电桩？"


def charging_chunk(searcher) -> str:
    hit = next(h for h in searcher.search("瑞金 充电桩 2025年", k=5) if h.clause.doc_id == SEEDS["ruijin"])
    return hit.clause.chunk_id


@pytest.fixture
def hotline(tmp_path, searcher) -> Hotline:
    store = OfficialAnswers(tmp_path / "faq.json", AuditLog(tmp_path / "audit.jsonl"))
    drafted = store.draft(QUESTION, "到2025年建成充电桩17万个以上。", [charging_chunk(searcher)], "wang",
                          searcher.index, paraphrases=["瑞金充电桩的建设目标是多少"])
    store.approve(drafted.id, "li")
    return Hotline(store, OfficialMatcher(searcher.encoder()), QuestionLog(tmp_path / "questions.jsonl"))


def test_a_paraphrase_gets_the_reviewed_answer_labelled_and_cited(hotline, answerer):
    (published,) = hotline.store.published()
    answer = hotline.ask("瑞金打算建几个充电桩啊", answerer, log=True)
    data = answer.to_dict()
    assert data["mode"] == "official" and data["official"] == {"id": published.id, "approved_at": published.approved_at}
    assert answer.answer.startswith("工作人员审核答复") and QUESTION in answer.answer and "[1]" in answer.answer
    (citation,) = answer.citations
    assert answerer.index.documents[citation.doc_id].text[citation.start:citation.end] == citation.quote
    traditional = hotline.ask("瑞金打算建幾個充電樁啊", answerer)
    assert traditional.mode == "official" and traditional.script == "zh-Hant"
    assert "工作人員審核答覆" in traditional.answer
    other = hotline.ask("个人所得税起征点是多少？", answerer, log=True)
    assert other.mode != "official" and other.refused
    assert [e.outcome for e in hotline.log.entries()] == ["official", "refused"]


def test_the_command_line_drafts_approves_serves_and_lists(tmp_path, monkeypatch, seed_index, searcher):
    folder, _ = seed_index
    monkeypatch.setenv("POLICY_RAG_AUDIT_PATH", str(tmp_path / "audit" / "audit.jsonl"))
    monkeypatch.setenv("POLICY_RAG_STAFF_ACCOUNTS", str(tmp_path / "staff.json"))
    monkeypatch.setenv("POLICY_RAG_INDEX", str(folder))
    runner = CliRunner()
    for name in ("wang", "li"):
        assert runner.invoke(app, ["staff", "add", name, "--password-stdin"], input="correct-horse-7\n").exit_code == 0
    lines = tmp_path / "faq.jsonl"
    good = {"question": QUESTION, "answer": "到2025年建成充电桩17万个以上。",
            "citations": [{"chunk_id": charging_chunk(searcher)}], "paraphrases": ["瑞金充电桩的建设目标是多少"]}
    lines.write_text(json.dumps(good, ensure_ascii=False) + '\n{"question": "缺答复"}\n', encoding="utf-8")
    failed = runner.invoke(app, ["faq", "import", str(lines), "--by", "wang"])
    assert failed.exit_code == 1 and "line 2" in failed.output and "nothing imported" in failed.output
    assert not (tmp_path / "audit" / "faq.json").exists()
    lines.write_text(json.dumps(good, ensure_ascii=False) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["faq", "import", str(lines), "--by", "wang"]).exit_code == 0
    (listed,) = [json.loads(line) for line in runner.invoke(app, ["faq", "list", "--json"]).output.splitlines()]
    assert listed["state"] == "draft" and listed["drafted_by"] == "wang"
    refused = runner.invoke(app, ["faq", "approve", listed["id"], "--by", "wang"])
    assert refused.exit_code == 1 and "另一个工作人员账号" in refused.output
    assert runner.invoke(app, ["faq", "approve", listed["id"], "--by", "nobody"]).exit_code == 1
    assert runner.invoke(app, ["faq", "approve", listed["id"], "--by", "li"]).exit_code == 0
    asked = json.loads(runner.invoke(app, ["ask", "瑞金以后会有多少个充电桩", "--json"]).output.splitlines()[-1])
    assert asked["mode"] == "official" and asked["official"]["id"] == listed["id"]
    assert runner.invoke(app, ["faq", "export", str(tmp_path / "out.jsonl")]).exit_code == 0
    (exported,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert exported["state"] == "published" and exported["approved_by"] == "li"
    assert runner.invoke(app, ["faq", "withdraw", listed["id"], "--by", "li", "--reason", "政策调整"]).exit_code == 0
    again = json.loads(runner.invoke(app, ["ask", "瑞金以后会有多少个充电桩", "--json"]).output.splitlines()[-1])
    assert again["mode"] != "official"
    actions = [json.loads(line)["action"] for line in (tmp_path / "audit" / "audit.jsonl").read_text().splitlines()]
    assert actions == ["official-draft", "official-approve", "official-withdraw"]
