"""The staff rule: who leads a task is answered from the responsibility note a plan puts after it
(（市工信局牵头，…配合）), quoted with the task; failing that only by a sentence that assigns the work itself."""

from __future__ import annotations

import re
from dataclasses import replace

from ..ingest import SENTENCE, Clause, notes_in
from . import messages
from .features import DUTY_WORDS, ISSUE_VERBS, ISSUE_WORDS, Candidate
from .intent import Intent
from .quotes import MAX_QUOTE
from .records import Answer, Decision
from .replies import Replies
from .sources import Sources


def task_and_note(clause: Clause, text: str) -> tuple[int, int] | None:
    """The span of the clause's first responsibility note with the task it closes: the sentence just before
    the note (or the one that holds it), then the note. None when the clause names no department."""
    notes = notes_in(clause.text)
    if not notes or not (clause.lead_departments or clause.supporting_departments):
        return None
    note_start, note_end = clause.start + notes[0].start(), clause.start + notes[0].end()
    before = [m for m in SENTENCE.finditer(text, clause.start, note_start) if m.group(0).strip()]
    start = before[-1].start() if before and note_start - before[-1].start() <= 2 * MAX_QUOTE else note_start
    return start, note_end


def responsibility_answer(intent: Intent, options: list[Candidate], decision: Decision, confident: bool,
                          floor: float, sources: Sources, replies: Replies) -> Answer | None:
    """Who leads: the best clause above `floor` that carries a responsibility note, its task and note quoted
    as one span under the task's heading; None when no such clause is among the options."""
    for option in options:
        if option.probability < floor:
            break
        clause = option.clause
        span = task_and_note(clause, sources.text(clause.doc_id))
        if span is None:
            continue
        citation = sources.citation(1, clause, *span)
        topic = clause.section_path[-1] if clause.section_path else clause.title
        text = messages.responsibility(clause.title, topic, citation.quote.strip(), confident)
        return replies.answered(intent, text, [citation], replace(decision, rule="departments"), confident,
                                option.probability)
    return None


# Who issued a document is answered by the sentence that issues it (瑞金市人民政府发布关于印发《…》) as much as
# by one that assigns work: NCP dev asks 《…》是由哪个部门印发的？ and 哪些部门联合印发了《…》？
ISSUING_OR_DUTY = re.compile(f"{DUTY_WORDS.pattern}|{ISSUE_VERBS}")


def assigning_work(options: list[Candidate], floor: float, sources: Sources, intent: Intent) -> list[Candidate]:
    """The candidates above `floor` whose sentence itself assigns the work (…负责/牵头/统筹…), or, for a
    question about who issued something (…印发的), issues it."""
    words = ISSUING_OR_DUTY if ISSUE_WORDS.search(intent.normalized) else DUTY_WORDS
    return [c for c in options if c.probability >= floor
            and words.search(sources.text(c.clause.doc_id)[c.start:c.end])]
