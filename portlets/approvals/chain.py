"""Approval chains as files: read the YAML definitions in ``workflows/``, decide which steps
apply (``when: "days > 3"``) and who may act at each (``unit_head``, ``post``, ``chosen``).

The definitions have the shape of the portal workflow engine's (issue 8, branch oa-docs):
steps with an assignee rule, a condition and a time limit. Until that engine is merged this
module and ``engine.py`` stand in for it; the definitions move over unchanged.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, PostAssignment, gettext, people_with_posts
from portlets.approvals.errors import Invalid

HERE = Path(__file__).parent / "workflows"
CONDITION = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
       "==": operator.eq, "!=": operator.ne}


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    name_en: str
    rule: str
    post: str = ""
    when: str = ""
    time_limit_hours: float = 24


@dataclass(frozen=True)
class Definition:
    id: str
    name: str
    name_en: str
    steps: tuple[Node, ...]


def _node(raw: dict[str, Any], source: str) -> Node:
    assignee = raw.get("assignee") or {}
    rule = assignee.get("rule", "")
    if rule not in ("unit_head", "post", "chosen"):
        raise ValueError(f"{source}: step {raw.get('id')!r} has an unknown assignee rule "
                         f"{rule!r}")
    when = str(raw.get("when") or "")
    if when and not CONDITION.match(when):
        raise ValueError(f"{source}: step {raw.get('id')!r}: cannot read condition {when!r}")
    return Node(id=str(raw["id"]), name=str(raw["name"]), name_en=str(raw.get("name_en", "")),
                rule=rule, post=str(assignee.get("post", "")), when=when,
                time_limit_hours=float(raw.get("time_limit_hours", 24)))


@cache
def definitions() -> dict[str, Definition]:
    """Every ``workflows/*.yaml``, keyed by the request kind (the file's stem)."""
    out = {}
    for path in sorted(HERE.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[path.stem] = Definition(id=raw["id"], name=raw["name"],
                                    name_en=raw.get("name_en", ""),
                                    steps=tuple(_node(s, path.name) for s in raw["steps"]))
    return out


def applies(node: Node, data: dict[str, Any]) -> bool:
    """``days > 3`` against the request's form data; no condition means always."""
    if not node.when:
        return True
    match = CONDITION.match(node.when)
    assert match is not None  # checked when the file was read
    name, op, number = match.groups()
    value = data.get(name)
    return value is not None and OPS[op](float(value), float(number))


def unit_heads(session: Session, unit_id: int | None, exclude: int) -> list[int]:
    """Who manages *unit_id*, climbing to the parent unit when nobody (else) does."""
    while unit_id is not None:
        heads = [p for p in session.scalars(select(PostAssignment.person_id).where(
            PostAssignment.org_unit_id == unit_id, PostAssignment.manages.is_(True)))
            if p != exclude]
        if heads:
            return sorted(set(heads))
        unit_id = session.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == unit_id))
    return []


@dataclass(frozen=True)
class PlannedStep:
    node: str
    label: str
    candidates: tuple[int, ...]
    time_limit_hours: float


def plan(session: Session, kind: str, data: dict[str, Any], applicant: int,
         unit_id: int | None, chosen: list[int]) -> list[PlannedStep]:
    """The steps this request goes through and who may act at each; a step nobody can take
    is a 422 now rather than a request stuck forever."""
    definition = definitions()[kind]
    steps: list[PlannedStep] = []
    for node in definition.steps:
        if not applies(node, data):
            continue
        if node.rule == "chosen":
            for i, person in enumerate(chosen):
                steps.append(PlannedStep(f"{node.id}{i + 1}", node.name, (person,),
                                         node.time_limit_hours))
            continue
        if node.rule == "unit_head":
            who = unit_heads(session, unit_id, applicant)
        else:
            who = sorted(set(people_with_posts(session, [node.post])) - {applicant})
        if not who:
            raise Invalid(gettext("Nobody can take the step “%(step)s”; ask the office to "
                                  "check the posts.", step=node.name))
        steps.append(PlannedStep(node.id, node.name, tuple(who), node.time_limit_hours))
    if not steps:
        raise Invalid(gettext("Choose at least one approver."))
    return steps
