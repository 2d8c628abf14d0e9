"""The question log and its queue: masked, append-only, torn lines skipped, old entries purged, grouped."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from rag.staff import QuestionLog, QueueDecisions, mask_personal, open_queue
from rag.staff.questions import FLAGGED, REFUSED, WITHDRAWN, outcome_of
from rag.staff.queue import group_questions


def test_numbers_that_identify_a_person_are_masked_and_policy_figures_are_not():
    assert mask_personal("我手机13812345678，能打给我吗") == "我手机[手机号已隐去]，能打给我吗"
    assert mask_personal("身份证110101199003074578丢了") == "身份证[身份证号已隐去]丢了"
    assert mask_personal("卡号6222 0212 3456 7890 123") == "卡号[银行卡号已隐去]"
    assert mask_personal("座机0791-7654321") == "座机[电话已隐去]"
    for kept in ("到2025年建成充电桩17万个以上", "拨打12345热线", "2020年2月17日起"):
        assert mask_personal(kept) == kept


def answer(question: str, refused: bool = True, confidence: str | None = None) -> dict:
    return {"question": question, "refused": refused, "confidence": confidence, "mode": "extractive",
            "citations": [{"chunk_id": "ruijin-carbon-peak-plan:abc"}], "model": "lr-x+rd-y"}


def test_the_log_keeps_outcomes_masks_questions_and_survives_a_torn_line(tmp_path):
    log = QuestionLog(tmp_path / "questions.jsonl")
    log.record(answer("我的电话13812345678，瑞金充电桩归谁管？"))
    log.record(answer("瑞金要建多少充电桩？", refused=False, confidence="low"))
    log.record(answer("瑞金要建多少充电桩？", refused=False), FLAGGED)
    with open(log.path, "a", encoding="utf-8") as handle:
        handle.write('{"time": "2026-12-0')  # a process killed mid-write
    entries = log.entries()
    assert [e.outcome for e in entries] == [REFUSED, "hedged", FLAGGED]
    assert "13812345678" not in log.path.read_text(encoding="utf-8") and "[手机号已隐去]" in entries[0].question
    assert entries[0].citations == ("ruijin-carbon-peak-plan:abc",) and entries[0].model == "lr-x+rd-y"
    log.record(answer("新的问题"))  # the log goes on after the torn line
    assert [e.question for e in log.entries()][-1] == "新的问题"
    assert outcome_of({"mode": "official"}) == "official" and outcome_of({"refused": False}) == "answered"


def test_entries_older_than_the_retention_are_purged(tmp_path):
    log = QuestionLog(tmp_path / "questions.jsonl", retention_days=30)
    old = (datetime.now(timezone.utc) - timedelta(days=31)).isoformat(timespec="seconds")
    log.path.write_text(json.dumps({"time": old, "question": "旧问题", "outcome": "refused"}, ensure_ascii=False)
                        + "\n", encoding="utf-8")
    log.record(answer("新问题"))
    assert [e.question for e in log.entries()] == ["新问题"]  # out of retention: not shown
    assert log.purge() == 1 and "旧问题" not in log.path.read_text(encoding="utf-8")
    assert log.purge() == 0


class CharacterEncoder:
    """Questions as normalised character-count vectors: the same words give the same vector."""

    def encode_queries(self, texts):
        rows = []
        for text in texts:
            v = np.zeros(4096, np.float32)
            for ch in text:
                v[hash(ch) % 4096] += 1
            rows.append(v / (np.linalg.norm(v) or 1))
        return np.stack(rows)


def test_the_queue_groups_one_need_counts_it_and_forgets_what_staff_settled(tmp_path):
    log = QuestionLog(tmp_path / "questions.jsonl")
    duty, fare = "瑞金充电桩归哪个部门管？", "成都公交车票价多少钱？"
    for question in (duty, duty.rstrip("？"), duty, fare):
        log.record(answer(question))
    log.record(answer("瑞金要建多少充电桩？", refused=False))  # answered: not in the queue
    decisions = QueueDecisions(tmp_path / "decisions.jsonl")
    groups = open_queue(log.entries(), decisions, CharacterEncoder())
    assert [(g.question, g.count) for g in groups] == [("瑞金充电桩归哪个部门管？", 3), ("成都公交车票价多少钱？", 1)]
    assert groups[0].questions == [("瑞金充电桩归哪个部门管？", 2), ("瑞金充电桩归哪个部门管", 1)]
    assert groups[0].outcomes == {REFUSED: 3} and groups[0].last_asked >= groups[0].first_asked
    with pytest.raises(ValueError):
        decisions.dismiss(groups[1], "wang", " ")
    decisions.dismiss(groups[1], "wang", "不属于本热线")
    assert [g.question for g in open_queue(log.entries(), decisions, CharacterEncoder())] == [duty]


def test_a_withdrawn_answer_puts_its_question_back_even_within_the_second_it_was_approved(tmp_path):
    log = QuestionLog(tmp_path / "questions.jsonl")
    asked = "本区的充电桩停车费怎么收？"
    log.record(answer(asked))
    log.record({"question": asked, "official": {"id": "faq-1"}, "citations": []}, WITHDRAWN)
    decisions = QueueDecisions(tmp_path / "decisions.jsonl")
    # Stamped after the withdrawal, as it reads when both fall in one second: faq-1 settles what was asked before
    # it, never its own withdrawal.
    decisions.answered([asked], "li", "faq-1")
    (group,) = open_queue(log.entries(), decisions, CharacterEncoder())
    assert group.question == asked and group.outcomes == {WITHDRAWN: 1}
    decisions.answered([asked], "li", "faq-2")  # a new official answer settles it again
    assert open_queue(log.entries(), decisions, CharacterEncoder()) == []


@pytest.mark.model
def test_the_queue_puts_one_need_in_other_words_together(embedder):
    from rag.staff.questions import LoggedQuestion

    asked = ["瑞金以后会有多少个充电桩", "瑞金打算建几个充电桩啊", "个人所得税起征点是多少？"]
    groups = group_questions([LoggedQuestion("2026-12-02T00:00:00+00:00", q, REFUSED) for q in asked], embedder)
    assert sorted(len(g.questions) for g in groups) == [1, 2]
