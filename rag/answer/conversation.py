"""A dialogue: a follow-up ("那成都呢?", "这个由谁负责?") is read against the previous turn, and answered in the
script that turn was asked in when it looks the same in both."""

from __future__ import annotations

import re

from ..text import Tokenizer, to_traditional
from .answerer import Answerer
from .intent import Intent, analyse
from .records import Answer

FOLLOW_UP_MAX_CHARS = 40  # a follow-up is a few words, never a page
SHORT_FOLLOW_UP = 14  # characters of a normalised follow-up that can only be read with the previous turn
# What is left of "那成都呢?" once its places are taken out: only then is it about another place and nothing else.
ONLY_A_PLACE = re.compile(r"^(?:那|那么|那个)?[、和与及,，\s]*(?:呢|的呢|怎么样|如何|又如何)?[？?。.！!]*$")
PRONOUN = re.compile(r"这个|这项|该项|这条|那条|上述|它|其|此项")


def about_other_place(before: Intent, now: Intent) -> str:
    """"那成都呢?": the previous question, about the new place (the first place replaced, any others dropped)."""
    resolved = before.normalized
    for old in before.places:
        new = "、".join(now.places) if old == before.places[0] else ""
        resolved = resolved.replace(old, new, 1) if new else resolved.replace(old, "")
    return resolved if before.places else "、".join(now.places) + resolved


def resolve_follow_up(question: str, before: Intent, known_places: frozenset[str],
                      tokenizer: Tokenizer | None = None) -> str:
    """The question as it would be asked on its own, given the intent of the turn it follows (read with the
    index's `tokenizer`)."""
    now = analyse(question, known_places, tokenizer)
    short = len(now.normalized) <= SHORT_FOLLOW_UP
    rest = now.normalized
    for place in now.places:
        rest = rest.replace(place, "")
    if now.places and short and ONLY_A_PLACE.match(rest):  # 瑞金的主要目标是什么？ asks on its own
        return about_other_place(before, now)
    if PRONOUN.search(now.normalized) and not now.places and short:
        # "这个由谁负责?": the pronoun is the previous question's subject.
        return PRONOUN.sub(before.normalized.rstrip("？?。"), now.normalized, count=1)
    return question


class Conversation:
    """A dialogue: a follow-up ("那成都呢?", "这个由谁负责?") is read against the previous turn."""

    def __init__(self, answerer: Answerer):
        self.answerer = answerer
        self.turns: list[Answer] = []

    @classmethod
    def continuing(cls, previous: Conversation | None, answerer: Answerer) -> Conversation:
        """The same dialogue on another answerer (after staff changed the corpus): its turns carry over."""
        conversation = cls(answerer)
        conversation.turns = list(previous.turns) if previous else []
        return conversation

    def resolve(self, question: str) -> str:
        """The question as it would be asked on its own."""
        last = self.context()
        if last is None or len(question) > FOLLOW_UP_MAX_CHARS:
            return question
        before = last.intent or self.answerer.analyse(last.resolved_question or last.question)
        return resolve_follow_up(question, before, self.answerer.known_places, self.answerer.index.tokenizer)

    def context(self) -> Answer | None:
        """The turn a follow-up refers to: the last answered question (a refusal does not set the topic),
        else the last question that asked something."""
        asked = [t for t in self.turns if t.decision.asked]
        answered = [t for t in asked if not t.refused]
        return (answered or asked or [None])[-1]

    def ask(self, question: str) -> Answer:
        """The answer to `question` read as a follow-up of this dialogue; the turn is remembered."""
        resolved = self.resolve(question)
        # A follow-up written the same in both scripts (那瑞金呢？) is answered in the script of the last turn
        # that asked something (a greeting in between does not reset it).
        asked = [t for t in self.turns if t.decision.asked]
        last = asked[-1] if asked else None
        script = (last.script, last.variant) if last and to_traditional(question, last.variant) == question else None
        answer = self.answerer.ask(question, resolved=resolved if resolved != question else None, script=script)
        self.turns.append(answer)
        return answer
