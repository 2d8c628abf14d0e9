"""Official answers (标准答复): replies staff write, cite and review, drafted by one account, approved by another.

The store is one JSON file (replaced in one rename, under a lock, so two desks never lose each other's work).
An answer is a draft until a second staff account approves it; only published answers are ever served. Every
draft, edit, approval and withdrawal goes to the audit log. A citation is the whole text of a clause chosen
through clause search, an exact slice of the cleaned text like every citation; when that clause changes or
leaves the index the answer is withdrawn at once (`withdraw_stale`), so it never quotes unpublished text.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

from ..files import write_text_atomically
from ..index import PolicyIndex
from .audit import AuditLog

DRAFT, PUBLISHED, WITHDRAWN = "draft", "published", "withdrawn"
STATES = (DRAFT, PUBLISHED, WITHDRAWN)
MAX_ANSWER_CHARS = 2000


class OfficialAnswerError(ValueError):
    """A request the store refuses, said in Chinese with what to do (the desk shows it, the CLI prints it)."""


@dataclass(frozen=True)
class OfficialCitation:
    """A cited clause as the answer quotes it: its whole text, an exact slice of the cleaned document."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    quote: str
    start: int
    end: int


@dataclass(frozen=True)
class OfficialAnswer:
    """One reviewed reply: the question, its paraphrases, the reply text, its citations and its history."""

    id: str
    question: str
    answer: str
    citations: tuple[OfficialCitation, ...]
    paraphrases: tuple[str, ...] = ()
    state: str = DRAFT
    drafted_by: str = ""
    drafted_at: str = ""
    approved_by: str | None = None
    approved_at: str | None = None
    withdrawn_by: str | None = None
    withdrawn_at: str | None = None
    reason: str | None = None  # why it was withdrawn

    @property
    def wordings(self) -> tuple[str, ...]:
        """Every wording a citizen question is matched against: the question, then its paraphrases."""
        return (self.question, *self.paraphrases)

    def to_dict(self) -> dict:
        """The JSON object `faq list --json` prints and the store keeps."""
        data = asdict(self)
        data["citations"] = [asdict(c) for c in self.citations]
        data["paraphrases"] = list(self.paraphrases)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> OfficialAnswer:
        """The answer a stored object describes."""
        return cls(**{**data, "citations": tuple(OfficialCitation(**c) for c in data["citations"]),
                      "paraphrases": tuple(data.get("paraphrases") or ())})


def now_utc() -> str:
    """The current UTC time as the store and the logs write it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def cite(index: PolicyIndex, chunk_ids: Sequence[str]) -> tuple[OfficialCitation, ...]:
    """The citations of the given clauses (ids as `policy-rag search --json` prints them), each quoting its
    clause whole; OfficialAnswerError naming the first id the index does not hold."""
    if not chunk_ids:
        raise OfficialAnswerError("标准答复至少要引用一个条款 (cite at least one clause: citations[].chunk_id)")
    clauses = {c.chunk_id: c for c in index.clauses}
    cited = []
    for chunk_id in dict.fromkeys(chunk_ids):
        clause = clauses.get(chunk_id)
        if clause is None:
            raise OfficialAnswerError(f"索引中没有条款 {chunk_id} (unknown chunk id: search for the clause again)")
        text = index.documents[clause.doc_id].text
        cited.append(OfficialCitation(chunk_id, clause.doc_id, clause.title, clause.section,
                                      text[clause.start:clause.end], clause.start, clause.end))
    return tuple(cited)


def still_published(citation: OfficialCitation, index: PolicyIndex) -> bool:
    """Whether the index still holds the cited clause with the very text quoted."""
    doc = index.documents.get(citation.doc_id)
    return (doc is not None and doc.text[citation.start:citation.end] == citation.quote
            and any(index.clauses[row].chunk_id == citation.chunk_id
                    for row in index.doc_rows.get(citation.doc_id, ())))


class OfficialAnswers:
    """The store of official answers, with the audit log every change is written to."""

    def __init__(self, path: Path, audit: AuditLog):
        self.path = Path(path)
        self.audit = audit
        self._lock = FileLock(str(self.path.with_name(f".{self.path.name}.lock")), thread_local=False)

    # -- reading --------------------------------------------------------------------------------------

    def all(self) -> list[OfficialAnswer]:
        """Every answer, oldest first ([] before the first one)."""
        if not self.path.is_file():
            return []
        return [OfficialAnswer.from_dict(row) for row in json.loads(self.path.read_text(encoding="utf-8"))]

    def published(self) -> list[OfficialAnswer]:
        """The answers citizens are served."""
        return [a for a in self.all() if a.state == PUBLISHED]

    def get(self, answer_id: str) -> OfficialAnswer:
        """The answer with this id; OfficialAnswerError when there is none."""
        found = next((a for a in self.all() if a.id == answer_id), None)
        if found is None:
            raise OfficialAnswerError(f"没有编号为 {answer_id} 的标准答复 (no official answer {answer_id!r})")
        return found

    # -- changing -------------------------------------------------------------------------------------

    def draft(self, question: str, answer: str, chunk_ids: Sequence[str], by: str, index: PolicyIndex,
              paraphrases: Iterable[str] = ()) -> OfficialAnswer:
        """A new draft by `by`, citing the given clauses; nothing is served until another account approves it."""
        drafted = self._new(question, answer, chunk_ids, by, index, paraphrases)
        with self._lock:
            self._save([*self.all(), drafted])
        self._audit(by, "official-draft", drafted)
        return drafted

    def import_rows(self, rows: Sequence[tuple[int, object]], by: str, index: PolicyIndex,
                    problems: Sequence[str] = ()) -> list[OfficialAnswer]:
        """Drafts from (line number, JSON value) rows, all or none: OfficialAnswerError lists every bad line
        (with `problems` found before, such as lines that are not JSON), in line order."""
        drafts, problems = [], list(problems)
        for number, row in rows:
            try:
                if not isinstance(row, dict):
                    raise OfficialAnswerError("不是 JSON 对象 (not a JSON object)")
                missing = [k for k in ("question", "answer", "citations") if not row.get(k)]
                if missing:
                    raise OfficialAnswerError(f"缺少字段 (missing field) {', '.join(missing)}")
                if not isinstance(row["citations"], list) or not all(
                        isinstance(c, dict) and isinstance(c.get("chunk_id"), str) for c in row["citations"]):
                    raise OfficialAnswerError('citations 应为 [{"chunk_id": ...}] (citations need chunk_id)')
                paraphrases = row.get("paraphrases") or []
                if not isinstance(paraphrases, list) or not all(isinstance(p, str) for p in paraphrases):
                    raise OfficialAnswerError("paraphrases 应为字符串列表 (paraphrases: a list of strings)")
                drafts.append(self._new(str(row["question"]), str(row["answer"]),
                                        [c["chunk_id"] for c in row["citations"]], by, index, paraphrases))
            except OfficialAnswerError as exc:
                problems.append(f"line {number}: {exc}")
        if problems:
            raise OfficialAnswerError("\n".join(sorted(problems, key=lambda p: int(p.split(":")[0][5:]))))
        with self._lock:
            self._save([*self.all(), *drafts])
        for drafted in drafts:
            self._audit(by, "official-draft", drafted)
        return drafts

    def import_file(self, path: Path, by: str, index: PolicyIndex) -> list[OfficialAnswer]:
        """Drafts from a JSON-lines file (`faq import`), all or none; every bad line is named, not JSON too."""
        rows, problems = [], []
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        rows.append((number, json.loads(line)))
                    except json.JSONDecodeError as exc:
                        problems.append(f"line {number}: 不是 JSON (not JSON: {exc.msg})")
        if not rows and not problems:
            raise OfficialAnswerError(f"{path}: 没有任何标准答复 (no lines)")
        return self.import_rows(rows, by, index, problems)

    def approve(self, answer_id: str, by: str) -> OfficialAnswer:
        """Publish a draft. Refused when `by` drafted it: approval is always a second account's."""
        def change(found: OfficialAnswer) -> OfficialAnswer:
            if found.state != DRAFT:
                raise OfficialAnswerError(f"标准答复 {answer_id} 不是草稿，无法审核 (it is {found.state}, not a draft)")
            if found.drafted_by == by:
                raise OfficialAnswerError(f"{by} 起草了这条答复，审核需要另一个工作人员账号 "
                                          "(the drafter cannot approve: another account must)")
            return replace(found, state=PUBLISHED, approved_by=by, approved_at=now_utc())
        return self._change(answer_id, by, "official-approve", change)

    def withdraw(self, answer_id: str, by: str, reason: str = "") -> OfficialAnswer:
        """Stop serving an answer (a draft is withdrawn too: it is then never published)."""
        def change(found: OfficialAnswer) -> OfficialAnswer:
            if found.state == WITHDRAWN:
                raise OfficialAnswerError(f"标准答复 {answer_id} 已撤回 (already withdrawn)")
            return replace(found, state=WITHDRAWN, withdrawn_by=by, withdrawn_at=now_utc(), reason=reason or None)
        return self._change(answer_id, by, "official-withdraw", change)

    def edit(self, answer_id: str, by: str, index: PolicyIndex, question: str | None = None,
             answer: str | None = None, chunk_ids: Sequence[str] | None = None,
             paraphrases: Iterable[str] | None = None) -> OfficialAnswer:
        """A changed answer goes back to draft, drafted by `by`: what is served has always been reviewed."""
        def change(found: OfficialAnswer) -> OfficialAnswer:
            edited = self._new(question or found.question, answer or found.answer,
                               chunk_ids or [c.chunk_id for c in found.citations], by, index,
                               found.paraphrases if paraphrases is None else paraphrases)
            return replace(edited, id=found.id)
        return self._change(answer_id, by, "official-edit", change)

    def withdraw_stale(self, index: PolicyIndex) -> list[OfficialAnswer]:
        """Withdraw every published answer whose cited clause changed or left the index; returns them."""
        with self._lock:
            answers, stale = self.all(), []
            for i, found in enumerate(answers):
                if found.state == PUBLISHED and not all(still_published(c, index) for c in found.citations):
                    answers[i] = replace(found, state=WITHDRAWN, withdrawn_by="system", withdrawn_at=now_utc(),
                                         reason="引用的条款已修改或删除 (a cited clause changed or left the index)")
                    stale.append(answers[i])
            if stale:
                self._save(answers)
        for withdrawn in stale:
            self._audit("system", "official-withdraw", withdrawn, reason=withdrawn.reason)
        return stale

    # -- internals ------------------------------------------------------------------------------------

    def _new(self, question: str, answer: str, chunk_ids: Sequence[str], by: str, index: PolicyIndex,
             paraphrases: Iterable[str]) -> OfficialAnswer:
        question, answer = question.strip(), answer.strip()
        if not question or not answer:
            raise OfficialAnswerError("问题和答复都不能为空 (question and answer are required)")
        if len(answer) > MAX_ANSWER_CHARS:
            raise OfficialAnswerError(f"答复超过 {MAX_ANSWER_CHARS} 字 (answer too long)")
        wordings = tuple(dict.fromkeys(p.strip() for p in paraphrases if p.strip() and p.strip() != question))
        return OfficialAnswer(f"oa-{secrets.token_hex(4)}", question, answer, cite(index, chunk_ids), wordings,
                              DRAFT, by, now_utc())

    def _change(self, answer_id: str, by: str, action: str, change) -> OfficialAnswer:
        with self._lock:
            answers = self.all()
            at = next((i for i, a in enumerate(answers) if a.id == answer_id), None)
            if at is None:
                raise OfficialAnswerError(f"没有编号为 {answer_id} 的标准答复 (no official answer {answer_id!r})")
            answers[at] = change(answers[at])
            self._save(answers)
        self._audit(by, action, answers[at])
        return answers[at]

    def _save(self, answers: list[OfficialAnswer]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(self.path, json.dumps([a.to_dict() for a in answers], ensure_ascii=False, indent=1))

    def _audit(self, by: str, action: str, answer: OfficialAnswer, **extra: object) -> None:
        self.audit.append(by, action, answer.id, "", question=answer.question, state=answer.state,
                          citations=[c.chunk_id for c in answer.citations], **extra)
