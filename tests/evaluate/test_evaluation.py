"""The eval harness: metrics on tiny fixtures with hand-computed values, the question set, and a real run."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import Settings
from rag.evaluate.harness import aggregate_only, run_evaluation
from rag.evaluate.metrics import (
    AnswerEvaluator,
    EvidenceLocator,
    Question,
    QuestionSetError,
    RetrievalEvaluator,
    check_evidence,
    citation_recall,
    has_key_facts,
    hit_ranks,
    load_questions,
    mrr_at,
    ndcg_at,
    normalize_evidence,
    percentile,
    recall_at,
    rouge_l_f1,
    script_matches,
)
from rag.evaluate.report import write_report

from ..conftest import CORPUS, ROOT, SEEDS


def _hits(texts: dict[str, str], pieces: list[tuple[str, str]]) -> list[dict]:
    """Hits as the search returns them: a document and a slice of its text."""
    return [{"doc_id": d, "start": texts[d].index(p), "end": texts[d].index(p) + len(p), "text": p} for d, p in pieces]


def test_retrieval_metrics_by_hand():
    texts = {"d1": "甲乙丙丁戊", "d2": "己庚辛"}
    locator = EvidenceLocator(texts)
    retrieved = _hits(texts, [("d1", "甲乙丙"), ("d1", "丁戊"), ("d2", "己庚辛")])
    assert hit_ranks([locator.locate(e) for e in ("乙", "庚", "壬")], retrieved) == [1, 3, None]
    # A long span counts for the clause holding at least half of it (or half of the clause).
    assert hit_ranks([locator.locate("丙丁戊")], retrieved) == [2]
    ranks = [2, None]
    assert recall_at(ranks, 1) == 0.0 and recall_at(ranks, 2) == 0.5
    assert mrr_at(ranks, 10) == 0.5 and mrr_at([None, None], 10) == 0.0 and mrr_at([3, 1], 10) == 1.0
    # DCG = 1/log2(3); ideal for two relevant items = 1 + 1/log2(3)
    assert ndcg_at(ranks, 10) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert ndcg_at([1], 10) == 1.0 and ndcg_at([11], 10) == 0.0
    # Two evidence strings in the first clause are as good as in the first two, never worse.
    assert ndcg_at([1, 1], 10) == ndcg_at([1, 2], 10) == 1.0 and ndcg_at([2, 2], 10) < 1.0


def test_evidence_written_against_the_raw_text_is_found_after_normalisation():
    text = "到2025年4月6日，全市新能源汽车达到80万辆。"
    locator = EvidenceLocator({"d": text})
    for written in ("２０２５年4月\n6日", "新能源汽車達到 80萬輛", "全市新能源汽车达到80万辆。"):
        ((doc, start, end),) = locator.locate(written)
        assert doc == "d" and normalize_evidence(text[start:end]) == normalize_evidence(written)
    assert locator.locate("新能源汽车达到90万辆") == []


def test_answer_metrics_by_hand():
    # LCS("政策问答", "政策咨询问答") = 4: precision 4/4, recall 4/6, F1 = 0.8
    assert rouge_l_f1("政策问答", "政策咨询问答") == pytest.approx(0.8)
    assert rouge_l_f1("", "政策") == 0.0 and rouge_l_f1("碳达峰", "碳达峰") == 1.0
    assert has_key_facts("到2025年，全市新能源汽車達到80萬輛", ["80万辆", "2025年"])
    assert not has_key_facts("全市新能源汽车达到80万辆", ["100万辆"])
    citations = [{"quote": "全市新能源汽车达到80万辆,力争达到100万辆"}, {"quote": "建成充(换)电站3000座"}]
    assert citation_recall(citations, ["新能源汽车达到80万辆", "充电桩17万个"]) == 0.5
    assert percentile([10, 20, 30, 40], 50) == 25 and percentile([], 50) is None


def test_script_correctness():
    traditional = Question("t", "成都新能源車要達到多少輛？", lang="zh-Hant")
    assert script_matches(traditional, {"answer": "成都到2025年新能源汽車達到80萬輛。", "script": "zh-Hant"})
    assert not script_matches(traditional, {"answer": "成都到2025年新能源汽车达到80万辆。", "script": "zh-Hans"})
    simplified = Question("s", "成都新能源车要达到多少辆?")
    assert script_matches(simplified, {"answer": "成都到2025年新能源汽车达到80万辆。", "script": "zh-Hans"})


def test_evaluators_on_a_tiny_fixture():
    questions = [
        Question("a", "q1", "numeric", evidence=("80万辆",), must_contain=("80万辆",)),
        Question("b", "q2", "staff", evidence=("市工信局牵头",), must_contain=("市工信局",)),
        Question("c", "q3", "out-of-scope"),
    ]
    texts = {"d": "其他。全市新能源汽车达到80万辆。无关。"}
    pieces = {"q1": ["其他。", "全市新能源汽车达到80万辆。"], "q2": ["无关。"], "q3": ["无关。"]}
    locator = EvidenceLocator(texts)
    texts["d"] += "市工信局牵头"  # located in the document, never retrieved
    locator = EvidenceLocator(texts)
    result = RetrievalEvaluator(questions, locator)(lambda q, k: _hits(texts, [("d", p) for p in pieces[q]]))
    summary = result.summary()
    assert summary["all"]["n"] == 2  # out-of-scope questions have no evidence to retrieve
    assert summary["all"]["recall@5"] == 0.5 and summary["numeric"]["mrr@10"] == 0.5
    answers = {
        "a": {"answer": "80万辆 [1]", "refused": False, "citations": [{"quote": "全市新能源汽车达到80万辆"}],
              "latency_ms": 10},
        "b": {"answer": "文件中没有找到", "refused": True, "citations": [], "latency_ms": 30},
        "c": {"answer": "文件中没有找到", "refused": True, "citations": [], "latency_ms": 20},
    }
    scored = AnswerEvaluator(questions)(lambda q: answers[q.id]).summary()
    assert scored["all"]["key_fact_accuracy"] == 0.5
    assert scored["all"]["citation_accuracy"] == 0.5
    assert scored["all"]["refusal_rate_out_of_scope"] == 1.0
    assert scored["all"]["false_refusal_rate"] == 0.5
    assert scored["all"]["latency_p50_ms"] == 20


def test_both_question_formats_load(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "x1", "question": "瑞金新能源汽车多少辆", "answer": {"text": "3100辆"}}\n'
        '{"id": "q1", "question": "成都新能源车", "kind": "numeric", "evidence": ["80万辆"], '
        '"must_contain": ["80万辆"]}\n',
        encoding="utf-8",
    )
    extractive, ours = load_questions(path)
    assert extractive.kind == "extractive" and extractive.evidence == ("3100辆",) and extractive.gold == "3100辆"
    assert ours.kind == "numeric" and ours.gold is None
    path.write_text('{"id": "q1"}\n', encoding="utf-8")
    with pytest.raises(QuestionSetError, match="line 1"):
        load_questions(path)


def test_the_shipped_question_set_is_valid_and_covers_everything(seeds):
    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    assert len(questions) >= 100
    assert {q.kind for q in questions} == {"citizen", "staff", "numeric", "multi-doc", "out-of-scope", "noisy"}
    assert sum(q.lang == "zh-Hant" for q in questions) >= 5
    locator = EvidenceLocator({d: doc.document.text for d, doc in seeds.items()})
    assert check_evidence(questions, locator) == ([], 0)
    # Every document is asked about, from its first clauses to its last.
    for doc in seeds.values():
        positions = [doc.document.text.find(e) for q in questions for e in q.evidence if e in doc.document.text]
        assert positions, doc.document.doc_id
        length = len(doc.document.text)
        assert min(positions) < 0.35 * length and max(positions) > 0.65 * length, doc.document.doc_id


def test_a_broken_question_set_fails_loudly(seeds):
    broken = [Question("q1", "成都新能源车", "numeric", evidence=("成都新能源汽车达到90万辆",))]
    (problem,), _ = check_evidence(broken, EvidenceLocator({d: doc.document.text for d, doc in seeds.items()}))
    assert "q1" in problem and "90万辆" in problem


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, embedder):
    """A real run over the 槐荫区 document: indexes with and without the header, retrieval and answers."""
    root = tmp_path_factory.mktemp("eval")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / f"{SEEDS['huaiyin']}.txt", corpus)
    questions = root / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in [
        {"id": "h1", "question": "槐荫区碳达峰方案有问题找谁", "kind": "citizen", "lang": "zh-Hans",
         "evidence": ["联系人:刘峰0531-87589586"], "must_contain": ["0531-87589586"], "answer": ""},
        {"id": "h2", "question": "槐荫区要建的现代化产业体系叫什么", "kind": "citizen", "lang": "zh-Hans",
         "evidence": ["“342”现代化产业体系结构"], "must_contain": ["342"], "answer": ""},
        {"id": "h3", "question": "槐荫区哪家医院看儿科好", "kind": "out-of-scope", "lang": "zh-Hans",
         "evidence": [], "must_contain": [], "answer": ""},
    ]) + "\n", encoding="utf-8")
    answers = root / "answers.jsonl"
    answers.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in [
        {"id": "h1", "answer": "联系人刘峰,电话0531-87589586 [1]", "refused": False, "script": "zh-Hans",
         "citations": [{"n": 1, "quote": "联系人:刘峰0531-87589586"}], "latency_ms": 12},
        {"id": "h2", "answer": "文件中没有找到相关内容。", "refused": True, "script": "zh-Hans", "citations": [],
         "latency_ms": 9},
        {"id": "h3", "answer": "文件中没有找到相关内容。", "refused": True, "script": "zh-Hans", "citations": [],
         "latency_ms": 8},
    ]) + "\n", encoding="utf-8")
    settings = Settings(index_dir=root / "index")
    metrics = run_evaluation(questions, [corpus], root / "index", settings, answers_file=answers, log=lambda _: None)
    return root, metrics


@pytest.mark.model
def test_a_run_scores_retrieval_for_every_method_and_the_ablation(small_run):
    root, metrics = small_run
    assert (root / "index" / "manifest.json").exists() and (root / "index-noheader" / "manifest.json").exists()
    assert set(metrics["retrieval"]) == {"bm25", "dense", "hybrid", "hybrid + rerank", "bm25 (no header)",
                                         "dense (no header)", "hybrid (no header)"}
    hybrid = metrics["retrieval"]["hybrid"]["summary"]["all"]
    assert hybrid["n"] == 2 and hybrid["recall@10"] == 1.0
    answers = metrics["answers"]["summary"]["all"]
    assert answers["key_fact_accuracy"] == 0.5 and answers["refusal_rate_out_of_scope"] == 1.0
    assert answers["false_refusal_rate"] == 0.5 and answers["citation_accuracy"] == 0.5


@pytest.mark.model
def test_the_report_has_tables_plots_and_the_change_since_last_time(small_run, tmp_path):
    _, metrics = small_run
    first = write_report(metrics, tmp_path / "20260101-000000")
    text = first.read_text(encoding="utf-8")
    assert "| hybrid |" in text and "| hybrid (no header) |" in text and "No earlier report" in text
    other = dict(metrics, signature="another question set")
    assert "No earlier report" in write_report(other, tmp_path / "20260101-120000").read_text(encoding="utf-8")
    for name in ("metrics.json", "recall_at_k.png", "per_kind.png", "latency.png"):
        assert (first.parent / name).stat().st_size > 0
    later = dict(metrics, when="later")
    second = write_report(later, tmp_path / "20260102-000000")
    assert "same questions and corpus" in second.read_text(encoding="utf-8")
    assert "| hybrid | recall@5 |" in second.read_text(encoding="utf-8")


@pytest.mark.model
def test_a_test_set_report_holds_tables_but_no_questions_answers_or_failures(small_run, tmp_path):
    from rag.evaluate.metrics import is_held_out

    assert is_held_out(Path("eval/questions.jsonl")) and is_held_out(Path("../shared/ncp/test.jsonl"))
    assert not is_held_out(Path("eval/dev_questions.jsonl")) and not is_held_out(Path("../shared/ncp/dev.jsonl"))
    copy = tmp_path / "my-questions.jsonl"  # a copy elsewhere, under another name, is still the test set
    copy.write_bytes((ROOT / "eval" / "questions.jsonl").read_bytes())
    assert is_held_out(copy)
    root, metrics = small_run
    assert metrics["failures"]  # a run on any other set lists its worst failures
    report = write_report(aggregate_only(metrics), tmp_path / "20260103-000000")
    written = report.read_text(encoding="utf-8") + (report.parent / "metrics.json").read_text(encoding="utf-8")
    assert "| hybrid |" in written and "reported on in aggregate only" in written
    questions = [json.loads(line) for line in (root / "questions.jsonl").read_text("utf-8").splitlines()]
    assert len(questions) == 3 and not any(q["question"] in written for q in questions)
    hidden = aggregate_only(metrics)
    rows = [row for data in hidden["retrieval"].values() for row in data["per_question"]]
    rows += hidden["answers"]["per_question"]
    assert rows and not any("id" in row or "question" in row or "answer" in row for row in rows)
    assert not any(f'"{q["id"]}"' in json.dumps(hidden) for q in questions)  # no id anywhere
    assert "联系人刘峰,电话0531-87589586" not in written  # an answer's text


@pytest.mark.model
def test_the_refusal_tradeoff_is_one_computation_for_training_and_reports(small_run, tmp_path):
    from rag.answer.scorer import tradeoff

    outcomes = [{"answerable": True, "p": 0.9, "correct": True}, {"answerable": True, "p": 0.2, "correct": False},
                {"answerable": False, "p": 0.1, "correct": False}, {"answerable": False, "p": -1.0, "correct": False}]
    low, middle, high = tradeoff(outcomes, np.array([0.0, 0.15, 0.5]))
    assert (low["false_refusals"], low["unanswerable_refused"]) == (0.0, 0.5)  # -1: refused for another reason
    assert (middle["false_refusals"], middle["unanswerable_refused"], middle["precision"]) == (0.0, 1.0, 0.5)
    assert (high["false_refusals"], high["precision"]) == (0.5, 1.0)
    from rag.evaluate.report import answer_outcomes

    # Answers decided by another rule (no probability): a refusal stays refused, an answer stays answered.
    given = [{"kind": "numeric", "refused": True, "probability": None},
             {"kind": "numeric", "refused": False, "probability": None},
             {"kind": "out-of-scope", "refused": False, "probability": 0.3}]
    (curve_at_zero, curve_at_one) = tradeoff(answer_outcomes(given), np.array([0.0, 1.0]))
    assert curve_at_zero["false_refusals"] == curve_at_one["false_refusals"] == 0.5
    assert (curve_at_zero["unanswerable_refused"], curve_at_one["unanswerable_refused"]) == (0.0, 1.0)
    _, metrics = small_run
    rows = metrics["answers"]["per_question"]
    with_p = dict(metrics, answers={**metrics["answers"],
                                    "per_question": [dict(r, probability=0.5) for r in rows]})
    report = write_report(with_p, tmp_path / "20260104-000000")
    assert (report.parent / "tradeoff.png").stat().st_size > 0


@pytest.mark.model
def test_eval_command_refuses_a_broken_question_set(tmp_path, seed_index):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "q1", "question": "成都", "kind": "numeric", "evidence": ["不存在的句子"]}\n',
                      encoding="utf-8")
    folder = tmp_path / "index"
    shutil.copytree(seed_index[0], folder)
    result = CliRunner().invoke(app, ["eval", "--questions", str(broken), "--corpus", str(CORPUS),
                                      "--index", str(folder), "--out", str(tmp_path / "report")])
    assert result.exit_code == 1
    assert "q1" in result.stderr and "不存在的句子" in result.stderr
    assert not (tmp_path / "report").exists()
