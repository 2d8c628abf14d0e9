"""Who is responsible and whom to call: responsibility notes and contact lines in policy text.

A task in a plan ends with a note such as `(市工信局牵头,市住建局、市发改委、市城管局配合)` or
`（国家发展改革委、工业和信息化部等按职责分工负责）`; a web page ends with `咨询电话:0792-4357300` or
`联系人:刘峰 0531-87589586`. The notes stay in the clause text; this module reads them into metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARENTHETICAL = re.compile(r"[（(]([^（()）]{2,300})[)）]")
# Longest first, so "牵头负责" is not read as "牵头" + a department called "负责".
ROLES = (("按职责分工负责", "lead"), ("牵头负责", "lead"), ("牵头", "lead"), ("负责", "lead"), ("配合", "supporting"))
ITEM_SEPARATORS = re.compile(r"[，,、；;]")
# The labelled form: "(责任单位：北京海关、市财政局)" or "（牵头单位：…；配合单位：…）".
LABELLED_LEAD = re.compile(r"^(?:责任单位|责任部门|牵头单位|牵头部门)\s*[:：]")
LABELLED_SUPPORT = re.compile(r"[；;，,]?\s*(?:配合单位|配合部门|参与单位)\s*[:：]")

# The number on a contact line, read off exactly: a landline with its area code (and extension), a mobile number
# or 12345. Not the answer stage's NUMBER_OR_HOTLINE, which only asks whether a sentence gives some number.
CONTACT_LINE_PHONE = re.compile(r"(?<![\d-])(0\d{2,3}-?\d{7,8}(?:-\d{1,5})?|1[3-9]\d{9}|12345)(?![\d])")
PHONE_LABEL = re.compile(r"电话|联系人|热线|联系方式|咨询")
PERSON = re.compile(r"联系人\s*[:：]\s*([\u4e00-\u9fff·]{2,6}(?:[ 、，,][\u4e00-\u9fff·]{2,6})*)")
# Where the names stop when the next field follows without a break ("刘霞、张宏鸽联系电话：…").
AFTER_NAMES = re.compile(r"联系|电话")
ORG_LABEL = re.compile(r"(?:咨询部门|联系部门|咨询单位|联系单位|联系科室|联系处室|解读机构|解读部门|受理部门)"
                       r"\s*[:：]\s*(.+)")
ORG_SUFFIX = re.compile(r"(?:局|委|委员会|科|室|中心|办|办公室|厅|部|院|所|站|处|政府)$")


@dataclass(frozen=True)
class Responsibility:
    """The departments a note assigns: those that lead and those that support (falsy when it names none)."""

    lead: tuple[str, ...] = ()
    supporting: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.lead or self.supporting)


@dataclass(frozen=True)
class Contact:
    """A contact line of a document: whom to call, the number, the office, and the line's offsets."""

    name: str  # the person when one is named, else the organisation
    phone: str
    organisation: str | None
    start: int  # offsets of the contact line in the cleaned text
    end: int

    def card(self) -> dict:
        """Whom to ask, as answers and previews show it: name, phone, organisation."""
        return {"name": self.name, "phone": self.phone, "organisation": self.organisation}


def _role(item: str) -> tuple[str, str | None]:
    for word, role in ROLES:
        if item.endswith(word):
            return item[: -len(word)], role
    return item, None


def _department(name: str) -> str:
    return re.sub(r"^(?:由|请)|等$", "", name.strip()).strip()


def _names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(d for d in map(_department, ITEM_SEPARATORS.split(text)) if d))


def parse_note(note: str) -> Responsibility | None:
    """Read one parenthetical; None unless it assigns departments to roles."""
    if LABELLED_LEAD.match(note):
        lead, *supporting = LABELLED_SUPPORT.split(LABELLED_LEAD.sub("", note), maxsplit=1)
        return Responsibility(_names(lead), _names(supporting[0]) if supporting else ())
    items = [item.strip() for item in ITEM_SEPARATORS.split(note) if item.strip()]
    if not items or _role(items[-1])[1] is None:
        return None
    lead: list[str] = []
    supporting: list[str] = []
    pending: list[str] = []
    for item in items:
        name, role = _role(item)
        if name and _department(name):
            pending.append(_department(name))
        if role:
            (lead if role == "lead" else supporting).extend(pending)
            pending = []
    return Responsibility(tuple(dict.fromkeys(lead)), tuple(dict.fromkeys(supporting)))


def notes_in(text: str) -> list[re.Match]:
    """The parentheticals of `text` that assign departments (where a clause says who does the work)."""
    return [m for m in PARENTHETICAL.finditer(text) if parse_note(m.group(1))]


def responsibility_of(text: str) -> Responsibility:
    """All departments a clause assigns, lead and supporting, in order of first mention."""
    lead: list[str] = []
    supporting: list[str] = []
    for match in notes_in(text):
        note = parse_note(match.group(1))
        lead.extend(note.lead)
        supporting.extend(note.supporting)
    lead = list(dict.fromkeys(lead))
    return Responsibility(tuple(lead), tuple(d for d in dict.fromkeys(supporting) if d not in lead))


def _organisation_before(lines: list[str], index: int) -> str | None:
    for line in reversed(lines[max(0, index - 3): index + 1]):
        if match := ORG_LABEL.search(line):
            return match.group(1).strip()
    previous = lines[index - 1].strip() if index else ""
    if previous and len(previous) <= 30 and ORG_SUFFIX.search(previous) and not CONTACT_LINE_PHONE.search(previous):
        return previous
    return None


def _people(names: str) -> str:
    """The names of a 联系人 field, one 、 between them: "孙良谊 王蔚" -> "孙良谊、王蔚"."""
    names = AFTER_NAMES.split(names, maxsplit=1)[0]
    return "、".join(n for n in re.split(r"[ 、，,]", names) if n)


def contacts_of(text: str) -> tuple[Contact, ...]:
    """Phone numbers given for enquiries, with the person or office they reach."""
    contacts = []
    lines = text.split("\n")
    offset = 0
    for index, line in enumerate(lines):
        phone = CONTACT_LINE_PHONE.search(line)
        if phone and PHONE_LABEL.search(line):
            # The person on the line, or on the line above when the block gives 联系人 and 联系电话 apart.
            person = PERSON.search(line) or (PERSON.match(lines[index - 1]) if index else None)
            organisation = _organisation_before(lines, index)
            name = _people(person.group(1)) if person else organisation or ""
            contacts.append(Contact(name, phone.group(1), organisation, offset, offset + len(line)))
        offset += len(line) + 1
    return tuple(contacts)
