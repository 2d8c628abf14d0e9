"""Ingest: corpus files -> cleaned documents -> numbered sections -> clauses and sentences, one file at a time."""

from .clauses import SECTION_SEPARATOR, Clause
from .clean import PolicyDocument
from .duplicates import Duplicate, DuplicateFinder
from .load import SUFFIXES, LoadError, doc_id_for
from .pipeline import IngestReport, Skipped, Unchanged, ingest_corpus, ingest_file
from .responsibility import Contact, notes_in
from .sentences import SENTENCE, is_heading, line_start, split

__all__ = [
    "Clause", "Contact", "Duplicate", "DuplicateFinder", "IngestReport", "LoadError", "PolicyDocument",
    "SECTION_SEPARATOR", "SENTENCE", "SUFFIXES", "Skipped", "Unchanged", "doc_id_for", "ingest_corpus",
    "ingest_file", "is_heading", "line_start", "notes_in", "split",
]
