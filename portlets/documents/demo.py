"""Demo documents in different states: one dispatched to two units (waiting to be archived,
海盐 has signed for it), one waiting for the leader's sign-off, one draft."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Person, Principal, WorkflowError, WorkflowInstance
from portlets.documents import service
from portlets.documents.errors import DocumentError
from portlets.documents.models import Document, Incoming

log = logging.getLogger(__name__)
START = datetime(2026, 11, 20, 9, 0)

BODY = """各县（市、区）局（营销部）、市局（公司）各部门：
为进一步规范卷烟市场经营秩序，根据省局工作部署，决定在全市范围内开展{topic}。现将有关事项通知如下：
一、工作目标。以问题为导向，全面排查零售户经营中的突出问题，确保专项工作取得实效。
二、工作安排。各单位要结合实际制定实施方案，明确责任人和时间节点，于月底前报送工作进展。
三、工作要求。各单位要高度重视，加强组织领导，确保各项措施落到实处。
特此通知。"""


def _principal(s: Session, username: str) -> Principal | None:
    p = s.scalars(select(Person).where(Person.username == username)).first()
    if p is None:
        return None
    return Principal(person_id=p.id, username=p.username, display_name=p.display_name,
                     org_unit_id=p.org_unit_id)


def _unit(s: Session, code: str) -> int | None:
    return s.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def _act(s: Session, doc: Document, username: str, at: datetime, comment: str = "") -> None:
    me = _principal(s, username)
    inst = s.get(WorkflowInstance, doc.instance_id)
    assert me is not None and inst is not None
    service.act_outgoing(s, me, doc, "approve", expected_version=inst.version,
                         comment=comment, now=at)


def generate(s: Session, seed: int) -> None:
    """Uses the demo organisation's fixed user names; does nothing when they are missing."""
    drafter = _principal(s, "kehu01")
    units = {code: _unit(s, code) for code in ("JX-SQ-ZM", "JX-HY-YX", "JX-HN-YX")}
    if drafter is None or None in units.values() or \
            s.scalar(select(Document.id).limit(1)) is not None:
        return
    try:
        _generate(s, drafter, units)  # type: ignore[arg-type]
    except (WorkflowError, DocumentError) as exc:  # e.g. no CA: keep what could be made
        log.warning("demo documents stopped early: %s", getattr(exc, "message", exc))


def _generate(s: Session, drafter: Principal, units: dict[str, int]) -> None:
    at = START
    first = service.create(s, drafter, service.DraftForm(
        title="关于开展卷烟市场专项检查的通知", doc_type="JY", category="通知",
        retention="30年", body=BODY.format(topic="卷烟市场专项检查"),
        countersign_units=(units["JX-SQ-ZM"],),
        recipient_units=(units["JX-HY-YX"], units["JX-HN-YX"])), now=at)
    chain = [("kehu01", "请审核"), ("bumen01", "同意"), ("bangong01", "文字已核"),
             ("bumen02", "会签同意"), ("lingdao01", "同意签发"), ("bangong01", "复核无误"),
             ("bangong01", ""), ("bangong01", ""), ("bangong01", "")]
    for username, comment in chain:
        at += timedelta(hours=3)
        _act(s, first, username, at, comment)
    incoming = s.scalars(select(Incoming).where(Incoming.document_id == first.id)
                         .order_by(Incoming.id)).first()
    receiver = _principal(s, "bumen07")  # head of 海盐营销部
    if incoming is not None and receiver is not None:
        inst = s.get(WorkflowInstance, incoming.instance_id)
        if inst is not None and receiver.person_id in _holders(s, inst.id):
            service.act_incoming(s, receiver, incoming, "approve",
                                 expected_version=inst.version, now=at + timedelta(hours=1))

    second = service.create(s, drafter, service.DraftForm(
        title="关于调整城区卷烟送货线路的请示", doc_type="JYB", category="请示",
        retention="10年", body=BODY.format(topic="送货线路优化调整"),
        recipient_units=(units["JX-HN-YX"],)), now=START + timedelta(days=3))
    at = START + timedelta(days=3)
    for username in ("kehu01", "bumen01", "bangong01"):
        at += timedelta(hours=2)
        _act(s, second, username, at)

    service.create(s, drafter, service.DraftForm(
        title="关于做好节日期间安全生产工作的通知", doc_type="JY", category="通知",
        retention="10年", body=BODY.format(topic="节日期间安全生产检查"),
        recipient_units=(units["JX-HY-YX"],)), now=START + timedelta(days=5))


def _holders(s: Session, instance_id: int) -> set[int]:
    from portal.toolkit import WorkflowTask

    return set(s.scalars(select(WorkflowTask.assignee_id).where(
        WorkflowTask.instance_id == instance_id, WorkflowTask.status == "open")))
