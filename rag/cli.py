"""`policy-rag`: the command line over the `rag` API (also `python -m rag`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from .config import Settings
from .files import JsonLineError, numbered_json_lines
from .ingest import IngestReport, Skipped, ingest_corpus

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="政策问答: retrieval Q&A over Chinese policy texts, with citations down to the clause.",
)

CorpusOption = Annotated[
    Optional[list[Path]],
    typer.Option("--corpus", help="Corpus folder (repeatable). Default: corpus/ or POLICY_RAG_CORPUS_DIRS."),
]


@app.callback()
def _root() -> None:
    """政策问答 (policy Q&A): index policy texts, search clauses, ask questions."""


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _summary(report: IngestReport) -> None:
    clauses = report.clauses
    _err(f"documents: {len(report.documents)}  clauses: {len(clauses)}  skipped: {len(report.skipped)}")
    for skipped in report.skipped:
        _err(f"  skipped {skipped.path}: {skipped.reason}")
    for doc_id in report.unstructured:
        _err(f"  no numbered headings in {doc_id}: split into paragraphs instead")


@app.command()
def chunks(
    corpus: CorpusOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per clause, one per line.")] = False,
) -> None:
    """Print the clauses the corpus yields, then a summary of documents, clauses and skipped files."""
    settings = Settings()
    report = IngestReport()
    for item in ingest_corpus(corpus or settings.corpus_dirs, settings):
        if isinstance(item, Skipped):
            report.skipped.append(item)
            continue
        report.documents.append(item)
        for clause in item.clauses:
            if as_json:
                sys.stdout.write(json.dumps(clause.to_dict(), ensure_ascii=False) + "\n")
            else:
                duty = f"  [{clause.duties}]" if clause.duties else ""
                typer.echo(f"{clause.chunk_id}  {clause.title} › {clause.section or '(正文前)'}{duty}")
                typer.echo("    " + clause.text.replace("\n", "\n    "))
    _summary(report)
    if not report.documents:
        raise typer.Exit(1)


def main() -> None:
    """Runs the `policy-rag` command line (the console script's entry point)."""
    app()


IndexOption = Annotated[
    Optional[Path], typer.Option("--index", help="Index folder. Default: index/ or POLICY_RAG_INDEX.")
]


def _settings(index: Path | None) -> Settings:
    settings = Settings()
    if index is not None:
        settings.index_dir = index
    return settings


@app.command()
def index(corpus: CorpusOption = None, index: IndexOption = None) -> None:
    """Build or update the index: only new or changed files are embedded; removed files are dropped."""
    from .answer import manifest_stamps
    from .embed import Embedder
    from .index import IndexUnavailable, build_index

    settings = _settings(index)
    try:
        report = build_index(corpus or settings.all_corpus_dirs(), settings.index_dir, settings,
                             lambda: Embedder(settings), progress=sys.stderr.isatty(), stamps=manifest_stamps())
    except IndexUnavailable as exc:
        _err(str(exc))
        raise typer.Exit(2) from exc
    if report.rebuilt_because:
        _err(f"rebuilt from scratch: {report.rebuilt_because}")
    for label, ids in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        if ids:
            _err(f"{label}: {', '.join(ids)}")
    for skipped in report.skipped:
        _err(f"skipped {skipped.path}: {skipped.reason}")
    for doc_id in report.unstructured:
        _err(f"no numbered headings in {doc_id}: split into paragraphs instead")
    for dup in report.duplicates:
        _err(f"near duplicate {dup.path}: same policy as {dup.kept} (similarity {dup.similarity:.2f}), indexed once")
    _err(f"index {settings.index_dir}: {len(report.added) + len(report.changed) + len(report.unchanged)} documents, "
         f"{report.clauses} clauses ({report.embedded} embedded, {report.reused} reused), "
         f"{len(report.unchanged)} files unchanged, {len(report.duplicates)} near duplicates, "
         f"{len(report.skipped)} skipped, {report.seconds:.1f}s")


def _read_batch(path: Path) -> list[dict]:
    rows = []
    try:
        for number, row in numbered_json_lines(path):
            if not isinstance(row, dict) or "id" not in row or not str(row.get("question", "")).strip():
                raise typer.BadParameter(f"{path} line {number}: needs \"id\" and \"question\"",
                                         param_hint="--batch")
            rows.append(row)
    except JsonLineError as exc:
        raise typer.BadParameter(f"{path} line {exc.number}: not JSON ({exc.msg})", param_hint="--batch") from exc
    return rows


@app.command()
def search(
    query: Annotated[Optional[str], typer.Argument(help="The question or topic.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many clauses.")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid | dense | bm25")] = "hybrid",
    doc: Annotated[Optional[list[str]], typer.Option("--doc", help="Only this document id (repeatable).")] = None,
    region: Annotated[Optional[str], typer.Option(help="Only documents whose region contains this, e.g. 江西.")] = None,
    level: Annotated[
        Optional[str], typer.Option(help="Only documents of this level: province | city | district.")
    ] = None,
    section: Annotated[Optional[str], typer.Option(help="Only clauses whose section path starts with this.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line (the DESIGN.md contract).")] = False,
    batch: Annotated[
        Optional[Path], typer.Option(help="JSON lines with id and question; the model loads once.")
    ] = None,
    out: Annotated[Optional[Path], typer.Option(help="Where --batch writes its JSON lines.")] = None,
    index: IndexOption = None,
    milvus: Annotated[
        Optional[str], typer.Option(help="Search a Milvus collection instead (see milvus-upload).")
    ] = None,
    rerank: Annotated[bool, typer.Option("--rerank", help="Reorder hybrid hits by the answer scorer.")] = False,
) -> None:
    """Find the clauses that answer a question (staff clause lookup), with their responsible departments."""
    from .index import IndexUnavailable
    from .retrieve import MODES, Filters, Searcher

    if mode not in MODES:
        raise typer.BadParameter(f"use one of {', '.join(MODES)}", param_hint="--mode")
    if (query is None) == (batch is None):
        raise typer.BadParameter("give a QUERY or --batch FILE (not both)")
    if batch is not None and out is None:
        raise typer.BadParameter("--batch needs --out FILE", param_hint="--out")
    filters = Filters(tuple(doc or ()), region, level, section)
    if rerank and (milvus or filters or mode != "hybrid"):
        raise typer.BadParameter("--rerank reorders an unfiltered hybrid search of the local index",
                                 param_hint="--rerank")
    try:
        if milvus:
            from .retrieve.milvus import MilvusSearcher

            searcher = MilvusSearcher.connect(milvus, settings=_settings(index))
        else:
            searcher = Searcher.open(_settings(index))
        reranker = None
        if rerank:
            from .answer import Answerer

            reranker = Answerer(searcher)

        def find(q: str):
            return reranker.rerank(q, k=k) if reranker else searcher.search(q, k=k, mode=mode, filters=filters)
        if batch is not None:
            rows = _read_batch(batch)
            with open(out, "w", encoding="utf-8") as handle:
                for row in rows:
                    hits = find(str(row["question"]))
                    line = {"id": row["id"], "query": row["question"], "hits": [h.to_dict() for h in hits]}
                    handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            _err(f"{len(rows)} queries -> {out}")
            return
        hits = find(query)
    except IndexUnavailable as exc:
        _err(str(exc))
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps({"id": None, "query": query, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False))
        return
    if not hits:
        typer.echo("没有找到相关条款 (no matching clause)")
    for hit in hits:
        c = hit.clause
        typer.echo(f"[{hit.rank}] {c.title} › {c.section or '(正文前)'}   ({hit.score:.4f}; {c.chunk_id})")
        if c.duties:
            typer.echo(f"    {c.duties}")
        typer.echo("    " + c.text.replace("\n", "\n    "))


@app.command("milvus-upload")
def milvus_upload(
    uri: Annotated[str, typer.Option(help="./milvus.db (Milvus Lite) or http://host:19530 (a Milvus server).")],
    collection: Annotated[str, typer.Option(help="Collection name (replaced).")] = "policy_clauses",
    index: IndexOption = None,
) -> None:
    """Copy the built index (clauses, vectors) into Milvus, the distributed backend (pip install '.[milvus]')."""
    import time

    from .index import IndexUnavailable, PolicyIndex
    from .retrieve.milvus import MilvusSearcher

    settings = _settings(index)
    try:
        loaded = PolicyIndex.load(settings.index_dir)
    except IndexUnavailable as exc:
        _err(str(exc))
        raise typer.Exit(2) from exc
    started = time.perf_counter()
    count = MilvusSearcher.connect(uri, collection, settings).upload(loaded)
    _err(f"{count} clauses -> Milvus {uri} collection {collection} ({time.perf_counter() - started:.1f}s); "
         f"search it with `policy-rag search QUERY --milvus {uri}`")


@app.command("eval")
def evaluate(
    questions: Annotated[
        Path, typer.Option(help="Question set: DESIGN.md format, or {id, question, answer: {text}}.")
    ] = Path("eval/questions.jsonl"),
    corpus: CorpusOption = None,
    index: IndexOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Report folder. Default: eval/reports/<timestamp>/.")] = None,
    answers: Annotated[
        Optional[Path], typer.Option(help="Score these answers (`ask --batch` output) instead of asking live.")
    ] = None,
    modes: Annotated[str, typer.Option(help="Comma-separated retrieval modes.")] = "bm25,dense,hybrid",
    ablation: Annotated[bool, typer.Option(help="Also build and score the index without contextual headers.")] = True,
    rerank: Annotated[bool, typer.Option(help="Also score hybrid search reranked by the answer scorer.")] = True,
) -> None:
    """Score retrieval (and answers) on a question set and write a report: metrics.json, report.md, plots."""
    from .evaluate import QuestionSetError
    from .evaluate.harness import default_out_dir, run_evaluation
    from .evaluate.report import retrieval_table, write_report

    settings = _settings(index)
    started = time.perf_counter()
    try:
        metrics = run_evaluation(questions, corpus or settings.corpus_dirs, settings.index_dir, settings,
                                 answers_file=answers, modes=tuple(modes.split(",")), log=_err,
                                 ablation=ablation, rerank=rerank)
    except (QuestionSetError, OSError) as exc:
        _err(f"评测失败 (evaluation failed): {exc}")
        raise typer.Exit(1) from exc
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    folder = out or default_out_dir()
    report = write_report(metrics, folder, reports_root=folder.parent)
    typer.echo(f"{metrics['n_questions']} questions, {metrics['corpus']['clauses']} clauses in "
               f"{metrics['corpus']['documents']} documents")
    typer.echo("\n".join(retrieval_table(metrics)))
    summary = (metrics["answers"] or {}).get("summary")
    if summary:
        a = summary["all"]
        typer.echo(f"answers: key facts {a['key_fact_accuracy']}, citations {a['citation_accuracy']}, "
                   f"refusals {a['refusal_rate_out_of_scope']}, false refusals {a['false_refusal_rate']}, "
                   f"ROUGE-L {a['rouge_l_f1']} (quotes {a['rouge_l_quotes']})")
    else:
        typer.echo(f"answers: {metrics['answers']['source']}")
    typer.echo(f"report: {report}")


@app.command()
def train(
    seed_questions: Annotated[
        Path, typer.Option(help="Dev questions over the seed documents.")
    ] = Path("eval/dev_questions.jsonl"),
    seed_corpus: Annotated[Path, typer.Option(help="Their corpus.")] = Path("corpus"),
    seed_index: Annotated[Path, typer.Option(help="Their index (built or updated first).")] = Path("index"),
    ncp_questions: Annotated[Path, typer.Option(help="NCP dev questions.")] = Path("../shared/ncp/dev.jsonl"),
    ncp_corpus: Annotated[Path, typer.Option(help="Their corpus.")] = Path("../shared/ncp/corpus"),
    ncp_index: Annotated[Path, typer.Option(help="Their index (built or updated first).")] = Path("index-ncp"),
    out: Annotated[
        Optional[Path], typer.Option(help="Where the weights (JSON) go. Default: rag/data/answer_model.json, "
                                          "the file answering loads, wherever the command runs.")
    ] = None,
    report: Annotated[
        Path, typer.Option(help="Trade-off plot, figures and the feature table.")
    ] = Path("eval/reports/answer-model"),
    seed: Annotated[Optional[int], typer.Option(help="Random seed. Default: training.SEED.")] = None,
    citizen_questions: Annotated[
        Path, typer.Option(help="Citizen-worded dev questions over the NCP dev documents (the reader's).")
    ] = Path("../shared/citizen/dev.jsonl"),
    only: Annotated[str, typer.Option(help="adapter, scorer, reader, or all (in that order: the adapter moves "
                                           "the questions the scorer ranks for, the scorer picks what the reader "
                                           "reads); calibrate: the reader's combiner and thresholds alone, "
                                           "refitted on its committed tensors.")] = "all",
) -> None:
    """Train the query adapter, the answer scorer and the reader on the dev sets (never a test set); write their
    weights."""
    if only not in ("all", "adapter", "scorer", "reader", "calibrate"):
        raise typer.BadParameter(f"--only {only!r}: one of all, adapter, scorer, reader, calibrate")
    from .evaluate.training import HeldOutError, refuse_test_sets

    try:  # before any model or index is loaded
        refuse_test_sets((seed_questions, ncp_questions, citizen_questions))
    except HeldOutError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if only in ("all", "adapter"):
        _train_adapter(seed_questions, seed_corpus, seed_index, ncp_questions, ncp_corpus, ncp_index,
                       citizen_questions, seed)
    if only in ("all", "scorer"):
        _train_scorer(seed_questions, seed_corpus, seed_index, ncp_questions, ncp_corpus, ncp_index, out, report, seed)
    if only in ("all", "reader", "calibrate"):
        from .evaluate.reader_training import SEED as READER_SEED
        from .evaluate.reader_training import ReaderSet, recalibrate_reader, train_reader

        sets = [ReaderSet("seed-dev", seed_questions, seed_corpus, seed_index, negatives=False),
                ReaderSet("ncp-dev", ncp_questions, ncp_corpus, ncp_index, negatives=True),
                ReaderSet("citizen-dev", citizen_questions, ncp_corpus, ncp_index, negatives=False)]
        try:
            fit = recalibrate_reader if only == "calibrate" else train_reader
            weights, figures = fit(sets, report, READER_SEED if seed is None else seed, say=_err)
        except HeldOutError as exc:
            raise typer.BadParameter(str(exc)) from exc
        _err(f"reader {weights.version}: refuse below {weights.refuse_threshold:.3f}, confident from "
             f"{weights.answer_threshold:.3f}; held-out dev documents, by design:")
        for design, row in figures.items():
            for name, cells in row["by_set"].items():
                _err(f"  {design:8} {name:12} " + ", ".join(f"{k} {v}" for k, v in cells.items()))


def _train_adapter(seed_questions, seed_corpus, seed_index, ncp_questions, ncp_corpus, ncp_index, citizen_questions,
                   seed) -> None:
    from .answer import manifest_stamps
    from .embed import Embedder
    from .evaluate.adapter_training import AdapterSet, train_adapter
    from .evaluate.reader_training import SEED as READER_SEED
    from .evaluate.reader_training import is_held_out_question, question_docs
    from .index import PolicyIndex, build_index

    settings = Settings()
    embedder = Embedder(settings)
    seed = READER_SEED if seed is None else seed
    for corpus, folder in ((seed_corpus, seed_index), (ncp_corpus, ncp_index)):
        build_index([corpus], folder, settings, lambda: embedder, stamps=manifest_stamps())
    held = lambda name: lambda qid, docs: is_held_out_question(name, qid, docs, seed)  # noqa: E731
    sets = [AdapterSet("seed-dev", seed_questions, seed_index, held("seed-dev")),
            AdapterSet("ncp-dev", ncp_questions, ncp_index, held("ncp-dev")),
            AdapterSet("citizen-dev", citizen_questions, ncp_index, held("citizen-dev"))]
    train_adapter(sets, embedder, PolicyIndex.load(ncp_index).model_id, question_docs, seed, say=_err)


def _train_scorer(seed_questions, seed_corpus, seed_index, ncp_questions, ncp_corpus, ncp_index, out, report,
                  seed) -> None:
    from .answer import MODEL_PATH
    from .evaluate.training import SEED, DevSet, HeldOutError, train_answer_model

    out = out or MODEL_PATH
    sets = [DevSet("seed-dev", seed_questions, seed_corpus, seed_index, negatives=False),
            DevSet("ncp-dev", ncp_questions, ncp_corpus, ncp_index, negatives=True)]
    try:
        scorer, figures = train_answer_model(sets, out, report, SEED if seed is None else seed, say=_err,
                                             progress=sys.stderr.isatty())
    except HeldOutError as exc:
        raise typer.BadParameter(str(exc)) from exc
    at = figures["at_refuse_threshold"]
    _err(f"answer model {scorer.version} -> {out}: refuse below {scorer.refuse_threshold:.3f}, "
         f"confident from {scorer.answer_threshold:.3f}; dev out-of-fold: false refusals {at['false_refusals']:.3f}, "
         f"unanswerable refused {at['unanswerable_refused']:.3f}")
    for name, row in figures["by_set"].items():
        _err(f"  {name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
    _err("weights (standardised), largest first: " + ", ".join(f"{n} {w:+.2f}" for n, w in figures["weights"][:12]))


def _print_answer(answer) -> None:
    data = answer.to_dict()
    colour = typer.colors.YELLOW if answer.refused else typer.colors.GREEN
    typer.secho(answer.answer, fg=colour)
    for citation in data["citations"]:
        title = citation.get("display_title", citation["title"])
        section = citation.get("display_section", citation["section"])
        quote = citation.get("display_quote", citation["quote"])
        typer.secho(f"[{citation['n']}] 《{title}》 {section}", fg=typer.colors.CYAN)
        typer.echo(f"    “{quote}”  ({citation['chunk_id']}, {citation['start']}-{citation['end']})")
    if answer.refused and data["related"]:
        typer.secho("相关条款 (related):", fg=typer.colors.CYAN)
        for related in data["related"]:
            title = related.get("display_title", related["title"])
            typer.echo(f"    《{title}》 {related.get('display_section', related['section'])}")
    typer.secho(f"({answer.latency_ms} ms, {answer.mode})", dim=True)


@app.command()
def ask(
    question: Annotated[
        Optional[str], typer.Argument(help="A question in everyday words, Simplified or Traditional.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line (the DESIGN.md contract).")] = False,
    batch: Annotated[
        Optional[Path], typer.Option(help="JSON lines with id and question; the model loads once.")
    ] = None,
    out: Annotated[Optional[Path], typer.Option(help="Where --batch writes its JSON lines.")] = None,
    llm: Annotated[
        bool, typer.Option("--llm", help="Let the configured LLM write the answer (falls back when it fails).")
    ] = False,
    index: IndexOption = None,
) -> None:
    """Answer a question from the policy texts, quoting them with clause-level citations."""
    from .answer import Answerer
    from .index import IndexUnavailable
    from .retrieve import Searcher

    if (question is None) == (batch is None):
        raise typer.BadParameter("give a QUESTION or --batch FILE (not both)")
    if batch is not None and out is None:
        raise typer.BadParameter("--batch needs --out FILE", param_hint="--out")
    settings = _settings(index)
    try:
        searcher = Searcher.open(settings)
    except IndexUnavailable as exc:
        _err(str(exc))
        raise typer.Exit(2) from exc
    writer = None
    if llm:
        from .answer.llm import LLMWriter

        writer = LLMWriter.from_settings(settings)
    answerer = Answerer(searcher, settings, llm=writer)
    hotline = _hotline(settings, searcher)
    if batch is not None:
        rows = _read_batch(batch)
        with open(out, "w", encoding="utf-8") as handle:
            for row in rows:
                answer = hotline.ask(str(row["question"]), answerer)
                handle.write(json.dumps(answer.to_dict(row["id"]), ensure_ascii=False) + "\n")
        _err(f"{len(rows)} questions -> {out}")
        return
    answer = hotline.ask(question, answerer)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        _print_answer(answer)


def _hotline(settings: Settings, searcher):
    """Published official answers first (the stale ones withdrawn against this index), as the app serves them."""
    from .staff import AuditLog, Hotline, OfficialAnswers, OfficialMatcher, QuestionLog

    store = OfficialAnswers(settings.faq_file, AuditLog(settings.audit_path))
    hotline = Hotline(store, OfficialMatcher(searcher.encoder()),
                      QuestionLog(settings.question_log_file, settings.question_log_days))
    if store.path.is_file():
        hotline.withdraw_stale(searcher.index)
    return hotline


staff_app = typer.Typer(no_args_is_help=True, help="Staff accounts for the app's staff desk (/staff/).")
app.add_typer(staff_app, name="staff")
UserArgument = Annotated[str, typer.Argument(help="The user name staff type to log in.")]


def _accounts():
    from .staff import StaffAccounts

    return StaffAccounts(Settings().staff_accounts)


@staff_app.command("add")
def staff_add(
    name: UserArgument,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a staff account, or set a new password (stored as an scrypt hash, outside the repository)."""
    accounts = _accounts()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else \
        typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.add(name, password)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME/password") from exc
    _err(f"account {name!r} saved in {accounts.path}; restart the app if it was started with no account")


@staff_app.command("list")
def staff_list() -> None:
    """The staff user names (never their hashes)."""
    accounts = _accounts()
    for name in sorted(accounts.load()):
        typer.echo(name)


@staff_app.command("remove")
def staff_remove(name: UserArgument) -> None:
    """Delete a staff account."""
    if not _accounts().remove(name):
        _err(f"no account {name!r}")
        raise typer.Exit(1)


faq_app = typer.Typer(no_args_is_help=True,
                      help="Official answers (标准答复): drafted by one account, approved by another.")
app.add_typer(faq_app, name="faq")
ByOption = Annotated[str, typer.Option("--by", help="The staff account doing it (see `policy-rag staff list`).")]


def _faq(settings: Settings, by: str | None = None):
    from .staff import AuditLog, OfficialAnswers

    if by is not None and by not in _accounts().load():
        _err(f"{by!r} 不是工作人员账号 (no staff account {by!r}: policy-rag staff add {by})")
        raise typer.Exit(1)
    return OfficialAnswers(settings.faq_file, AuditLog(settings.audit_path))


def _faq_fails(exc: Exception, context: str = "") -> None:
    _err(context + str(exc))
    raise typer.Exit(1) from exc


@faq_app.command("import")
def faq_import(file: Annotated[Path, typer.Argument(help='JSON lines: {"question", "answer", "citations": '
                                                        '[{"chunk_id"}], "paraphrases": [...]}')],
               by: ByOption, index: IndexOption = None) -> None:
    """Import official answers as drafts by NAME; a bad line is named and nothing of the file is imported."""
    from .index import IndexUnavailable, PolicyIndex
    from .staff import OfficialAnswerError

    settings = _settings(index)
    store = _faq(settings, by)
    try:
        drafts = store.import_file(file, by, PolicyIndex.load(settings.index_dir))
    except (OfficialAnswerError, IndexUnavailable, OSError) as exc:
        _faq_fails(exc, f"{file}: nothing imported (没有导入任何答复)\n")
    for drafted in drafts:
        typer.echo(f"{drafted.id}  draft  {drafted.question}")
    _err(f"{len(drafts)} drafts by {by}; each needs another account's `policy-rag faq approve ID --by NAME`")


@faq_app.command("approve")
def faq_approve(answer_id: Annotated[str, typer.Argument(help="The id `faq list` shows.")], by: ByOption,
                index: IndexOption = None) -> None:
    """Publish a draft: NAME must be a staff account other than the one that drafted it."""
    from .staff import OfficialAnswerError

    try:
        approved = _faq(_settings(index), by).approve(answer_id, by)
    except OfficialAnswerError as exc:
        _faq_fails(exc)
    typer.echo(f"{approved.id}  published  {approved.question}")


@faq_app.command("withdraw")
def faq_withdraw(answer_id: Annotated[str, typer.Argument(help="The id `faq list` shows.")], by: ByOption,
                 reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
                 index: IndexOption = None) -> None:
    """Stop serving an official answer (or drop a draft)."""
    from .staff import OfficialAnswerError

    try:
        withdrawn = _faq(_settings(index), by).withdraw(answer_id, by, reason)
    except OfficialAnswerError as exc:
        _faq_fails(exc)
    typer.echo(f"{withdrawn.id}  withdrawn  {withdrawn.question}")


@faq_app.command("list")
def faq_list(as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
             index: IndexOption = None) -> None:
    """Every official answer: id, state, question, citations, who drafted and approved it, when (北京时间)."""
    from .staff import beijing_time

    for found in _faq(_settings(index)).all():
        if as_json:
            typer.echo(json.dumps(found.to_dict(), ensure_ascii=False))
            continue
        approved = f", approved by {found.approved_by} {beijing_time(found.approved_at)}" if found.approved_at else ""
        cites = ", ".join(c.chunk_id for c in found.citations)
        typer.echo(f"{found.id}  {found.state:9}  {found.question}\n    drafted by {found.drafted_by} "
                   f"{beijing_time(found.drafted_at)}{approved}; cites {cites}")


@faq_app.command("export")
def faq_export(file: Annotated[Path, typer.Argument(help="Where to write the JSON lines.")],
               index: IndexOption = None) -> None:
    """Write every official answer as JSON lines (the import format, with state and history)."""
    from .files import write_jsonl

    rows = []
    for found in _faq(_settings(index)).all():
        row = found.to_dict()
        row["citations"] = [{"chunk_id": c["chunk_id"], "quote": c["quote"]} for c in row["citations"]]
        rows.append(row)
    write_jsonl(file, rows)
    _err(f"{len(rows)} official answers -> {file}")


@app.command()
def questions(
    outcome: Annotated[Optional[str], typer.Option(help="refused | hedged | flagged | withdrawn")] = None,
    since: Annotated[Optional[str], typer.Option(help="Only questions asked on or after this date (YYYY-MM-DD).")
                     ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a group.")] = False,
    index: IndexOption = None,
) -> None:
    """The queue (待处理问题): what the citizen page refused, hedged or was told was wrong, grouped by meaning."""
    from datetime import datetime

    from .embed import Embedder
    from .staff import QuestionLog, QueueDecisions, beijing_time, open_queue
    from .staff.questions import NEEDS_ATTENTION

    if outcome is not None and outcome not in NEEDS_ATTENTION:
        raise typer.BadParameter(f"one of {', '.join(NEEDS_ATTENTION)}", param_hint="--outcome")
    try:
        start = datetime.fromisoformat(since) if since else None
    except ValueError as exc:
        raise typer.BadParameter(f"{since!r}: a date as YYYY-MM-DD", param_hint="--since") from exc
    settings = _settings(index)
    log = QuestionLog(settings.question_log_file, settings.question_log_days)
    log.purge()
    entries = log.entries(since=start)
    groups = open_queue(entries, QueueDecisions(settings.queue_decisions_file), Embedder(settings),
                        (outcome,) if outcome else NEEDS_ATTENTION) if entries else []
    for group in groups:
        if as_json:
            typer.echo(json.dumps(group.to_dict(), ensure_ascii=False))
            continue
        outcomes = ", ".join(f"{k} {v}" for k, v in group.outcomes.items())
        typer.echo(f"{group.count:4}  {group.question}   ({outcomes}; last {beijing_time(group.last_asked)})")
        for wording, count in group.questions[1:]:
            typer.echo(f"        {count:3}  {wording}")
    if not groups and not as_json:
        _err("没有待处理的问题 (the queue is empty)")
