"""What people do with documents: draft, act on a step (with the step's own work: the number,
the seal, the dispatch to recipient units, the archive event), withdraw, read.

Everything happens in the caller's session; the views commit once at the end, or roll back on
any error, so an act that is refused leaves nothing half-saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.toolkit import (
    NotYourTurn,
    OrgUnit,
    Person,
    Principal,
    StaleVersion,
    WorkflowInstance,
    audit,
    emit,
    gettext,
    sign_document,
    verify_signature,
    workflow_act,
    workflow_instance_for,
    workflow_open_task_for,
    workflow_start,
    workflow_withdraw,
)
from portlets.documents import numbering, sealing
from portlets.documents.errors import Conflict, Invalid
from portlets.documents.models import Document, Incoming, Reading

OUTGOING, INCOMING = "outgoing_document", "incoming_document"
SUBJECT_DOC, SUBJECT_INCOMING = "document", "incoming"
CATEGORIES = ("通知", "通报", "请示", "报告", "函", "决定", "纪要")
RETENTIONS = ("10年", "30年", "永久")
MAX_TITLE, MAX_BODY = 200, 50_000
FINISHED = "done"


@dataclass
class DraftForm:
    title: str = ""
    doc_type: str = "JY"
    category: str = "通知"
    retention: str = "30年"
    body: str = ""
    countersign_units: tuple[int, ...] = ()
    recipient_units: tuple[int, ...] = ()


def _unit_ids(db: Session, raw: tuple[int, ...]) -> list[int]:
    wanted = list(dict.fromkeys(raw))
    found = set(db.scalars(select(OrgUnit.id).where(OrgUnit.id.in_(wanted))))
    return [u for u in wanted if u in found]


def check_draft(db: Session, form: DraftForm) -> dict[str, str]:
    """Field errors of a draft (empty when it is fine)."""
    errors: dict[str, str] = {}
    if not form.title.strip() or len(form.title) > MAX_TITLE:
        errors["title"] = gettext("Give a title of at most %(n)d characters.", n=MAX_TITLE)
    if not form.body.strip() or len(form.body) > MAX_BODY:
        errors["body"] = gettext("Write the text (at most %(n)d characters).", n=MAX_BODY)
    if form.doc_type not in numbering.DOC_TYPES:
        errors["doc_type"] = gettext("Choose a document type.")
    if form.category not in CATEGORIES:
        errors["category"] = gettext("Choose a category.")
    if form.retention not in RETENTIONS:
        errors["retention"] = gettext("Choose a retention period.")
    if len(_unit_ids(db, form.countersign_units)) != len(set(form.countersign_units)):
        errors["countersign_units"] = gettext("Unknown unit.")
    recipients = _unit_ids(db, form.recipient_units)
    if not recipients or len(recipients) != len(set(form.recipient_units)):
        errors["recipient_units"] = gettext("Choose at least one recipient unit.")
    return errors


def create(db: Session, me: Principal, form: DraftForm,
           now: datetime | None = None) -> Document:
    """A new draft, with its 发文 workflow started (the draft step is the drafter's)."""
    errors = check_draft(db, form)
    if errors:
        raise Invalid(gettext("Please correct the marked fields."), errors)
    if me.org_unit_id is None:
        raise Invalid(gettext("You belong to no unit, so you cannot issue documents."))
    now = now or datetime.now()
    doc = Document(title=form.title.strip(), doc_type=form.doc_type, category=form.category,
                   retention=form.retention, body=form.body, drafter_id=me.person_id,
                   unit_id=me.org_unit_id, countersign_units=list(form.countersign_units),
                   recipient_units=list(form.recipient_units), stage="draft",
                   created_at=now, updated_at=now)
    db.add(doc)
    db.flush()
    inst = workflow_start(db, OUTGOING, subject_type=SUBJECT_DOC, subject_id=doc.id,
                          initiator=me.person_id, data=_doc_data(doc), now=now)
    doc.instance_id = inst.id
    db.flush()
    return doc


def _doc_data(doc: Document) -> dict[str, Any]:
    return {"title": doc.title, "countersign_units": list(doc.countersign_units or []),
            "recipient_units": list(doc.recipient_units or [])}


def update_draft(db: Session, me: Principal, doc: Document, form: DraftForm,
                 expected_version: int) -> Document:
    """The drafter changes the text while the draft step is theirs (new or returned)."""
    inst = _instance(db, doc.instance_id)
    task = workflow_open_task_for(db, inst.id, me.person_id)
    if task is None or task.step != "draft":
        raise NotYourTurn(gettext("Only the drafter can change a draft, while it is theirs."))
    if inst.version != expected_version:
        raise StaleVersion(gettext("Somebody acted on this in the meantime; reload the page "
                                   "and look again."))
    errors = check_draft(db, form)
    if errors:
        raise Invalid(gettext("Please correct the marked fields."), errors)
    doc.title, doc.doc_type, doc.category = form.title.strip(), form.doc_type, form.category
    doc.retention, doc.body = form.retention, form.body
    doc.countersign_units = list(form.countersign_units)
    doc.recipient_units = list(form.recipient_units)
    doc.updated_at = datetime.now()
    inst.data = {**inst.data, **_doc_data(doc)}  # the conditions read it; bumps the version
    db.flush()
    return doc


def _instance(db: Session, instance_id: int | None) -> WorkflowInstance:
    inst = db.get(WorkflowInstance, instance_id) if instance_id else None
    if inst is None:
        raise Conflict(gettext("This document has no workflow."))
    return inst


def _stage(inst: WorkflowInstance) -> str:
    return inst.current_steps[0] if inst.current_steps else FINISHED


def act_outgoing(db: Session, me: Principal, doc: Document, action: str, *,
                 expected_version: int, comment: str = "",
                 now: datetime | None = None) -> WorkflowInstance:
    """*me* approves or returns the document at their step; on approval the step's own work
    is done first, in the same transaction (number, seal, dispatch, archive)."""
    now = now or datetime.now()
    inst = _instance(db, doc.instance_id)
    task = workflow_open_task_for(db, inst.id, me.person_id)
    if task is None:
        raise NotYourTurn(gettext("It is not your turn on this document."))
    if inst.version != expected_version:
        raise StaleVersion(gettext("Somebody acted on this in the meantime; reload the page "
                                   "and look again."))
    if action == "approve":
        _step_work(db, me, doc, task.step, now)
    inst = workflow_act(db, task.id, me.person_id, action, expected_version=expected_version,
                        comment=comment, data=_doc_data(doc), now=now)
    doc.stage = _stage(inst) if inst.status == "running" else "archived"
    doc.updated_at = now
    db.flush()
    return inst


def withdraw_outgoing(db: Session, me: Principal, doc: Document, *,
                      expected_version: int) -> WorkflowInstance:
    inst = workflow_withdraw(db, _instance(db, doc.instance_id).id, me.person_id,
                             expected_version=expected_version)
    doc.stage = _stage(inst)
    doc.updated_at = datetime.now()
    db.flush()
    return inst


def _unit_name(db: Session, unit_id: int) -> str:
    unit = db.get(OrgUnit, unit_id)
    return unit.name if unit else ""


def _step_work(db: Session, me: Principal, doc: Document, step: str, now: datetime) -> None:
    if step == "draft":
        errors = check_draft(db, _form_of(doc))
        if errors:
            raise Invalid(gettext("The draft is incomplete: %(fields)s.",
                                  fields=", ".join(errors.values())), errors)
    elif step == "numbering":
        number = numbering.take_number(db, doc, now.year)
        audit(db, "documents.number", str(doc.id), number=number)
    elif step == "seal":
        seal(db, doc, now)
    elif step == "dispatch":
        dispatch(db, me, doc, now)
    elif step == "archive":
        doc.archived_at = now
        emit(db, "document.archived", source="documents", title=doc.title,
             number=doc.number or "", year=doc.year or now.year, category=doc.category,
             retention=doc.retention, issuing_unit_id=doc.unit_id, body=doc.body,
             url=f"/documents/{doc.id}", document_id=doc.id,
             allowed_unit_ids=sorted({doc.unit_id, *(doc.recipient_units or []),
                                      *(doc.countersign_units or [])}))


def _form_of(doc: Document) -> DraftForm:
    return DraftForm(title=doc.title, doc_type=doc.doc_type, category=doc.category,
                     retention=doc.retention, body=doc.body,
                     countersign_units=tuple(doc.countersign_units or ()),
                     recipient_units=tuple(doc.recipient_units or ()))


def seal(db: Session, doc: Document, now: datetime) -> None:
    """印制用印: render the final file and sign it with the issuing unit's certificate."""
    if not doc.number:
        raise Conflict(gettext("A document is sealed after it is numbered."))
    data = sealing.render(doc, _unit_name(db, doc.unit_id))
    signature = sign_document(db, doc.unit_id, data)
    info = verify_signature(db, signature, data)
    doc.sealed_file, doc.file_sha256, doc.signature = data, sealing.digest(data), signature
    doc.signer_subject, doc.signer_serial, doc.signed_at = info.signer_subject, info.serial, now
    audit(db, "documents.seal", str(doc.id), number=doc.number, serial=info.serial)


def dispatch(db: Session, me: Principal, doc: Document, now: datetime) -> list[Incoming]:
    """核发: the document arrives in every recipient unit's 收文, each with its own flow."""
    if not doc.signature:
        raise Conflict(gettext("A document is dispatched after it is sealed."))
    doc.dispatched_at = now
    records = []
    for unit_id in doc.recipient_units or []:
        inc = Incoming(document_id=doc.id, unit_id=unit_id, stage="receive", received_at=now)
        db.add(inc)
        db.flush()
        inst = workflow_start(db, INCOMING, subject_type=SUBJECT_INCOMING, subject_id=inc.id,
                              initiator=me.person_id, now=now,
                              data={"title": doc.title, "unit_id": unit_id,
                                    "document_id": doc.id})
        inc.instance_id = inst.id
        records.append(inc)
    db.flush()
    return records


# -- incoming ---------------------------------------------------------------------------------


def unit_people(db: Session, unit_id: int) -> list[Person]:
    return list(db.scalars(select(Person).where(Person.org_unit_id == unit_id,
                                                Person.active.is_(True))
                           .order_by(Person.username)))


def act_incoming(db: Session, me: Principal, inc: Incoming, action: str, *,
                 expected_version: int, comment: str = "", form: Mapping[str, Any] | None = None,
                 now: datetime | None = None) -> WorkflowInstance:
    """One step of 收文. 批办 names the handler (someone of the unit), 承办 the readers."""
    now = now or datetime.now()
    form = form or {}
    inst = _instance(db, inc.instance_id)
    task = workflow_open_task_for(db, inst.id, me.person_id)
    if task is None:
        raise NotYourTurn(gettext("It is not your turn on this document."))
    if inst.version != expected_version:
        raise StaleVersion(gettext("Somebody acted on this in the meantime; reload the page "
                                   "and look again."))
    data: dict[str, Any] = {}
    if action == "approve":
        members = {p.id for p in unit_people(db, inc.unit_id)}
        if task.step == "register":
            inc.reg_no = f"收〔{now.year}〕{inc.id}号"
        elif task.step == "instruct":
            handler = _int(form.get("handler_id"))
            if handler not in members:
                raise Invalid(gettext("Choose the handler among the people of the unit."),
                              {"handler_id": gettext("Choose a handler.")})
            data["handler_id"] = handler
        elif task.step == "handle":
            readers = [r for r in (_int(x) for x in form.get("readers") or ()) if r]
            if any(r not in members for r in readers):
                raise Invalid(gettext("Readers must be people of the unit."),
                              {"readers": gettext("Unknown reader.")})
            data["readers"] = list(dict.fromkeys(readers))
        elif task.step == "close":
            inc.finished_at = now
    inst = workflow_act(db, task.id, me.person_id, action, expected_version=expected_version,
                        comment=comment, data=data, now=now)
    inc.stage = _stage(inst)
    db.flush()
    return inst


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def record_reading(db: Session, inc: Incoming, person_id: int,
                   now: datetime | None = None) -> None:
    """Remember the first time *person_id* opened *inc* (idempotent)."""
    seen = db.scalar(select(Reading.id).where(Reading.incoming_id == inc.id,
                                              Reading.person_id == person_id))
    if seen is None:
        try:
            with db.begin_nested():  # two tabs opened at once: the second insert is a no-op
                db.add(Reading(incoming_id=inc.id, person_id=person_id,
                               read_at=now or datetime.now()))
        except IntegrityError:
            pass


def incoming_of_document(db: Session, doc: Document) -> list[Incoming]:
    return list(db.scalars(select(Incoming).where(Incoming.document_id == doc.id)
                           .order_by(Incoming.id)))


def instance_of(db: Session, subject_type: str, subject_id: int) -> WorkflowInstance | None:
    return workflow_instance_for(db, subject_type, subject_id)
