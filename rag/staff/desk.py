"""The upload desk: the two-step publish, and deleting what staff published.

An upload is first *staged*: read, cleaned and split exactly as indexing would, and shown to the official;
only `publish` copies it into the upload folder the index is built from, so a staged file is never answered
from. Every publish and delete is appended to the audit log (who, when, file, sha256).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..answer import manifest_stamps
from ..config import Settings
from ..files import sha256_bytes, sha256_of
from ..index import BuildReport, PolicyIndex, build_index
from ..ingest import SUFFIXES, Clause, LoadError, doc_id_for, ingest_file
from ..ingest.dates import DocumentDates, document_dates
from .audit import AuditLog

log = logging.getLogger(__name__)


@dataclass
class Staged:
    """An upload read the way indexing reads it, not yet published."""

    name: str  # the file name as uploaded
    path: Path  # the staged copy
    doc_id: str
    sha256: str
    title: str = ""
    clauses: list[Clause] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    near_duplicate: tuple[str, str, float] | None = None  # (doc_id, title, similarity)
    problem: str | None = None  # why it cannot be published, in Chinese
    replaces: int | None = None  # the clause count of the published document of the same id it would replace
    dates: DocumentDates | None = None  # issued / effective / end of validity, each with the words it came from

    @property
    def publishable(self) -> bool:
        """True when nothing stands in the way of publishing it (`problem` is None)."""
        return self.problem is None

    @property
    def sections(self) -> list[str]:
        """The section tree as indented lines: each heading once, in document order."""
        seen, lines = set(), []
        for clause in self.clauses:
            for depth in range(1, len(clause.section_path) + 1):
                path = clause.section_path[:depth]
                if path not in seen:
                    seen.add(path)
                    lines.append("  " * (depth - 1) + path[-1])
        return lines

    @property
    def departments(self) -> tuple[list[str], list[str]]:
        """The lead and the (other) supporting departments its clauses name, each sorted."""
        lead = sorted({d for c in self.clauses for d in c.lead_departments})
        support = sorted({d for c in self.clauses for d in c.supporting_departments} - set(lead))
        return lead, support


class DocumentDesk:
    """Stage, publish and delete uploaded documents; the index is rebuilt incrementally after each change."""

    def __init__(self, settings: Settings, embedder_factory: Callable[[], object], audit: AuditLog,
                 on_change: Callable[[], None] = lambda: None):
        self.settings = settings
        self.embedder_factory = embedder_factory
        self.audit = audit
        self.on_change = on_change
        self.lock = threading.Lock()
        self.staging = Path(tempfile.mkdtemp(prefix="policy-rag-staging-"))

    def upload_target(self, name: str) -> Path:
        """Where a published upload is stored: its sanitised id inside the upload folder, whatever the name."""
        folder = self.settings.upload_dir.resolve()
        target = (folder / (doc_id_for(Path(name)) + Path(name).suffix.lower())).resolve()
        if target.parent != folder:  # cannot happen with doc_id_for's alphabet; checked because it matters
            raise ValueError(f"upload name {name!r} escapes the upload folder")
        return target

    def stage(self, source: Path, index: PolicyIndex) -> Staged:
        """Copy the upload aside and read it as indexing would; nothing the answerer sees changes."""
        source = Path(source)
        name = source.name
        staged_path = self.staging / secrets.token_hex(8) / (doc_id_for(source) + source.suffix.lower())
        staged_path.parent.mkdir(parents=True)
        shutil.copyfile(source, staged_path)
        staged = Staged(name, staged_path, doc_id_for(source), sha256_of(staged_path))
        if source.suffix.lower() not in SUFFIXES:
            staged.problem = f"不支持的文件类型（支持 {'、'.join(SUFFIXES)}）"
            return staged
        try:
            ingested = ingest_file(staged_path, None, self.settings)
        except LoadError as exc:
            staged.problem = exc.chinese
            return staged
        document = ingested.document
        staged.title, staged.clauses = document.title, ingested.clauses
        staged.contacts = [c.card() for c in document.contacts]
        staged.dates = document_dates(document.text, document.metadata)
        existing = index.documents.get(staged.doc_id)
        if existing is not None and not self._is_upload(Path(existing.path)):
            staged.problem = f"编号 {staged.doc_id} 已被语料库中的《{existing.title}》使用，请改名后再上传"
        staged.near_duplicate = self._near_duplicate(document.text, staged.doc_id, index)
        if staged.near_duplicate and not staged.problem:
            staged.problem = (f"与已发布的《{staged.near_duplicate[1]}》近似重复（相似度 {staged.near_duplicate[2]}）；"
                              "如是新版本，请先删除旧文件再发布")
        return staged

    def _is_upload(self, path: Path) -> bool:
        return path.resolve().parent == self.settings.upload_dir.resolve()

    @staticmethod
    def _near_duplicate(text: str, doc_id: str, index: PolicyIndex) -> tuple[str, str, float] | None:
        """(doc id, title, similarity) of the indexed document an upload duplicates, by the index build's rule."""
        same = index.duplicate_finder.find(text, exclude=doc_id)
        return (same[0], index.documents[same[0]].title, same[1]) if same else None

    def publish(self, staged: list[Staged], user: str, progress: Callable[[float, str], None] = lambda f, d: None
                ) -> BuildReport | None:
        """Copy the publishable staged files into the upload folder, re-index, check each is indexed, and log
        each publish. On any failure the upload folder and the index go back to what they were."""
        ready = [s for s in staged if s.publishable and s.path.is_file()]
        if not ready:
            return None
        with self.lock:
            self.settings.upload_dir.mkdir(parents=True, exist_ok=True)
            saved: dict[Path, bytes | None] = {}  # every file touched, with what it held before
            try:
                for item in ready:
                    target = self.upload_target(item.name)
                    # The same document under another suffix (a.pdf replacing a.docx) is replaced, not doubled.
                    for path in [target, *self.settings.upload_dir.glob(f"{item.doc_id}.*")]:
                        if path.resolve().parent == self.settings.upload_dir.resolve() and path.stem == item.doc_id:
                            saved.setdefault(path, path.read_bytes() if path.exists() else None)
                            path.unlink(missing_ok=True)
                    shutil.copyfile(item.path, target)
                report = self._reindex(progress)
                indexed = {*report.added, *report.changed, *report.unchanged}
                missing = [i.name for i in ready if i.doc_id not in indexed]
                if missing:
                    raise ValueError(f"未能建立索引：{'、'.join(missing)}（已撤销发布）")
            except Exception:
                self._restore(saved)
                raise
            for item in ready:
                target = self.upload_target(item.name)
                previous = [sha256_bytes(data) for path, data in saved.items()
                            if data is not None and path.stem == item.doc_id]
                self.audit.append(user, "replace" if previous else "publish", target.name, item.sha256,
                                  uploaded_as=item.name, doc_id=item.doc_id, title=item.title,
                                  clauses=len(item.clauses), **({"replaced_sha256": previous} if previous else {}))
                shutil.rmtree(item.path.parent, ignore_errors=True)
        return report

    def _restore(self, saved: dict[Path, bytes | None]) -> None:
        """Put the upload folder back and rebuild the index from it, so files, index and log agree again."""
        for path, data in saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)
        try:
            self._reindex(lambda f, d: None)
        except Exception:  # the previous index is still on disk (builds are atomic); say so and go on
            log.exception("re-indexing after a failed change also failed; the index on disk is the last good one")

    def uploaded(self, index: PolicyIndex) -> dict[str, str]:
        """doc_id -> title of the published uploads (the only documents the desk may delete)."""
        return {d.doc_id: d.title for d in index.documents.values() if self._is_upload(Path(d.path))}

    def delete(self, doc_id: str, index: PolicyIndex, user: str,
               progress: Callable[[float, str], None] = lambda f, d: None) -> BuildReport:
        """Remove an uploaded document and its clauses; the corpus folders' documents are not removable here."""
        record = index.documents.get(doc_id)
        if record is None:
            raise ValueError(f"没有编号为 {doc_id} 的文件")
        path = Path(record.path)
        if not self._is_upload(path):
            raise ValueError(f"《{record.title}》来自语料目录，不能在此删除；请在服务器的语料目录中移除后重建索引")
        with self.lock:
            if not path.is_file():
                raise ValueError(f"《{record.title}》已被删除")
            data = path.read_bytes()
            try:
                path.unlink()
                report = self._reindex(progress)
            except Exception:
                self._restore({path: data})
                raise
            self.audit.append(user, "delete", path.name, sha256_bytes(data), doc_id=doc_id,
                              title=record.title)
        return report

    def _reindex(self, progress: Callable[[float, str], None]) -> BuildReport:
        progress(0.05, "正在更新索引…")

        # The build embeds new clauses, then their sentences: each run fills half of the bar, so it only moves on.
        runs = {"count": 0, "done": 0, "total": None}

        def embedded(done: int, total: int) -> None:
            if total != runs["total"] or done <= runs["done"]:  # a new run has begun
                runs["count"] += 1
            runs["done"], runs["total"] = done, total
            half = min(runs["count"], 2) - 1 + done / max(total, 1)
            progress(0.05 + 0.44 * half, f"正在计算向量 {done}/{total} 段")

        report = build_index(self.settings.all_corpus_dirs(), self.settings.index_dir, self.settings,
                             self.embedder_factory, progress=embedded, stamps=manifest_stamps())
        progress(0.95, "正在加载新索引…")
        self.on_change()
        return report
