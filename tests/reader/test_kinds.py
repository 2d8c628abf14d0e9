"""The answer kinds: what a question asks for and what a sentence of the seed documents states."""

from __future__ import annotations

from rag.reader.kinds import asked_kinds, held_kinds, kind_features


def test_questions_ask_for_typed_details():
    assert "money" in asked_kinds("开一家小店能领多少钱的补贴？")
    assert "period" in asked_kinds("这个缓缴能缓几个月？")
    assert "department" in asked_kinds("这事归哪个部门管？")
    assert "phone" in asked_kinds("咨询电话是多少？")
    assert "rate" in asked_kinds("单位缴费比例降了多少？")
    assert asked_kinds("碳达峰是什么意思") == frozenset()


def test_seed_sentences_hold_what_they_state(seeds):
    text = seeds["ruijin-carbon-peak-plan"].document.text
    sentence = text[text.index("新能源装机规模"):text.index("新能源装机规模") + 20]
    assert "count" not in held_kinds("推动项目落地实施")
    assert held_kinds("到2025年,建成充(换)电站3000座") >= {"count", "date"}
    assert "rate" in held_kinds("非化石能源消费比重达到18.3%")
    assert held_kinds(sentence) & {"count", "date"}  # 到2025年 … 30万千瓦


def test_a_near_miss_lacks_the_asked_detail():
    asked = asked_kinds("补贴能给多少钱？")
    assert kind_features(asked, held_kinds("对符合条件的企业给予一次性补贴。")) == (1.0, 1.0)
    assert kind_features(asked, held_kinds("给予每人1000元的一次性补贴。")) == (1.0, 0.0)
    assert kind_features(asked_kinds("怎么申请"), held_kinds("请登录平台申请")) == (0.0, 0.0)
