"""The letter to an expert's employer asking it to release the expert for an activity, and the record that it
was sent (000 §19: "兵团医疗保障局将通知专家所在单位，由其所在单位安排该专家…提供服务"; 001 §12: the divisions
contact the employer, which arranges the expert's release).

A letter exists for a slot whose expert has accepted or signed (:class:`LetterNotReady` otherwise). Only the
organizer's line of staff may produce it or record it sent (:func:`services.activities.activities.view`); to anyone
else the
slot does not exist (:class:`SlotNotFound`). The letter names the employer (or "所在单位" when the pool has none
on record, with a note saying so), the expert (name, title, post), the activity (title, kind, dates and place in
the bureau's time zone, the organizer), asks for the expert's release, gives the organizer as the contact and
leaves room for the seal. It does not name the inspected institutions: the letter leaves the bureau, they stay
secret (000 §25).

:func:`mark_sent` sets ``activity_member.employer_informed_at`` once (a second call keeps the first time) and
audits ``invitation.employer_informed``. The letter is a document, not a chat message: its wording is Chinese,
the bureau's working language, in constants here (as in :mod:`services.draws.draw_export`). The addressee line
starts with the employer's name: marked with ``'`` when it starts like a formula (a pasted line stays text).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from services.activities.activities import ActivityView, view
from services.documents.labels import ACTIVITY_KIND_LABELS as KIND_LABELS
from services.platform import audit
from services.platform.errors import ActivityNotFound, LetterNotReady, SlotNotFound
from services.platform.roles import Actor
from services.platform.tables import neutralize
from storage.activities import ActivityMember
from storage.models import Expert, Person
from storage.pool import Institution
from storage.uow import UnitOfWork

READY = ("accepted", "signed")
AUDIT_ACTION = "invitation.employer_informed"

TITLE = "关于商请支持专家参加医疗保障基金监管工作的函"
NO_EMPLOYER = "所在单位"
NO_EMPLOYER_NOTE = "注：专家库未登记该专家的工作单位，本函请由专家本人转交其所在单位。"
PLACE_LATER = "另行通知"
REFERENCE = "编号：活动{activity_id}-席位{member_id}"
OPENING = ("根据医疗保障基金监管专家库管理有关规定，经随机抽取并本人确认，贵单位{expert}被选为{organizer}"
           "组织开展的医疗保障基金监管工作专家。现将有关事项函告如下：")
L_ACTIVITY, L_KIND, L_TIME, L_PLACE, L_ORGANIZER = "活动名称", "活动类型", "活动时间", "活动地点", "组织单位"
ITEM_NUMBERS = ("一", "二", "三", "四", "五")
REQUEST = ("为保证工作顺利开展，恳请贵单位给予支持，安排{name}同志按时参加上述工作，并在工作期间予以时间保障。"
           "专家参加工作期间须遵守保密、廉洁和回避等有关规定，工作结束后由组织单位对专家工作情况进行评价。")
THANKS = "感谢贵单位对医疗保障基金监管工作的大力支持！"
CONTACT = "联系单位：{organizer}    联系人：__________    联系电话：__________"
SEAL = "{organizer}（盖章）"


TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Letter:
    """What the letter says, independent of the file format."""

    reference: str
    addressee: str
    opening: str
    items: tuple[tuple[str, str], ...]
    request: str
    contact: str
    signature: str
    date: str
    note: str = ""


def _date(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日"


def _moment(moment: datetime, zone: ZoneInfo) -> str:
    return f"{_date(moment, zone)} {moment.astimezone(zone):%H:%M}"


async def _visible_slot(uow: UnitOfWork, actor: Actor, member_id: int, *, lock: bool = False
                        ) -> tuple[ActivityMember, ActivityView]:
    member = await uow.session.get(ActivityMember, member_id, with_for_update=lock)
    if member is None:
        raise SlotNotFound(str(member_id), member_id=member_id)
    try:
        info = await view(uow, actor=actor, activity_id=member.activity_id)  # the organizer's line only
    except ActivityNotFound as error:
        raise SlotNotFound(str(member_id), member_id=member_id) from error
    return member, info


def _ready(member: ActivityMember) -> None:
    if member.status not in READY:
        raise LetterNotReady(f"slot {member.id} is {member.status}", member_id=member.id,
                             status_key=f"invite.status.{member.status}")


def _expert_phrase(name: str, expert: Expert | None) -> str:
    details = []
    if expert is not None and expert.title:
        details.append(f"职称：{expert.title}")
    if expert is not None and expert.post:
        details.append(f"职务：{expert.post}")
    return f"{name}同志" + (f"（{'；'.join(details)}）" if details else "")


async def compose(uow: UnitOfWork, *, actor: Actor, member_id: int) -> Letter:
    """The content of the letter for a slot the actor may see whose expert has accepted or signed."""
    member, info = await _visible_slot(uow, actor, member_id)
    _ready(member)
    person = await uow.session.get(Person, member.person_id)
    expert = await uow.session.get(Expert, member.person_id)
    employer = None
    if expert is not None and expert.employer_id is not None:
        employer = await uow.session.get(Institution, expert.employer_id)
    name = person.name if person is not None else str(member.person_id)
    activity, organizer, zone = info.activity, info.organizer.name, uow.zone
    fields = (
        (L_ACTIVITY, activity.title),
        (L_KIND, KIND_LABELS.get(activity.kind, activity.kind)),
        (L_TIME, f"{_moment(activity.starts_at, zone)} 至 {_moment(activity.ends_at, zone)}"),
        (L_PLACE, activity.place or PLACE_LATER),
        (L_ORGANIZER, organizer),
    )
    items = tuple((f"{number}、{label}", value) for number, (label, value) in zip(ITEM_NUMBERS, fields, strict=True))
    return Letter(
        reference=REFERENCE.format(activity_id=activity.id, member_id=member.id),
        addressee=(employer.name if employer is not None else NO_EMPLOYER) + "：",
        opening=OPENING.format(expert=_expert_phrase(name, expert), organizer=organizer),
        items=items,
        request=REQUEST.format(name=name),
        contact=CONTACT.format(organizer=organizer),
        signature=SEAL.format(organizer=organizer),
        date=_date(uow.now(), zone),
        note="" if employer is not None else NO_EMPLOYER_NOTE,
    )


async def letter(uow: UnitOfWork, *, actor: Actor, member_id: int) -> tuple[str, bytes]:
    """The letter to the expert's employer for a slot: its file name and the DOCX bytes."""
    content = await compose(uow, actor=actor, member_id=member_id)
    return f"employer-letter-{member_id}.docx", to_docx(content)


@dataclass(frozen=True)
class LetterFile:
    """The letter as staff get it: the file, and when it was recorded sent (local time), if it was."""

    file_name: str
    data: bytes
    sent_at: str | None


async def letter_file(uow: UnitOfWork, *, actor: Actor, member_id: int) -> LetterFile:
    """:func:`letter` with the time the letter was recorded sent, if it was."""
    file_name, data = await letter(uow, actor=actor, member_id=member_id)
    member, _ = await _visible_slot(uow, actor, member_id)
    informed = member.employer_informed_at
    return LetterFile(file_name, data, informed.astimezone(uow.zone).strftime(TIME_FORMAT) if informed else None)


@dataclass(frozen=True)
class LetterSent:
    """When the employer's letter of a slot was recorded sent (UTC, and as staff read it, in local time)."""

    slot_id: int
    employer_informed_at: datetime
    local_time: str


def _sent(member: ActivityMember, zone: ZoneInfo) -> LetterSent:
    assert member.id is not None and member.employer_informed_at is not None
    return LetterSent(slot_id=member.id, employer_informed_at=member.employer_informed_at,
                      local_time=member.employer_informed_at.astimezone(zone).strftime(TIME_FORMAT))


async def mark_sent(uow: UnitOfWork, *, actor: Actor, member_id: int) -> LetterSent:
    """Record that the letter was sent to the employer (once: a second call keeps the first time)."""
    member, _ = await _visible_slot(uow, actor, member_id, lock=True)
    if member.employer_informed_at is not None:
        return _sent(member, uow.zone)
    _ready(member)
    expert = await uow.session.get(Expert, member.person_id)
    member.employer_informed_at = uow.now()
    uow.session.add(member)
    await audit.record(uow, at=member.employer_informed_at, actor=actor.label, action=AUDIT_ACTION,
                       object_type="activity_member", object_id=member_id,
                       details={"activity_id": member.activity_id, "person_id": member.person_id,
                                "employer_id": expert.employer_id if expert is not None else None})
    await uow.commit()
    return _sent(member, uow.zone)


def to_docx(content: Letter) -> bytes:
    """A Word document in the layout of an official letter: title, reference, addressee, body, seal and date."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(TITLE)
    run.bold = True
    run.font.size = Pt(18)
    doc.add_paragraph(content.reference).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.add_paragraph(neutralize(content.addressee))  # the employer's name: never a formula when pasted

    def body(text: str) -> None:
        paragraph = doc.add_paragraph(text)
        paragraph.paragraph_format.first_line_indent = Pt(24)

    body(content.opening)
    for label, value in content.items:
        body(f"{label}：{value}")
    body(content.request)
    body(THANKS)
    doc.add_paragraph("")
    body(content.contact)
    doc.add_paragraph("")
    for text in (content.signature, content.date):
        doc.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if content.note:
        doc.add_paragraph(content.note)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


__all__ = ["Letter", "compose", "letter", "mark_sent", "to_docx"]
