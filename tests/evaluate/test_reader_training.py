"""The reader's training data: near misses made from a real seed clause (no model needed)."""

from __future__ import annotations

from rag.evaluate.reader_training import Pair, Record, near_misses
from rag.reader.windows import window_of


def _record(doc, question: str, answer: str, holdout: bool = False) -> Record:
    """A question whose gold span is `answer` in `doc`, with one pair per sentence of the clause holding it."""
    text = doc.document.text
    clause = next(c for c in doc.clauses if answer in c.text)
    at = text.index(answer)
    gold = [(clause.doc_id, at, at + len(answer))]
    pairs, start = [], clause.start
    for piece in text[clause.start:clause.end].split("。"):
        end = min(start + len(piece) + 1, clause.end)
        if piece.strip():
            window = window_of(clause.doc_id, clause.title, text, clause.start, clause.end, start, end)
            label = float(start < gold[0][2] and end > gold[0][1])
            pairs.append(Pair(window, label, [], 0.5, len(pairs) + 1, (0.0, 0.0)))
        start = end
    return Record("seed-dev", "q1", question, True, False, holdout, gold, pairs)


def test_a_near_miss_keeps_the_topic_and_loses_every_window_that_sees_the_answer(seeds):
    doc = seeds["ruijin-carbon-peak-plan"]
    record = _record(doc, "瑞金新能源装机要达到多少？", "新能源装机规模达力争到30万千瓦")
    assert any(p.label for p in record.pairs) and len(record.pairs) > 2
    twin, = near_misses([record], seed=1, share=1.0)
    assert not twin.answerable and twin.generated and twin.question == record.question
    assert twin.pairs and all(p.label == 0.0 and not p.spans for p in twin.pairs)
    (doc_id, start, end), = record.gold
    assert all(p.window.end <= start or p.window.start >= end for p in twin.pairs)  # none sees the answer
    assert len(twin.pairs) < len(record.pairs)
    assert any(p.label for p in record.pairs)  # the record itself is left as it was


def test_near_misses_leave_held_out_records_alone_and_are_seeded(seeds):
    doc = seeds["ruijin-carbon-peak-plan"]
    held = _record(doc, "瑞金新能源装机要达到多少？", "新能源装机规模达力争到30万千瓦", holdout=True)
    assert near_misses([held], seed=1, share=1.0) == []
    records = [_record(doc, f"问题{i}", "新能源装机规模达力争到30万千瓦") for i in range(40)]
    for i, r in enumerate(records):
        r.question_id = f"q{i}"
    first = [t.question_id for t in near_misses(records, seed=7, share=0.5)]
    assert first == [t.question_id for t in near_misses(records, seed=7, share=0.5)]
    assert 8 < len(first) < 32
