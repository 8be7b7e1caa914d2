"""What can be done with a work item, independent of HTTP.

Views, the deadline clock (``escalation.tick``), the demo data and the benchmark all go through
these functions, so the rules hold wherever an item changes. Each function changes the session
and leaves the commit to the caller: a caller that fails later rolls everything back, files
included (``Uploads.undo``), so nothing is half-saved.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

import nh3
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.toolkit import (
    Customer,
    Notification,
    OrgUnit,
    Person,
    PostAssignment,
    Principal,
    channel_names,
    emit,
    gettext,
    notify,
    people_in_units,
    setting,
)
from portlets.collab import access, catalogue, states
from portlets.collab.calendar import add_working_hours
from portlets.collab.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from portlets.collab.models import Attachment, WorkItem, WorkParty, WorkStep
from portlets.collab.states import Action, IllegalTransition, Role, State
from portlets.collab.storage import storage

MAX_SUBJECT = 200
MAX_CONTENT = 20_000
MAX_COMMENT = 2_000
#: Formatted text keeps structure and emphasis, never scripts, styles or event handlers.
ALLOWED_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "blockquote",
                "h3", "h4", "a", "span", "table", "thead", "tbody", "tr", "th", "td"}
STAFF_LABELS = {"inspector": "专管员", "account_manager": "客户经理", "deliveryman": "送货员"}


def sanitize(html: str) -> str:
    """The formatted text kept: from the editor as HTML, or typed as plain text in the bare
    textarea (no JavaScript), whose lines then become paragraphs rather than run together."""
    if "<" not in html:
        html = "".join(f"<p>{escape(line)}</p>" for line in html.splitlines() if line.strip())
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


# ---------------------------------------------------------------------------------------------
# Attachments
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass
class Uploads:
    """Files checked before anything is written; ``undo`` removes stored files when the
    transaction that should have recorded them fails."""

    files: list[Upload] = field(default_factory=list)
    saved: list[str] = field(default_factory=list)

    def check(self) -> None:
        limit = int(setting("COLLAB_MAX_ATTACHMENT_BYTES"))  # type: ignore[call-overload]
        allowed = {str(e).lower().lstrip(".") for e in setting("COLLAB_ATTACHMENT_TYPES")}  # type: ignore[attr-defined]
        most = int(setting("COLLAB_MAX_ATTACHMENTS"))  # type: ignore[call-overload]
        if len(self.files) > most:
            raise Invalid(gettext("At most %(n)d attachments at a time.", n=most))
        for f in self.files:
            name = f.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if not name or ext not in allowed:
                raise Invalid(gettext("“%(name)s”: this type of file is not allowed (allowed: "
                                      "%(types)s).", name=name or "?",
                                      types=", ".join(sorted(allowed))))
            if len(f.data) > limit:
                raise TooLarge(gettext("“%(name)s” is larger than %(mb).1f MB.", name=name,
                                       mb=limit / 1024 / 1024))
            if not f.data:
                raise Invalid(gettext("“%(name)s” is empty.", name=name))

    def store(self, session: Session, item: WorkItem, actor: Principal,
              step: WorkStep | None) -> None:
        box = storage()
        for f in self.files:
            key = box.save(f.data)
            self.saved.append(key)
            name = f.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
            session.add(Attachment(
                item_id=item.id, step_id=step.id if step is not None else None, filename=name,
                content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                size=len(f.data), sha256=hashlib.sha256(f.data).hexdigest(), storage_key=key,
                uploaded_by=actor.person_id))

    def undo(self) -> None:
        box = storage()
        for key in self.saved:
            box.delete(key)
        self.saved.clear()


# ---------------------------------------------------------------------------------------------
# Hand-over targets: a person, a department inbox, or a customer's staff
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    person_id: int | None
    unit_id: int
    label: str


def resolve_target(session: Session, raw: str, customer_id: int | None) -> Target:
    """``person:<id>``, ``unit:<id>`` or ``staff:<role>`` (the related customer's 三员)."""
    kind, _, ref = (raw or "").strip().partition(":")
    if not kind:
        raise Invalid(gettext("Choose the next handler."), {"target": gettext("Required.")})
    if kind == "staff":
        if ref not in STAFF_LABELS:
            raise Invalid(gettext("Unknown staff role."), {"target": gettext("Unknown.")})
        if customer_id is None:
            raise Invalid(gettext("Choose the related customer first."),
                          {"target": gettext("No related customer.")})
        customer = session.get(Customer, customer_id)
        person_id = getattr(customer, f"{ref}_id", None) if customer else None
        if person_id is None:
            raise Invalid(gettext("This customer has no %(role)s.", role=STAFF_LABELS[ref]),
                          {"target": gettext("Unknown.")})
        kind, ref = "person", str(person_id)
    if not ref.isdigit():
        raise Invalid(gettext("Unknown handler."), {"target": gettext("Unknown.")})
    if kind == "person":
        person = session.get(Person, int(ref))
        if person is None or not person.active or person.org_unit_id is None:
            raise Invalid(gettext("The handler is not a member of the organisation."),
                          {"target": gettext("Not in the organisation.")})
        unit = session.get(OrgUnit, person.org_unit_id)
        return Target(person.id, person.org_unit_id,
                      f"{person.display_name}（{unit.name if unit else ''}）")
    if kind == "unit":
        unit = session.get(OrgUnit, int(ref))
        if unit is None:
            raise Invalid(gettext("The handler is not a member of the organisation."),
                          {"target": gettext("Not in the organisation.")})
        return Target(None, unit.id, unit.name)
    raise Invalid(gettext("Unknown handler."), {"target": gettext("Unknown.")})


# ---------------------------------------------------------------------------------------------
# Drafts
# ---------------------------------------------------------------------------------------------


@dataclass
class ItemForm:
    type_code: str = ""
    subject: str = ""
    content: str = ""
    customer_id: str = ""
    target: str = ""

    def validate(self, session: Session, principal: Principal,
                 need_target: bool) -> tuple[dict[str, object], dict[str, str]]:
        errors: dict[str, str] = {}
        values: dict[str, object] = {}
        wt = catalogue.work_type(self.type_code)
        if wt is None:
            errors["type_code"] = gettext("Choose a type.")
        values["type_code"] = self.type_code
        subject = self.subject.strip()
        if not subject:
            errors["subject"] = gettext("Enter a subject.")
        elif len(subject) > MAX_SUBJECT:
            errors["subject"] = gettext("At most %(n)d characters.", n=MAX_SUBJECT)
        values["subject"] = subject
        content = sanitize(self.content.strip())
        if len(content) > MAX_CONTENT:
            errors["content"] = gettext("At most %(n)d characters.", n=MAX_CONTENT)
        values["content"] = content
        customer_id = None
        if self.customer_id.strip():
            raw = self.customer_id.strip()
            customer_id = session.scalar(select(Customer.id).where(
                (Customer.customer_code == raw) | (Customer.license_no == raw)))
            if customer_id is None and raw.isdigit() and len(raw) < 10:
                customer_id = session.scalar(select(Customer.id).where(Customer.id == int(raw)))
            if customer_id is None:
                errors["customer_id"] = gettext("Unknown customer.")
        values["customer_id"] = customer_id
        if need_target or self.target.strip():
            try:
                target = resolve_target(session, self.target, customer_id)
                if target.person_id == principal.person_id:
                    errors["target"] = gettext("You cannot hand the item to yourself.")
                values["target"] = target
            except Invalid as exc:
                errors["target"] = exc.message
        return values, errors


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def save_draft(session: Session, principal: Principal, form: ItemForm, uploads: Uploads,
               item: WorkItem | None = None, now: datetime | None = None,
               need_target: bool = False) -> WorkItem:
    """Create or update a draft (or a returned / recalled item the originator holds)."""
    now = _now(now)
    if item is not None:
        _check(session, item, principal, Action.SAVE)
    values, errors = form.validate(session, principal, need_target)
    if errors:
        raise Invalid(gettext("Please correct the fields marked below."), errors)
    uploads.check()
    if item is None:
        item = WorkItem(originator_id=principal.person_id,
                        originator_unit_id=principal.org_unit_id, state=State.DRAFT.value,
                        handler_person_id=principal.person_id,
                        handler_unit_id=principal.org_unit_id, created_at=now, result="",
                        escalation_level=0, overdue=0)
        session.add(item)
    item.type_code = str(values["type_code"])
    item.subject = str(values["subject"])
    item.content = str(values["content"])
    item.customer_id = values["customer_id"]  # type: ignore[assignment]
    item.updated_at = now
    session.flush()
    uploads.store(session, item, principal, None)
    return item


def delete_draft(session: Session, principal: Principal, item: WorkItem) -> None:
    _check(session, item, principal, Action.DELETE)
    keys = [a.storage_key for a in item.attachments]
    for a in item.attachments:
        session.delete(a)
    session.delete(item)
    session.flush()
    box = storage()
    for key in keys:
        box.delete(key)


# ---------------------------------------------------------------------------------------------
# Transitions
# ---------------------------------------------------------------------------------------------


def load(session: Session, item_id: int, principal: Principal,
         version: int | str | None = None) -> WorkItem:
    """The item if *principal* may see it (404 / 403 otherwise); 409 when *version* is given
    and is not the item's current version (somebody acted in the meantime)."""
    item = session.get(WorkItem, item_id)
    if item is None:
        raise NotFound(gettext("No such work item."))
    if not access.roles(session, item, principal):
        if item.state == State.DRAFT:
            raise NotFound(gettext("No such work item."))
        raise Forbidden(gettext("You are not involved in this work item."))
    if version is not None and str(version) != str(item.version):
        raise Conflict(gettext("Somebody else changed this work item in the meantime; "
                               "reload it and try again."))
    return item


def _check(session: Session, item: WorkItem, principal: Principal | None,
           action: Action) -> State:
    roles = {Role.SYSTEM} if principal is None else access.roles(session, item, principal)
    try:
        return states.check(action, State(item.state), roles)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from exc


def _add_party(session: Session, item: WorkItem, person_id: int | None,
               unit_id: int | None) -> None:
    exists = session.scalar(select(WorkParty.id).where(
        WorkParty.item_id == item.id,
        WorkParty.person_id.is_(None) if person_id is None else WorkParty.person_id == person_id,
        WorkParty.unit_id.is_(None) if unit_id is None else WorkParty.unit_id == unit_id))
    if exists is None:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit_id)) if unit_id \
            else ""
        session.add(WorkParty(item_id=item.id, person_id=person_id, unit_id=unit_id,
                              unit_path=path or ""))


def _step(session: Session, item: WorkItem, actor: Principal | None, action: Action | str,
          before: str, comment: str = "", to_label: str = "",
          now: datetime | None = None) -> WorkStep:
    seq = (session.scalar(select(func.max(WorkStep.seq)).where(WorkStep.item_id == item.id))
           or 0) + 1
    step = WorkStep(item_id=item.id, seq=seq, at=_now(now),
                    actor_id=actor.person_id if actor else None,
                    actor_name=actor.display_name if actor else gettext("Deadline clock"),
                    action=str(action), from_state=before, to_state=item.state,
                    comment=comment.strip()[:MAX_COMMENT], to_label=to_label[:120])
    session.add(step)
    session.flush()
    return step


def _changed(session: Session, item: WorkItem) -> None:
    """Tell the plugin (after commit) whose windows show this item: parties and inbox units."""
    rows = session.execute(select(WorkParty.person_id, WorkParty.unit_id).where(
        WorkParty.item_id == item.id)).all()
    people = sorted({p for p, _u in rows if p is not None})
    units = sorted({u for p, u in rows if p is None and u is not None})
    emit(session, "collab.changed", item_id=item.id, state=item.state, people=people,
         units=units)


def _announce(session: Session, item: WorkItem, kind: str, title: str, body: str = "",
              to: tuple[int | None, int | None] | None = None) -> None:
    """Tell the holder (or every member of the inbox unit), or *to* (a person, else a unit),
    through the configured channels."""
    person_id, unit_id = to if to is not None else (item.handler_person_id,
                                                     item.handler_unit_id)
    if person_id is not None:
        recipients: tuple[int, ...] = (person_id,)
    elif unit_id is not None:
        # The department's members and its heads (a 市局职能部门 may have only a head).
        heads = session.scalars(select(PostAssignment.person_id).where(
            PostAssignment.org_unit_id == unit_id, PostAssignment.manages.is_(True)))
        recipients = tuple(sorted({*people_in_units(session, [unit_id]), *heads}))
    else:
        return
    wanted = [str(c) for c in setting("COLLAB_CHANNELS")]  # type: ignore[attr-defined]
    channels = tuple(c for c in wanted if c in channel_names())
    if not channels or not recipients:
        return
    wt = catalogue.work_type(item.type_code)
    notify(session, Notification(
        kind=kind, title=title[:200], recipients=recipients, body=body[:2000],
        link=f"/collab/items/{item.id}", channels=channels,
        params={"type": wt.name if wt else item.type_code, "subject": item.subject[:30],
                "no": str(item.id)}))


def _next_handler(session: Session, principal: Principal, raw: str,
                  customer_id: int | None) -> Target:
    target = resolve_target(session, raw, customer_id)
    if target.person_id == principal.person_id:
        message = gettext("You cannot hand the item to yourself.")
        raise Invalid(message, {"target": message})
    return target


def _hand_over(session: Session, item: WorkItem, target: Target, now: datetime) -> None:
    wt = catalogue.work_type(item.type_code)
    item.handler_person_id = target.person_id
    item.handler_unit_id = target.unit_id
    item.handed_at = now
    item.reminded_at = None
    if wt is not None:
        item.due_at = add_working_hours(now, wt.time_limit_hours)
    _add_party(session, item, target.person_id, target.unit_id)


def submit(session: Session, principal: Principal, item: WorkItem, target_raw: str,
           comment: str = "", now: datetime | None = None) -> WorkItem:
    now = _now(now)
    before = item.state
    new = _check(session, item, principal, Action.SUBMIT)
    target = _next_handler(session, principal, target_raw, item.customer_id)
    if not item.subject:
        raise Invalid(gettext("Enter a subject."), {"subject": gettext("Enter a subject.")})
    _add_party(session, item, principal.person_id, principal.org_unit_id)
    item.state = new.value
    item.sender_id = principal.person_id
    item.submitted_at = item.submitted_at or now
    item.updated_at = now
    _hand_over(session, item, target, now)
    _step(session, item, principal, Action.SUBMIT, before, comment, target.label, now)
    _announce(session, item, "collab.assigned",
              gettext("New work item: %(subject)s", subject=item.subject),
              gettext("%(who)s sent you a work item.", who=principal.display_name))
    _changed(session, item)
    return item


def accept(session: Session, principal: Principal, item: WorkItem,
           now: datetime | None = None) -> WorkItem:
    """签收: a person handler starts; a member of the inbox unit claims it (认领)."""
    now = _now(now)
    before = item.state
    item.state = _check(session, item, principal, Action.ACCEPT).value
    item.handler_person_id = principal.person_id
    item.updated_at = now
    _add_party(session, item, principal.person_id, principal.org_unit_id)
    _step(session, item, principal, Action.ACCEPT, before, now=now)
    _changed(session, item)
    return item


def forward(session: Session, principal: Principal, item: WorkItem, target_raw: str,
            comment: str, uploads: Uploads | None = None,
            now: datetime | None = None) -> WorkItem:
    now = _now(now)
    before = item.state
    new = _check(session, item, principal, Action.FORWARD)
    if not comment.strip():
        raise Invalid(gettext("Say why you forward it."), {"comment": gettext("Required.")})
    target = _next_handler(session, principal, target_raw, item.customer_id)
    uploads = uploads or Uploads()
    uploads.check()
    item.state = new.value
    item.sender_id = principal.person_id
    item.updated_at = now
    _hand_over(session, item, target, now)
    step = _step(session, item, principal, Action.FORWARD, before, comment, target.label, now)
    uploads.store(session, item, principal, step)
    _announce(session, item, "collab.assigned",
              gettext("Work item forwarded to you: %(subject)s", subject=item.subject),
              comment)
    _changed(session, item)
    return item


def return_(session: Session, principal: Principal, item: WorkItem, comment: str,
            now: datetime | None = None) -> WorkItem:
    now = _now(now)
    before = item.state
    new = _check(session, item, principal, Action.RETURN)
    if not comment.strip():
        raise Invalid(gettext("Say why you return it."), {"comment": gettext("Required.")})
    originator = session.get(Person, item.originator_id)
    item.state = new.value
    item.sender_id = principal.person_id
    item.handler_person_id = item.originator_id
    item.handler_unit_id = originator.org_unit_id if originator else None
    item.handed_at = now
    item.due_at = None
    item.updated_at = now
    _step(session, item, principal, Action.RETURN, before, comment,
          originator.display_name if originator else "", now)
    _announce(session, item, "collab.returned",
              gettext("Work item returned to you: %(subject)s", subject=item.subject), comment)
    _changed(session, item)
    return item


def finish(session: Session, principal: Principal, item: WorkItem, result: str,
           uploads: Uploads | None = None, now: datetime | None = None) -> WorkItem:
    now = _now(now)
    before = item.state
    new = _check(session, item, principal, Action.FINISH)
    if not result.strip():
        raise Invalid(gettext("Describe the result."), {"result": gettext("Required.")})
    uploads = uploads or Uploads()
    uploads.check()
    item.state = new.value
    item.result = result.strip()[:MAX_CONTENT]
    item.finished_at = now
    item.updated_at = now
    if item.due_at is not None and now > item.due_at:
        item.overdue = 1
    person = session.get(Person, principal.person_id)
    item.handler_unit_id = person.org_unit_id if person else item.handler_unit_id
    step = _step(session, item, principal, Action.FINISH, before, result, now=now)
    uploads.store(session, item, principal, step)
    _announce(session, item, "collab.finished",
              gettext("Work item finished: %(subject)s", subject=item.subject),
              gettext("Please rate the handling."), to=(item.originator_id, None))
    _changed(session, item)
    return item


def recall(session: Session, principal: Principal, item: WorkItem,
           now: datetime | None = None) -> WorkItem:
    """撤回: the sender takes the item back while the next handler has not acted on it."""
    now = _now(now)
    before = item.state
    new = _check(session, item, principal, Action.RECALL)
    previous = item.handler_person_id, item.handler_unit_id
    person = session.get(Person, principal.person_id)
    item.state = new.value
    item.handler_person_id = principal.person_id
    item.handler_unit_id = person.org_unit_id if person else None
    item.sender_id = None
    item.due_at = None
    item.updated_at = now
    _step(session, item, principal, Action.RECALL, before, now=now)
    _announce(session, item, "collab.recalled",
              gettext("Work item recalled by its sender: %(subject)s", subject=item.subject),
              to=previous)
    _changed(session, item)
    return item


def next_level(session: Session, item: WorkItem) -> Target | None:
    """Where escalation sends the item, or ``None`` at the top of the type's ladder."""
    wt = catalogue.work_type(item.type_code)
    if wt is None or item.escalation_level >= len(wt.ladder):
        return None
    level = wt.ladder[item.escalation_level]
    if level == "unit":
        unit_id = item.handler_unit_id
        if item.handler_person_id is not None:
            holder = session.get(Person, item.handler_person_id)
            unit_id = holder.org_unit_id if holder else unit_id
        unit = session.get(OrgUnit, unit_id) if unit_id else None
    else:
        code = level.removeprefix("org:")
        unit = session.scalars(select(OrgUnit).where(OrgUnit.code == code)).first() or \
            session.scalars(select(OrgUnit).where(OrgUnit.parent_id.is_(None))
                            .order_by(OrgUnit.id)).first()
    return Target(None, unit.id, unit.name) if unit is not None else None


def escalate(session: Session, principal: Principal | None, item: WorkItem, reason: str,
             now: datetime | None = None) -> WorkItem:
    """升级 to the next level of the ladder; ``principal=None`` is the deadline clock."""
    now = _now(now)
    before = item.state
    new = _check(session, item, principal, Action.ESCALATE)
    if not reason.strip():
        raise Invalid(gettext("Give the reason for the escalation."),
                      {"reason": gettext("Required.")})
    target = next_level(session, item)
    if target is None:
        raise Conflict(gettext("This work item is already at the top of its escalation "
                               "ladder."))
    if principal is None and item.due_at is not None and now > item.due_at:
        item.overdue = 1
    item.state = new.value
    item.escalation_level += 1
    item.sender_id = principal.person_id if principal else None
    item.updated_at = now
    _hand_over(session, item, target, now)
    _step(session, item, principal, Action.ESCALATE, before, reason, target.label, now)
    _announce(session, item, "collab.escalated",
              gettext("Work item escalated to your unit: %(subject)s", subject=item.subject),
              reason)
    _changed(session, item)
    return item


def rate(session: Session, principal: Principal, item: WorkItem, score: str, grade: str,
         comment: str = "", now: datetime | None = None) -> WorkItem:
    """评价 by the originator; 不合格 (or a score under 60) reopens the item for its finisher."""
    now = _now(now)
    wt = catalogue.work_type(item.type_code)
    value: int | None = None
    if wt is not None and wt.rating == "score":
        if not score.strip().isdigit() or not 0 <= int(score) <= 100:
            raise Invalid(gettext("Give a score from 0 to 100."),
                          {"score": gettext("0 to 100.")})
        value, grade = int(score), ""
    elif grade not in catalogue.GRADES:
        raise Invalid(gettext("Choose a grade."), {"grade": gettext("Choose a grade.")})
    fails = wt.fails(value, grade) if wt is not None else False
    action = Action.REOPEN if fails else Action.RATE
    if fails and not comment.strip():
        raise Invalid(gettext("Say what is not satisfactory."),
                      {"comment": gettext("Required.")})
    before = item.state
    item.state = _check(session, item, principal, action).value
    item.rating_score = value
    item.rating_grade = grade or None
    item.updated_at = now
    label = f"{value}" if value is not None else grade
    if fails:
        finisher = session.scalar(select(WorkStep.actor_id).where(
            WorkStep.item_id == item.id, WorkStep.action == Action.FINISH.value)
            .order_by(WorkStep.seq.desc()).limit(1))
        person = session.get(Person, finisher) if finisher else None
        if person is not None and person.org_unit_id is not None:
            _hand_over(session, item, Target(person.id, person.org_unit_id,
                                             person.display_name), now)
        item.finished_at = None
        item.sender_id = principal.person_id
    _step(session, item, principal, action, before, comment, label, now)
    if fails:
        _announce(session, item, "collab.reopened",
                  gettext("Work item reopened (rated %(label)s): %(subject)s", label=label,
                          subject=item.subject), comment)
    _changed(session, item)
    return item


def archive(session: Session, principal: Principal, item: WorkItem,
            now: datetime | None = None) -> WorkItem:
    now = _now(now)
    before = item.state
    item.state = _check(session, item, principal, Action.ARCHIVE).value
    item.archived_at = now
    item.updated_at = now
    _step(session, item, principal, Action.ARCHIVE, before, now=now)
    _changed(session, item)
    return item


def remind(session: Session, item: WorkItem, now: datetime | None = None) -> None:
    """The deadline is near: tell the holder once per hand-over (and note it in the trace)."""
    now = _now(now)
    item.reminded_at = now
    _step(session, item, None, "remind", item.state,
          gettext("Deadline %(due)s", due=item.due_at.strftime("%Y-%m-%d %H:%M")
                  if item.due_at else ""), now=now)
    _announce(session, item, "collab.reminder",
              gettext("Deadline approaching: %(subject)s", subject=item.subject),
              gettext("Due %(due)s", due=item.due_at.strftime("%Y-%m-%d %H:%M")
                      if item.due_at else ""))
