"""The hotline workflow through the desk's handlers: a refused question reaches the queue, one account drafts an
official answer, a second approves it, the same need in other words gets it, and changing the cited document
withdraws it and sends the question back. Needs the model."""

from __future__ import annotations

import pytest

from rag.app.hotline_pages import SINGLE_ACCOUNT, HotlineHandlers
from rag.app.staff_pages import StaffHandlers

from ..conftest import NOTICE, STAFF_USER

pytestmark = pytest.mark.model
ASKED = "本区社区充电桩归哪个部门管？"


class Request:  # what gr.Request carries for a logged-in account
    def __init__(self, username: str):
        self.username = username


def chat(app, question: str) -> dict:
    *_, answers = list(app.chat(question, [], None, []))[-1]
    return answers[-1]


def test_a_refused_question_becomes_a_reviewed_answer_and_goes_back_when_its_clause_changes(own_app, tmp_path):
    desk, hotline = StaffHandlers(own_app), HotlineHandlers(own_app)
    note = tmp_path / "community-chargers.txt"
    note.write_text(NOTICE, encoding="utf-8")
    staged, _ = desk.stage([str(note)])
    own_app.desk.publish(staged, STAFF_USER)
    (doc_id,) = [s.doc_id for s in staged]

    unsettled = chat(own_app, "本区的充电桩停车费怎么收？")  # the notice says nothing of fees
    assert unsettled["refused"] or unsettled["confidence"] == "low"
    rows, _, summary = hotline.queue_view()
    assert [row[1] for row in rows] == ["本区的充电桩停车费怎么收？"] and "1 组" in summary
    (group,) = hotline.groups()
    question, paraphrases, _ = hotline.answer_group(group.key)
    assert question == "本区的充电桩停车费怎么收？" and paraphrases == ""

    chosen, _ = hotline.clause_choices("社区充电桩 建成 200根")
    chunk = next(value for _, value in chosen["choices"] if value.startswith(doc_id))
    saved = hotline.save_draft(ASKED, "社区充电设施由区发改局牵头推进，区住建局配合。", "本区充电桩谁负责", [chunk],
                               Request(STAFF_USER))
    assert saved.startswith("已保存草稿") and SINGLE_ACCOUNT in saved
    (drafted,) = own_app.officials.all()
    assert "需要另一个工作人员账号" in hotline.approve(drafted.id, Request(STAFF_USER))
    own_app.accounts.add("li", "correct-horse-8")
    assert hotline.approve(drafted.id, Request("li")).startswith("已发布")
    _, _, notice = hotline.official_view()
    assert notice == ""  # two accounts now

    served = chat(own_app, "本区社区充电桩由哪个部门负责？")
    assert served["mode"] == "official" and served["official"]["id"] == drafted.id
    assert served["answer"].startswith("工作人员审核答复") and served["citations"][0]["doc_id"] == doc_id

    # The document is published again with the clause reworded: the answer is withdrawn and its question is back.
    note.write_text(NOTICE.replace("200根", "300根"), encoding="utf-8")
    staged, preview = desk.stage([str(note)])
    assert "将替换已发布的同名文件" in preview
    own_app.desk.publish(staged, STAFF_USER)
    assert [a.state for a in own_app.officials.all()] == ["withdrawn"]
    assert chat(own_app, "本区社区充电桩由哪个部门负责？")["mode"] != "official"
    assert any(g.question == ASKED and "withdrawn" in g.outcomes for g in hotline.groups())
    actions = [r["action"] for r in own_app.audit.records()]
    assert actions.count("official-withdraw") == 1 and "official-approve" in actions
