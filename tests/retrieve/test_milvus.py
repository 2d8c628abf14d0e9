"""The second retriever backend against a real Milvus engine (Milvus Lite: the Milvus server binary, run
locally from its PyPI wheel, spoken to over gRPC exactly as a Milvus cluster is)."""

from __future__ import annotations

import pytest

pytest.importorskip("milvus_lite", reason="pip install '.[milvus]' to test the Milvus backend")

from rag.config import Settings  # noqa: E402
from rag.index import PolicyIndex  # noqa: E402
from rag.retrieve.langchain import PolicyRetriever  # noqa: E402
from rag.retrieve.milvus import MilvusSearcher, filter_expression  # noqa: E402
from rag.retrieve.search import Filters  # noqa: E402

from ..conftest import SEEDS  # noqa: E402


@pytest.fixture(scope="module")
def milvus(tmp_path_factory, seed_index, embedder):
    folder, _ = seed_index
    uri = str(tmp_path_factory.mktemp("milvus") / "policy.db")
    searcher = MilvusSearcher.connect(uri, settings=Settings(index_dir=folder), embedder=embedder)
    assert searcher.upload(PolicyIndex.load(folder)) == 182
    return searcher


@pytest.mark.model
def test_the_done_query_finds_the_same_clause_as_the_local_index(milvus, searcher):
    remote = milvus.search("瑞金新能源装机目标", k=3)
    local = searcher.search("瑞金新能源装机目标", k=3)
    assert remote[0].clause == local[0].clause  # every field a citation needs survives the round trip
    assert "30万千瓦" in remote[0].clause.text


@pytest.mark.model
@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_every_mode_finds_the_building_materials_clause(milvus, mode):
    hits = milvus.search("推动建材行业碳达峰 牵头部门", k=5, mode=mode)
    top = [h.clause for h in hits if h.clause.section.endswith("2.推动建材行业碳达峰")]
    assert top and top[0].lead_departments == ("市工信局",)


@pytest.mark.model
def test_filters_run_in_the_engine(milvus):
    hits = milvus.search("碳达峰目标", k=10, filters=Filters(level="district"))
    assert hits and {h.clause.doc_id for h in hits} == {SEEDS["huaiyin"]}
    hits = milvus.search("碳达峰目标", k=10, filters=Filters(region="江西", section_prefix="三、"))
    assert hits and all(h.clause.section.startswith("三、") for h in hits)
    assert SEEDS["chengdu"] not in {h.clause.doc_id for h in hits}
    assert milvus.search("碳达峰", k=5, filters=Filters(doc_ids=("no-such-document",))) == []


def test_filter_values_are_quoted_not_spliced():
    expression = filter_expression(Filters(doc_ids=('x" or doc_id != "',), region='江西" or 1==1 or "'))
    assert expression == 'doc_id in ["x\\" or doc_id != \\""] and region like "%江西\\" or 1==1 or \\"%"'


@pytest.mark.model
def test_the_langchain_retriever_takes_the_milvus_backend(milvus):
    documents = PolicyRetriever(searcher=milvus, k=2).invoke("成都新能源汽车2025年目标")
    assert documents[0].metadata["doc_id"] == SEEDS["chengdu"] and "80万辆" in documents[0].page_content


@pytest.mark.model
def test_empty_and_odd_questions(milvus):
    assert milvus.search("   ") == []
    odd = milvus.search('"; drop collection policy_clauses; <script>', k=3)  # text, never an expression
    assert isinstance(odd, list) and len(odd) <= 3 and [h.rank for h in odd] == list(range(1, len(odd) + 1))
    assert milvus.search("瑞金新能源装机目标", k=1)[0].rank == 1
