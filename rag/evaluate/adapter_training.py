"""Fit the query adapter (rag/embed/adapter.py) on dev questions only: each answerable question's plain e5 vector
should score the clauses holding its gold span above every other clause of its index (softmax over all clauses,
temperature TEMPERATURE), with D kept small (L2 toward the identity map) because the dev sets are small.

The reader's held-out documents (reader_training.holdout_doc, the same seed) are left out, so the figures reported
on them stay honest for the whole pipeline, and the adapter's own held-out figures (dense recall on those
questions, before and after) go into its record. Full-batch Adam from D = 0 with a fixed seed: reproducible.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..embed.adapter import ADAPTER_RECORD, ADAPTER_TENSORS, AdapterRecord, QueryAdapter
from ..index import PolicyIndex
from ..text import normalize_question, prepare_question
from .metrics import EvidenceLocator, load_questions, overlaps

log = logging.getLogger(__name__)
TEMPERATURE = 0.02  # e5's own training temperature is 0.01; 0.05 was worse on dev (citizen MRR .720 against .756)
L2 = 0.1  # dev, 5 folds by document: 0.01 .739, 0.03 .746, 0.1 .756, 0.3 .750, 1.0 .740 (citizen dense MRR)
EPOCHS = 200
LEARNING_RATE = 1e-3
CITIZEN_WEIGHT = 3.0  # the product's questions; NCP's reuse the documents' words and would dominate by number


@dataclass
class AdapterSet:
    """Dev questions over one index: their name, file, index, and whether a question is held out."""

    name: str
    questions: Path
    index: Path
    held_out: Callable[[str, list[str]], bool]  # (question id, its documents) -> held out


@dataclass
class Group:
    """The answerable questions over one index: their plain vectors, gold clause rows, weights, held-out flags."""

    name: str
    vectors: np.ndarray
    clauses: np.ndarray
    gold: list[list[int]]
    weights: np.ndarray
    held: np.ndarray
    sets: np.ndarray


def gold_rows(index: PolicyIndex, locator: EvidenceLocator, evidence: Sequence[str]) -> list[int]:
    """The clause rows overlapping any located evidence span."""
    spans = [s for e in evidence for s in locator.locate(e)]
    by_doc = {d for d, _, _ in spans}
    return [row for row, c in enumerate(index.clauses) if c.doc_id in by_doc and any(
        overlaps(s, {"doc_id": c.doc_id, "start": c.start, "end": c.end}) for s in spans)]


def gather(sets: Sequence[AdapterSet], encoder: object,
           docs_of: Callable[[Path], dict[str, list[str]]]) -> list[Group]:
    """One group per index, with every answerable question of the sets over it that locates its evidence."""
    by_index: dict[Path, list[AdapterSet]] = {}
    for s in sets:
        by_index.setdefault(s.index, []).append(s)
    groups = []
    for folder, members in by_index.items():
        index = PolicyIndex.load(folder)
        locator = EvidenceLocator({d: doc.text for d, doc in index.documents.items()})
        texts, gold, weights, held, names = [], [], [], [], []
        for s in members:
            docs = docs_of(s.questions)
            for q in load_questions(s.questions):
                rows = gold_rows(index, locator, q.evidence) if q.answerable else []
                if rows:
                    texts.append(normalize_question(prepare_question(q.question)[0]))
                    gold.append(rows)
                    weights.append(CITIZEN_WEIGHT if s.name.startswith("citizen") else 1.0)
                    held.append(s.held_out(q.id, docs.get(q.id, [])))
                    names.append(s.name)
        vectors = np.asarray(encoder.encode_queries(texts), dtype=np.float32)
        groups.append(Group(folder.name, vectors, np.asarray(index.vectors, dtype=np.float32), gold,
                            np.asarray(weights), np.asarray(held), np.asarray(names)))
    return groups


def fit(groups: Sequence[Group], seed: int, say: Callable[[str], None] = log.info) -> np.ndarray:
    """D fitted on the questions not held out (full batch, Adam, EPOCHS steps)."""
    import torch

    torch.manual_seed(seed)
    dim = groups[0].vectors.shape[1]
    delta = torch.zeros(dim, dim, requires_grad=True)
    optimiser = torch.optim.Adam([delta], lr=LEARNING_RATE)
    data = []
    for g in groups:
        keep = np.where(~g.held)[0]
        positive = torch.zeros(len(keep), len(g.clauses), dtype=torch.bool)
        for j, i in enumerate(keep):
            positive[j, g.gold[i]] = True
        data.append((torch.from_numpy(np.array(g.vectors[keep])), torch.from_numpy(np.array(g.clauses)), positive,
                     torch.from_numpy(g.weights[keep]).float()))
    total = sum(float(w.sum()) for *_, w in data)
    started = time.perf_counter()
    for _ in range(EPOCHS):
        loss = L2 * (delta ** 2).sum()
        for q, clauses, positive, w in data:
            mapped = q + q @ delta
            logits = (mapped / mapped.norm(dim=1, keepdim=True)) @ clauses.T / TEMPERATURE
            nll = torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~positive, -1e9), 1)
            loss = loss + (nll * w).sum() / total
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    say(f"query adapter: {EPOCHS} steps over {sum(len(q) for q, *_ in data)} questions in "
        f"{time.perf_counter() - started:.0f} s, loss {loss.item():.4f}")
    return delta.detach().numpy()


def figures(groups: Sequence[Group], adapter: QueryAdapter) -> dict:
    """Dense recall@1/5/10 and MRR@10 of the held-out questions, plain and adapted, per set."""
    out = {}
    for g in groups:
        for name in sorted(set(g.sets.tolist())):
            rows = np.where(g.held & (g.sets == name))[0]
            if not len(rows):
                continue
            out[name] = {"questions": int(len(rows))}
            for label, vectors in (("plain", g.vectors[rows]), ("adapted", adapter.apply(g.vectors[rows]))):
                scores = vectors @ g.clauses.T
                ranks = np.asarray([int((scores[j] > scores[j, g.gold[i]].max()).sum()) + 1
                                    for j, i in enumerate(rows)])
                out[name][label] = {f"recall@{k}": round(float(np.mean(ranks <= k)), 3) for k in (1, 5, 10)}
                out[name][label]["mrr@10"] = round(float(np.mean(np.where(ranks <= 10, 1.0 / ranks, 0.0))), 3)
    return out


def train_adapter(sets: Sequence[AdapterSet], encoder: object, model_id: str,
                  docs_of: Callable[[Path], dict[str, list[str]]], seed: int,
                  say: Callable[[str], None] = log.info, record_path: Path = ADAPTER_RECORD,
                  tensors: Path = ADAPTER_TENSORS) -> tuple[QueryAdapter, dict]:
    """Fit, measure on the held-out questions, and write the adapter (tensor and record)."""
    started = time.perf_counter()
    groups = gather(sets, encoder, docs_of)
    delta = fit(groups, seed, say)
    adapter = QueryAdapter(delta, AdapterRecord(model_id, ""))
    held_out = figures(groups, adapter)
    trained_on = {"sets": [str(s.questions) for s in sets], "seed": seed, "command": "policy-rag train",
                  "questions": int(sum((~g.held).sum() for g in groups)), "temperature": TEMPERATURE, "l2": L2,
                  "epochs": EPOCHS, "citizen_weight": CITIZEN_WEIGHT,
                  "seconds": round(time.perf_counter() - started), "held_out": held_out}
    saved = adapter.save(tensors, record_path, trained_on)
    for name, row in held_out.items():
        say(f"query adapter {saved.version}, held out {name} ({row['questions']}): dense MRR@10 "
            f"{row['plain']['mrr@10']} -> {row['adapted']['mrr@10']}, R@1 {row['plain']['recall@1']} -> "
            f"{row['adapted']['recall@1']}")
    return saved, held_out
