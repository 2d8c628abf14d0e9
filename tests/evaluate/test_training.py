"""The answer scorer's training: real dev questions over the seed documents, labels from their evidence,
a seeded fit that reproduces itself, thresholds from out-of-fold probabilities, weights as plain JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from rag.answer import FEATURES
from rag.answer.answerer import Answerer
from rag.answer.scorer import AnswerScorer, ScorerUnavailable
from rag.cli import app
from rag.evaluate.metrics import load_questions
from rag.evaluate.training import Example, TrainingData, collect, train

from ..conftest import ROOT


@pytest.fixture(scope="module")
def seed_dev(searcher):
    blank = AnswerScorer(list(FEATURES), [0.0] * len(FEATURES), [1.0] * len(FEATURES), [0.0] * len(FEATURES),
                         0.0, 0.5, 0.5)
    answerer = Answerer(searcher, scorer=blank)
    return collect(answerer, "seed-dev", load_questions(ROOT / "eval" / "dev_questions.jsonl"), negatives=False)


@pytest.mark.model
def test_every_answerable_dev_question_has_a_labelled_gold_sentence(seed_dev):
    answerable = [e for e in seed_dev.examples if e.answerable]
    assert answerable and all(e.x.shape[1] == len(FEATURES) for e in seed_dev.examples)
    # Its evidence lies in a sentence of the top clauses (retrieval found it) for nearly every question.
    assert sum(e.y.sum() > 0 for e in answerable) >= 0.9 * len(answerable)
    assert all(e.y.sum() == 0 for e in seed_dev.examples if not e.answerable)


@pytest.mark.model
def test_training_is_seeded_and_writes_plain_json(seed_dev, tmp_path):
    first, figures = train(seed_dev, out=tmp_path / "a.json", report_dir=tmp_path / "report")
    second, _ = train(seed_dev, out=tmp_path / "b.json")
    assert first.version == second.version  # same data, same seed: the same weights
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert data["features"] == list(FEATURES) and data["version"] == first.version
    assert 0.0 <= first.refuse_threshold <= first.answer_threshold <= 1.0
    assert (tmp_path / "report" / "answer_tradeoff.png").stat().st_size > 0
    # What the model learned separates the gold sentences from the others on the data it saw.
    x = np.vstack([e.x for e in seed_dev.examples])
    y = np.concatenate([e.y for e in seed_dev.examples])
    p = first.probability(x)
    assert p[y == 1].mean() > p[y == 0].mean() + 0.2
    assert figures["at_refuse_threshold"]["false_refusals"] <= 0.05 + 1e-9


def test_a_damaged_weights_file_says_what_to_run(tmp_path):
    broken = tmp_path / "answer_model.json"
    broken.write_text('{"features": ["other"]}', encoding="utf-8")
    with pytest.raises(ScorerUnavailable, match="policy-rag train"):
        AnswerScorer.load(broken)


def test_training_refuses_a_test_set():
    result = CliRunner().invoke(app, ["train", "--seed-questions", "eval/questions.jsonl"])
    assert result.exit_code != 0 and "test set" in result.output


def test_a_question_and_its_generated_negative_share_a_fold_group():
    # Otherwise the out-of-fold probabilities that choose the thresholds see the question's twin in training.
    def example(set_name, question_id, generated, rows):
        return Example(set_name, question_id + ("#other" if generated else ""), question_id, not generated,
                       np.ones((rows, len(FEATURES))), np.zeros(rows), generated)

    data = TrainingData([example("seed-dev", "q1", False, 2), example("seed-dev", "q1", True, 3),
                         example("ncp-dev", "q1", False, 1), example("seed-dev", "q2", False, 2)])
    _, _, groups, weights = data.arrays()
    assert groups.tolist() == [0, 0, 0, 0, 0, 1, 2, 2]  # same id in another set: another question
    seed_rows = np.array([True] * 5 + [False] + [True] * 2)
    assert np.isclose(weights[seed_rows].sum(), weights[~seed_rows].sum())  # each set weighs the same in all
