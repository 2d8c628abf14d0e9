"""One jieba per corpus lexicon: an index's department names stay whole in its own text and questions, and
never leak into another index's, whatever was loaded before."""

from __future__ import annotations

from rag.text import Tokenizer

NOTE = "市工信局牵头，市住建局配合"


def test_a_lexicon_keeps_its_department_names_whole():
    tokens = Tokenizer.for_lexicon(("市工信局", "市住建局")).tokenize(NOTE)
    assert "市工信局" in tokens and "市住建局" in tokens


def test_another_lexicon_is_not_changed_by_it():
    with_names = Tokenizer.for_lexicon(("市工信局",))
    without = Tokenizer.for_lexicon(("市发改委",))
    assert "市工信局" in with_names.words(NOTE)
    assert "市工信局" not in without.words(NOTE) and "市工信局" not in Tokenizer.for_lexicon().words(NOTE)


def test_the_same_lexicon_is_one_tokenizer_and_tags_places():
    assert Tokenizer.for_lexicon(["市工信局"]) is Tokenizer.for_lexicon(("市工信局",))
    assert ("成都市", "ns") in Tokenizer.for_lexicon().tagged("成都市新能源汽车")


def test_policy_vocabulary_and_traditional_text_meet_the_same_tokens():
    base = Tokenizer.for_lexicon()
    assert "碳达峰" in base.tokenize("碳達峰")
    assert base.tokenize("新能源車") == base.tokenize("新能源车")


def test_symbols_around_a_question_are_breaks_not_words():
    """The hypothesis example that answered 成都's question from 瑞金: Arabic signs glued to the question."""
    from rag.text import normalize_question

    assert normalize_question("۽成都到2025年新能源车要达到多少辆？؎۽") == "成都到2025年新能源车要达到多少辆？"
    assert normalize_question("成都🚗新能源车") == "成都 新能源车"
    assert normalize_question("建筑面积100㎡以上") == "建筑面积100㎡以上"  # a unit sign stays part of its number
