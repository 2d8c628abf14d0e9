"""Train the answer scorer on dev sets only: candidates and their features from real questions, labels from
their gold spans, negatives generated, a logistic regression fitted with a fixed seed, thresholds chosen on
out-of-fold probabilities, weights written as JSON.

Data (`policy-rag train`, `make train`): eval/dev_questions.jsonl over corpus/, and ../shared/ncp/dev.jsonl over
../shared/ncp/corpus. A candidate sentence is positive when it overlaps a gold span (half of the shorter of the
two). Negatives besides the candidates that do not overlap: every out-of-scope dev question, and each NCP
question that names a place asked again of the other documents (the gold document and every document of that
place left out), where nothing should answer. Test sets are never read here.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..answer import FEATURES, MODEL_PATH, Answerer, AnswerScorer, manifest_stamps, matrix, tradeoff
from ..config import Settings
from ..embed import Embedder
from ..index import PolicyIndex, build_index
from ..retrieve import Filters, Searcher
from .metrics import EvidenceLocator, Question, is_held_out, load_questions, overlaps
from .report import plot_tradeoff

log = logging.getLogger(__name__)
SEED = 20261122
FOLDS = 5
MAX_FALSE_REFUSALS = 0.05  # the refuse threshold keeps dev false refusals at or under this
MIN_CONFIDENT_PRECISION = 0.60  # a confident answer quotes a gold sentence at least this often on dev


@dataclass
class Example:
    """One question's candidates: features, labels, and whether the question is answerable at all."""

    set_name: str
    question_id: str
    group: str  # a question and its generated negative share a group (never split across folds)
    answerable: bool
    x: np.ndarray
    y: np.ndarray
    generated: bool = False


@dataclass
class TrainingData:
    """The examples of a training run, one per question (and per generated negative)."""

    examples: list[Example] = field(default_factory=list)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Features, labels, question groups, and row weights that give each set the same total weight (the
        small seed set speaks for the citizen questions the product is for; NCP has ten times its rows)."""
        kept = [e for e in self.examples if len(e.x)]
        x = np.vstack([e.x for e in kept])
        y = np.concatenate([e.y for e in kept])
        # One fold group per question of a set: its generated negative goes with it, never to another fold.
        ids: dict[tuple[str, str], int] = {}
        groups = np.concatenate([[ids.setdefault((e.set_name, e.group), len(ids))] * len(e.x) for e in kept])
        names = np.concatenate([[e.set_name] * len(e.x) for e in kept])
        weights = np.ones(len(y))
        for name in set(names.tolist()):
            mask = names == name
            weights[mask] = len(y) / (len(set(names.tolist())) * mask.sum())
        return x, y, groups, weights

    def write_csv(self, path: Path) -> None:
        """The labelled feature table (numbers and question ids only), the pinned data of a training run."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["set", "question_id", "group", "answerable", "generated", "label", *FEATURES])
            for e in self.examples:
                for row, label in zip(e.x.tolist(), e.y.tolist()):
                    writer.writerow([e.set_name, e.question_id, e.group, int(e.answerable), int(e.generated),
                                     int(label), *(round(v, 6) for v in row)])


def _example(answerer: Answerer, set_name: str, q: Question, question: str, spans: list, filters: Filters | None,
             answerable: bool, generated: bool) -> Example:
    intent = answerer.analyse(question)
    hits, vector = answerer.retrieve(intent, filters=filters)
    found = answerer.candidates(intent, hits, vector)
    labels = [float(answerable and any(overlaps(s, {"doc_id": c.clause.doc_id, "start": c.start, "end": c.end})
                                       for s in spans)) for c in found]
    return Example(set_name, q.id + ("#other" if generated else ""), q.id, answerable, matrix(found),
                   np.asarray(labels), generated)


def elsewhere(answerer: Answerer, question: str, gold_docs: set[str]) -> Filters | None:
    """The documents a question naming a place cannot be answered from: neither its gold document nor any
    document of the places it names. None when it names no place (a generic question may be answered anywhere)."""
    intent = answerer.analyse(question)
    if not intent.places:
        return None
    excluded = set(gold_docs)
    for place in intent.places:
        excluded.update(answerer.catalogue.documents_about(place))
    allowed = tuple(d for d in answerer.index.documents if d not in excluded)
    return Filters(doc_ids=allowed) if allowed else None


def collect(answerer: Answerer, set_name: str, questions: Sequence[Question], negatives: bool) -> TrainingData:
    """Features and labels for every dev question (and its generated negative)."""
    locator = EvidenceLocator({d: doc.text for d, doc in answerer.index.documents.items()})
    data = TrainingData()
    for q in questions:
        spans = [s for e in q.evidence for s in locator.locate(e)]
        if q.answerable and not spans:
            continue  # a gold span the cleaned text does not hold cannot label anything
        data.examples.append(_example(answerer, set_name, q, q.question, spans, None, q.answerable, False))
        if negatives and q.answerable:
            filters = elsewhere(answerer, q.question, {s[0] for s in spans})
            if filters is not None:
                data.examples.append(_example(answerer, set_name, q, q.question, [], filters, False, True))
    return data


def out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray, weights: np.ndarray, seed: int = SEED) -> np.ndarray:
    """Each row's probability from a model that never saw its question: for choosing thresholds honestly."""
    from sklearn.model_selection import GroupKFold

    p = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        p[test] = _fit(x[train], y[train], weights[train], seed).probability(x[test])
    return p


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, seed: int
                 ) -> tuple[list[float], list[float], list[float], float]:
    """A logistic regression on standardised features: (mean, scale, coefficients, intercept), as the scorer and
    the reader's combiner store them."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    model.fit((x - mean) / scale, y, sample_weight=weights)
    return mean.tolist(), scale.tolist(), model.coef_[0].tolist(), float(model.intercept_[0])


def _fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray, seed: int) -> AnswerScorer:
    return AnswerScorer(list(FEATURES), *fit_logistic(x, y, weights, seed), 0.5, 0.5)


def question_outcomes(data: TrainingData, p: np.ndarray) -> list[dict]:
    """Per question: its best candidate's probability and whether that candidate is a gold sentence."""
    outcomes, at = [], 0
    for e in data.examples:
        n = len(e.x)
        if n:
            best = int(np.argmax(p[at:at + n]))
            outcomes.append({"set": e.set_name, "answerable": e.answerable, "generated": e.generated,
                             "p": float(p[at + best]), "correct": bool(e.y[best])})
        else:
            outcomes.append({"set": e.set_name, "answerable": e.answerable, "generated": e.generated,
                             "p": 0.0, "correct": False})
        at += n
    return outcomes


def choose_thresholds(curve: list[dict]) -> tuple[float, float]:
    """Refuse below the highest threshold whose false refusals stay within MAX_FALSE_REFUSALS; answer
    confidently from the lowest threshold whose answers quote a gold sentence MIN_CONFIDENT_PRECISION of the time."""
    refuse = max((c["threshold"] for c in curve if c["false_refusals"] <= MAX_FALSE_REFUSALS), default=0.0)
    confident = [c["threshold"] for c in curve
                 if c["threshold"] >= refuse and c["precision"] >= MIN_CONFIDENT_PRECISION]
    return refuse, (min(confident) if confident else max(refuse, curve[-1]["threshold"]))


def train(data: TrainingData, seed: int = SEED, out: Path = MODEL_PATH, report_dir: Path | None = None,
          trained_on: dict | None = None) -> tuple[AnswerScorer, dict]:
    """Fit on all rows, choose thresholds out of fold, write the weights; return them and the figures."""
    x, y, groups, weights = data.arrays()
    oof = out_of_fold(x, y, groups, weights, seed)
    outcomes = question_outcomes(data, oof)
    curve = tradeoff(outcomes, np.round(np.linspace(0.0, 0.95, 96), 4))
    refuse, answer = choose_thresholds(curve)
    scorer = _fit(x, y, weights, seed)
    scorer.refuse_threshold, scorer.answer_threshold = refuse, answer
    scorer.trained_on = {**(trained_on or {}), "rows": int(len(y)), "positives": int(y.sum()),
                         "questions": len(data.examples), "seed": seed}
    scorer.save(out)
    figures = {"refuse_threshold": refuse, "answer_threshold": answer, "curve": curve,
               "at_refuse_threshold": min(curve, key=lambda c: abs(c["threshold"] - refuse)),
               "weights": scorer.weights_by_importance(), "version": scorer.version,
               "by_set": _by_set(outcomes, refuse, answer)}
    if report_dir is not None:
        plot_tradeoff(curve, report_dir / "answer_tradeoff.png", "Answer scorer: refusal trade-off (dev, out-of-fold)",
                      chosen=refuse, limit=MAX_FALSE_REFUSALS)
        (report_dir / "answer_training.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1),
                                                          encoding="utf-8")
    return scorer, figures


def _by_set(outcomes: list[dict], refuse: float, answer: float) -> dict:
    table = {}
    for name in sorted({o["set"] for o in outcomes}):
        rows = [o for o in outcomes if o["set"] == name]
        answerable = [o for o in rows if o["answerable"]]
        other = [o for o in rows if not o["answerable"]]
        table[name] = {
            "answerable": len(answerable), "unanswerable": len(other),
            "false_refusals": sum(o["p"] < refuse for o in answerable) / max(len(answerable), 1),
            "unanswerable_refused": sum(o["p"] < refuse for o in other) / max(len(other), 1),
            "best_sentence_is_gold": sum(o["correct"] for o in answerable) / max(len(answerable), 1),
            "confident_share": sum(o["p"] >= answer for o in answerable) / max(len(answerable), 1),
        }
    return table


def load_sets(specs: Sequence[tuple[str, Path]]) -> list[tuple[str, list[Question]]]:
    """(name, questions) for each (name, JSON-lines path) given."""
    return [(name, load_questions(path)) for name, path in specs]


@dataclass(frozen=True)
class DevSet:
    """A dev question set with the corpus it asks about and the index folder built (or updated) from it."""

    name: str
    questions: Path
    corpus: Path
    index: Path
    negatives: bool  # generate negatives from its positives (the NCP set, whose questions reuse the text's words)


def refuse_test_sets(paths: Iterable[Path]) -> None:
    """HeldOutError when any question file is a test set: training of every kind calls this before it loads
    anything."""
    for path in paths:
        if is_held_out(path):
            raise HeldOutError(f"{path} is a test set: it is reported on, never trained on")


def train_answer_model(sets: Sequence[DevSet], out: Path, report: Path, seed: int = SEED,
                       settings: Settings | None = None, say: Callable[[str], None] = log.info,
                       progress: bool = False) -> tuple[AnswerScorer, dict]:
    """`policy-rag train`: build or update each dev set's index, collect its candidates' features with a blank
    scorer (every probability 0.5, so nothing is filtered by a previous model), fit, and write the weights.
    A test set is refused (HeldOutError) before anything is built."""
    refuse_test_sets(dev.questions for dev in sets)
    settings = settings or Settings()
    embedder = Embedder(settings)
    zeros, ones = [0.0] * len(FEATURES), [1.0] * len(FEATURES)
    blank = AnswerScorer(list(FEATURES), zeros, ones, zeros, 0.0, 0.5, 0.5)
    data = TrainingData()
    for dev in sets:
        built = build_index([dev.corpus], dev.index, settings, lambda: embedder, progress=progress,
                            stamps=manifest_stamps())
        say(f"index {dev.index}: {built.clauses} clauses ({built.embedded} embedded)")
        answerer = Answerer(Searcher(PolicyIndex.load(dev.index), settings, embedder), settings, scorer=blank,
                            reader=False)
        (_, rows), = load_sets([(dev.name, dev.questions)])
        part = collect(answerer, dev.name, rows, negatives=dev.negatives)
        say(f"{dev.name}: {len(part.examples)} questions (generated negatives included)")
        data.examples += part.examples
    data.write_csv(report / "features.csv.gz")
    return train(data, seed, out, report, trained_on={
        "sets": [str(dev.questions) for dev in sets], "command": "policy-rag train"})


class HeldOutError(ValueError):
    """A test set was given to training."""
