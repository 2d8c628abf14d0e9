"""Every sentence the answer stage says to an asker, in one place: what a reviewer of the wording reads.

The rules choose what to quote and these put it into words; a reply in Traditional is converted as a whole
afterwards, so everything here is written in Simplified.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..ingest import Clause
from .examples import EXAMPLES

EMPTY_QUESTION = f"请输入您想咨询的问题，例如：{EXAMPLES[0]}"
WELCOME = f"您好！我可以根据政策文件回答问题，并注明出处。您可以这样问：{EXAMPLES[0]}{EXAMPLES[1]}"
# A hedge offers the closest provision for reference; it never says the text lacks what it quotes.
HEDGE = "与您的问题最相关的规定是"
FOR_REFERENCE = "（供参考，请以原文为准）"

# The first sentence of a refusal, by the reason it refuses ("place" names the places: see refusal_lead).
REFUSAL_LEADS = {
    "date": "文件中没有写明这一日期，无法确认。",
    "contact": "检索到的文件中没有给出相关的咨询电话或联系人。",
    "duty": "文件中没有写明这项工作由哪个部门负责。",
}
NOTHING_FOUND = "这些政策文件中没有找到能回答这个问题的内容。"


def refusal_lead(reason: str, foreign: Sequence[str]) -> str:
    """What a refusal says first: why it cannot answer (`foreign`: the named places without documents)."""
    if reason == "place":
        return f"这些政策文件中没有{'、'.join(foreign)}的文件，无法回答这个问题。"
    return REFUSAL_LEADS.get(reason, NOTHING_FOUND)


def who(organisation: str | None, name: str) -> str:
    """Whom to call: the office, with the person when one is named besides it."""
    if organisation and name != organisation:
        return f"{organisation}（联系人：{name}）"
    return organisation or name


def call_general_line(name: str, phone: str) -> str:
    """The refusal's pointer to the general line; its number only when the name does not already hold it."""
    number = "" if phone in name else f"（{phone}）"
    return f"如需咨询，可拨打{name}{number}。"


def _reach(contact: str, phone: str) -> str:
    # A number listed with no name is just dialled: never 可联系，电话….
    return f"可联系{contact}，电话{phone}" if contact.strip() else f"可拨打电话{phone}"


def call(contact: str, phone: str) -> str:
    """The refusal's pointer to a place's own consulting contact."""
    return f"如需咨询，{_reach(contact, phone)}。"


def further_contact(contact: str, phone: str) -> str:
    """The line an answer ends with when its document lists a contact."""
    return f"\n如需进一步咨询，{_reach(contact, phone)}。"


def section_of(clause: Clause) -> str:
    """The clause's own heading in quotes, as an answer names where it quotes from ("" before any heading)."""
    return f"“{clause.section_path[-1]}”" if clause.section_path else ""


def quoted(clause: Clause, quote: str, confident: bool, fact: str | None = None) -> str:
    """A scored sentence as the answer, led by the fact it states when that is shorter than the quote; or (not
    confident) offered as the closest provision, for reference."""
    source = f"《{clause.title}》{section_of(clause)}"
    if not confident:
        return f"{HEDGE}{source}：{quote}[1]{FOR_REFERENCE}"
    lead = f"{fact.rstrip('。；，,;')}[1]。\n" if fact and len(fact) < len(quote) else ""
    return f"{lead}根据{source}：{quote}[1]"


def responsibility(title: str, topic: str, quote: str, confident: bool) -> str:
    """Who leads: the task and its responsibility note, under the plan's title and the task's topic."""
    lead = f"根据《{title}》“{topic}”" if confident else f"{HEDGE}《{title}》“{topic}”"
    return f"{lead}：{quote}[1]"


def listed_contact(title: str, contact: str, phone: str, quote: str) -> str:
    """A contact question answered from the document's own contact line, quoted."""
    return f"《{title}》给出的咨询方式：{contact}，电话{phone}。原文：{quote}[1]"


def issued(title: str, quote: str) -> str:
    """When a document was issued: its dated line, quoted."""
    return f"根据《{title}》：{quote}[1]"


def no_documents_of_place(place: str) -> str:
    """A comparison's row for a place with no document here."""
    return f"{place}：这些文件中没有{place}的政策文件。"


def nothing_found_for_place(place: str) -> str:
    """A comparison's row for a place whose documents do not answer."""
    return f"{place}：文件中没有找到相关内容。"


def compared_row(place: str, clause: Clause, quote: str, n: int) -> str:
    """A comparison's row for a place: its document, section and the quote, marked [n]."""
    return f"{place}（《{clause.title}》{section_of(clause)}）：{quote}[{n}]"


def comparison(rows: Sequence[str], confident: bool) -> str:
    """The rows as a list; hedged as the closest provisions when any row is not confident."""
    text = "\n".join(f"- {row}" for row in rows)
    return text if confident else f"{HEDGE}：\n{text}"


def expired(end: str) -> str:
    """Said first when the cited measure's period has ended (end: YYYY-MM-DD)."""
    year, month, day = (int(x) for x in end.split("-"))
    return f"该措施执行期至{year}年{month}月{day}日，已到期，请以最新政策为准。"
