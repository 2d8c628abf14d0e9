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
    # Back in the queue: in the group holding its wording (which leads the group depends on the second each
    # wording was last asked, the citizen's new wording included).
    assert any(ASKED in dict(g.questions) and "withdrawn" in g.outcomes for g in hotline.groups())
    actions = [r["action"] for r in own_app.audit.records()]
    assert actions.count("official-withdraw") == 1 and "official-approve" in actions


def test_an_answer_from_an_expired_measure_says_so_first_and_the_catalogue_shows_it(own_app, tmp_path):
    note = tmp_path / "community-chargers-2020.txt"
    note.write_text(NOTICE.replace("二、组织实施", "本通知执行期限为2020年2月1日至2020年6月30日。\n二、组织实施")
                    + "区发展和改革局\n2020年1月20日\n", encoding="utf-8")
    staged, preview = StaffHandlers(own_app).stage([str(note)])
    assert "有效期至：2020-06-30" in preview and "印发日期：2020-01-20" in preview  # each with its evidence
    own_app.desk.publish(staged, STAFF_USER)
    answer = own_app.api_ask("本区到2025年建成多少根社区充电桩？")
    assert answer["answer"].startswith("该措施执行期至2020年6月30日，已到期，请以最新政策为准。")
    assert "200根" in answer["answer"]
    assert answer["citations"][0]["issued"] == "2020年1月印发"
    (row,) = [r for r in own_app.document_rows() if r[0] == "关于推进社区充电设施建设的通知"]
    assert row[4] == "2020-01-20" and row[5] == "已到期（至2020-06-30）"
    assert {r[5] for r in own_app.document_rows() if r[0] != row[0]} == {"未注明"}  # the seeds state no end
