"""The answer scorer's features on the seed documents, without the model: the index is built with an encoder of
hashed character bigrams, so similarity still follows shared wording and every figure below can be reasoned
out from the text."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from rag.answer import FEATURES, Answerer, matrix
from rag.config import Settings
from rag.index import PolicyIndex, build_index
from rag.retrieve import Searcher
from rag.text import normalize_query

from ..conftest import CORPUS, SEEDS

DIM = 512


class BigramEncoder:
    """Each text a normalised bag of its character bigrams, hashed into DIM buckets: deterministic, and close
    texts are close vectors, which is all the features need of an encoder."""

    model_id, dim = Settings().embedding_model, DIM

    def _encode(self, texts) -> np.ndarray:
        out = np.zeros((len(texts), DIM), np.float32)
        for row, text in enumerate(texts):
            chars = normalize_query(text)
            for i in range(len(chars) - 1):
                out[row, zlib.crc32(chars[i:i + 2].encode()) % DIM] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def encode_passages(self, texts, progress=False) -> np.ndarray:
        return self._encode(list(texts))

    def encode_queries(self, texts) -> np.ndarray:
        return self._encode(list(texts))


@pytest.fixture(scope="module")
def answerer(tmp_path_factory) -> Answerer:
    folder = tmp_path_factory.mktemp("features") / "index"
    settings = Settings(index_dir=folder)
    encoder = BigramEncoder()
    build_index([CORPUS], folder, settings, lambda: encoder)
    return Answerer(Searcher(PolicyIndex.load(folder), settings, encoder))


def candidates_for(answerer: Answerer, question: str):
    intent = answerer.analyse(question)
    hits, vector = answerer.retrieve(intent)
    return intent, answerer.candidates(intent, hits, vector)


def test_every_candidate_has_exactly_the_schemas_features(answerer):
    _, found = candidates_for(answerer, "瑞金到2025年农村电网供电可靠率要达到多少？")
    assert found and all(set(c.features) == set(FEATURES) for c in found)
    assert matrix(found).shape == (len(found), len(FEATURES))


def test_a_number_question_tells_figures_from_sentences_without_one(answerer):
    intent, found = candidates_for(answerer, "瑞金到2025年农村电网供电可靠率要达到多少？")
    assert intent.kind == "numeric" and intent.years == ("2025",)
    text = answerer.index.documents[SEEDS["ruijin"]].text
    target = next(c for c in found if "99.93%" in text[c.start:c.end])
    assert target.features["numeric_match"] == 1.0 and target.features["numeric_miss"] == 0.0
    assert target.features["year_match"] == 1.0 and target.features["place_match"] == 1.0
    docs = answerer.index.documents
    plain = [c for c in found
             if not any(ch.isdigit() for ch in docs[c.clause.doc_id].text[c.start:c.end].replace("2025", ""))]
    assert plain and all(c.features["numeric_miss"] == 1.0 for c in plain)


def test_place_features_follow_the_asked_places_documents(answerer):
    _, found = candidates_for(answerer, "瑞金到2025年农村电网供电可靠率要达到多少？")
    for candidate in found:
        in_ruijin = candidate.clause.doc_id == SEEDS["ruijin"]
        assert candidate.features["place_match"] == float(in_ruijin)
        assert candidate.features["place_miss"] == float(not in_ruijin)


def test_the_sentence_that_holds_every_term_covers_the_question(answerer):
    intent, found = candidates_for(answerer, "瑞金农村电网供电可靠率")
    text = answerer.index.documents[SEEDS["ruijin"]].text
    target = next(c for c in found if "供电可靠率达99.93%" in text[c.start:c.end])
    assert intent.terms and target.features["coverage_sentence"] == 1.0
    assert target.features["bigrams_sentence"] == max(c.features["bigrams_sentence"] for c in found)


def test_relative_features_compare_each_candidate_with_the_best(answerer):
    _, found = candidates_for(answerer, "成都新建建筑执行绿色建筑标准比例")
    best = max(found, key=lambda c: c.features["sim_sentence"])
    assert best.features["sim_sentence_margin"] == 0.0 and best.features["sim_sentence_rank_inv"] == 1.0
    assert all(c.features["sim_sentence_margin"] <= 0.0 for c in found)
    assert sorted(c.features["sim_sentence_rank_inv"] for c in found)[-1] == 1.0
    top = max(c.features["coverage_clause"] for c in found)
    assert all(c.features["coverage_top"] == top for c in found)


def test_a_who_leads_question_sees_which_clauses_carry_a_responsibility_note(answerer):
    intent, found = candidates_for(answerer, "瑞金新能源装机由哪个部门牵头？")
    assert intent.kind == "staff"
    noted = [c for c in found if c.clause.lead_departments]
    assert noted and all(c.features["duty_match"] == 1.0 and c.features["duty_miss"] == 0.0 for c in noted)
    assert all(c.features["kind_staff"] == 1.0 and c.features["kind_numeric"] == 0.0 for c in found)
