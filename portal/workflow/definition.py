"""Workflow definitions: YAML files, one per form type, read and checked at start-up.

A definition is a list of steps; each step says who acts (an assignee rule), whether one person
acts or everybody must (``countersign``), its time limit, where it goes next (optionally under
conditions) and where a rejection returns to. ``load`` refuses a file with an unknown step, an
unreachable step, a bad assignee rule or a bad condition, naming the file and the step, so a
mistake shows at start-up and not in the middle of somebody's document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from portal.workflow.expr import Expression, ExpressionError, parse

END = "end"
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
LIMIT_RE = re.compile(r"^(\d+)\s*([dhm])$")
UNIT_SCOPES = ("initiator", "initiator.parent")
ASSIGNEE_KEYS = {"initiator", "post", "role", "unit", "person", "each", "manages",
                 "exclude_initiator", "fallback"}


class DefinitionError(ValueError):
    """A workflow definition file is wrong; the message names the file and the step."""


@dataclass(frozen=True)
class Assignee:
    """Who acts on a step.

    ``initiator``: the person who started the instance. ``person``: a data key holding a
    person id or a list of them. Otherwise people holding ``post`` (and/or a post granting
    ``role``), in ``unit``: ``initiator`` (the initiator's unit), ``initiator.parent``,
    ``data:<key>`` (unit id or ids named in the instance data) or a unit code; no unit means
    anywhere. ``manages`` keeps only the heads of those units. ``each`` (``unit`` or
    ``person``) splits a countersign into one group per unit or per person.

    ``exclude_initiator`` keeps the initiator out of the step (a department head asking for
    leave must not approve it): with ``unit: initiator`` or ``initiator.parent`` the search
    then climbs to the parent unit, and its parent, until someone else holds the post. If
    that still leaves nobody, ``fallback`` (another rule, e.g. ``{post: leader}``) is tried;
    without one the engine refuses the transition (422) and nothing is written.
    """

    initiator: bool = False
    post: str | None = None
    role: str | None = None
    unit: str | None = None
    person: str | None = None
    each: str | None = None
    manages: bool = False
    exclude_initiator: bool = False
    fallback: Assignee | None = None


@dataclass(frozen=True)
class Transition:
    to: str
    when: Expression | None = None


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    name_en: str
    assignee: Assignee
    countersign: bool = False
    time_limit: timedelta | None = None
    next: tuple[Transition, ...] = ()
    return_to: str | None = None
    #: Whether the assignee may refuse (不同意): the instance ends with outcome "refused".
    refusable: bool = False
    #: What the "approve" button says on this step (签发, 编号...), for the pages.
    approve_label: str = ""
    approve_label_en: str = ""


@dataclass(frozen=True)
class Definition:
    id: str
    title: str
    title_en: str
    steps: dict[str, Step]
    first: str
    #: Path of the page where an assignee acts, ``{subject_id}`` replaced; for notifications.
    link: str = ""
    source: str = ""
    order: tuple[str, ...] = field(default=())

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]

    def next_step(self, step_id: str, data: Mapping[str, Any]) -> str:
        """The step after *step_id* for this data: the first transition whose condition holds
        (one without a condition always holds)."""
        for transition in self.steps[step_id].next:
            if transition.when is None or transition.when.evaluate(data):
                return transition.to
        return END


def _fail(source: str, where: str, message: str) -> DefinitionError:
    return DefinitionError(f"{source}: {where}: {message}")


def _time_limit(raw: Any, source: str, where: str) -> timedelta | None:
    if raw is None:
        return None
    m = LIMIT_RE.match(str(raw).strip())
    if not m:
        raise _fail(source, where, f"time_limit {raw!r} is not like 3d, 8h or 30m")
    amount, unit = int(m.group(1)), m.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount),
            "m": timedelta(minutes=amount)}[unit]


def _assignee(raw: Any, source: str, where: str) -> Assignee:
    if not isinstance(raw, Mapping) or not raw:
        raise _fail(source, where, "assignee must be a mapping such as {post: office}")
    unknown = set(raw) - ASSIGNEE_KEYS
    if unknown:
        raise _fail(source, where, f"unknown assignee key(s) {', '.join(sorted(unknown))}; "
                                   f"use {', '.join(sorted(ASSIGNEE_KEYS))}")
    rule = Assignee(initiator=bool(raw.get("initiator")), post=raw.get("post"),
                    role=raw.get("role"), unit=raw.get("unit"), person=raw.get("person"),
                    each=raw.get("each"), manages=bool(raw.get("manages")),
                    exclude_initiator=bool(raw.get("exclude_initiator")),
                    fallback=(_assignee(raw["fallback"], source, f"{where} fallback")
                              if raw.get("fallback") is not None else None))
    if not (rule.initiator or rule.post or rule.role or rule.person or rule.manages):
        raise _fail(source, where, "assignee names nobody: give initiator, post, role, "
                                   "manages or person")
    if rule.initiator and (rule.post or rule.role or rule.person):
        raise _fail(source, where, "assignee 'initiator' cannot be combined with others")
    if rule.initiator and (rule.exclude_initiator or rule.fallback):
        raise _fail(source, where, "assignee 'initiator' cannot exclude the initiator or "
                                   "have a fallback")
    if rule.fallback is not None and rule.fallback.each:
        raise _fail(source, where, "assignee fallback cannot split (each)")
    if rule.person is not None and not str(rule.person).startswith("data:"):
        raise _fail(source, where, "assignee person must be data:<key>")
    if rule.unit is not None and rule.unit not in UNIT_SCOPES and \
            not str(rule.unit).startswith("data:") and not str(rule.unit).strip():
        raise _fail(source, where, f"bad assignee unit {rule.unit!r}")
    if rule.each not in (None, "unit", "person"):
        raise _fail(source, where, f"assignee each must be unit or person, not {rule.each!r}")
    return rule


def _transitions(raw: Any, source: str, where: str) -> tuple[Transition, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (Transition(raw),)
    if not isinstance(raw, list):
        raise _fail(source, where, "next must be a step id or a list of {to, when}")
    out = []
    for entry in raw:
        if isinstance(entry, str):
            out.append(Transition(entry))
            continue
        if not isinstance(entry, Mapping) or "to" not in entry:
            raise _fail(source, where, f"bad transition {entry!r}: use {{to: step, when: …}}")
        when = None
        if entry.get("when") is not None:
            try:
                when = parse(str(entry["when"]))
            except ExpressionError as exc:
                raise _fail(source, where, f"bad condition: {exc}") from None
        out.append(Transition(str(entry["to"]), when))
    return tuple(out)


def from_mapping(raw: Any, source: str = "<definition>") -> Definition:
    """Build and check a definition from parsed YAML."""
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{source}: a definition must be a mapping")
    def_id = str(raw.get("id") or "")
    if not ID_RE.match(def_id):
        raise DefinitionError(f"{source}: id {def_id!r} must be lower-case letters, digits, _")
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise DefinitionError(f"{source}: steps must be a non-empty list")
    steps: dict[str, Step] = {}
    order: list[str] = []
    for index, s in enumerate(steps_raw):
        if not isinstance(s, Mapping):
            raise DefinitionError(f"{source}: step #{index + 1} must be a mapping")
        sid = str(s.get("id") or "")
        where = f"step {sid or '#' + str(index + 1)}"
        if not ID_RE.match(sid) or sid == END:
            raise _fail(source, where, "id must be lower-case letters, digits, _ (not 'end')")
        if sid in steps:
            raise _fail(source, where, "duplicate step id")
        transitions = _transitions(s.get("next"), source, where)
        if not transitions and index + 1 < len(steps_raw):
            nxt = steps_raw[index + 1]
            transitions = (Transition(str(nxt.get("id") if isinstance(nxt, Mapping) else "")),)
        elif not transitions:
            transitions = (Transition(END),)
        if transitions[-1].when is not None:
            transitions = (*transitions, Transition(END))
        steps[sid] = Step(
            id=sid, name=str(s.get("name") or sid), name_en=str(s.get("name_en") or sid),
            assignee=_assignee(s.get("assignee"), source, where),
            countersign=bool(s.get("countersign")),
            time_limit=_time_limit(s.get("time_limit"), source, where),
            next=transitions, return_to=s.get("return_to"), refusable=bool(s.get("refuse")),
            approve_label=str(s.get("approve_label") or ""),
            approve_label_en=str(s.get("approve_label_en") or ""))
        order.append(sid)
    position = {sid: i for i, sid in enumerate(order)}
    for step in steps.values():
        where = f"step {step.id}"
        for t in step.next:
            if t.to != END and t.to not in steps:
                raise _fail(source, where, f"next names unknown step {t.to!r}")
        if step.return_to is not None:
            if step.return_to not in steps:
                raise _fail(source, where, f"return_to names unknown step {step.return_to!r}")
            if position[step.return_to] >= position[step.id]:
                raise _fail(source, where, "return_to must name an earlier step")
        if step.assignee.each and not step.countersign:
            raise _fail(source, where, "assignee each is only for countersign steps")
    reachable = {order[0]}
    todo = [order[0]]
    while todo:
        for t in steps[todo.pop()].next:
            if t.to != END and t.to not in reachable:
                reachable.add(t.to)
                todo.append(t.to)
    unreachable = [sid for sid in order if sid not in reachable]
    if unreachable:
        raise DefinitionError(f"{source}: unreachable step(s): {', '.join(unreachable)}")
    return Definition(id=def_id, title=str(raw.get("title") or def_id),
                      title_en=str(raw.get("title_en") or def_id), steps=steps,
                      first=order[0], link=str(raw.get("link") or ""), source=source,
                      order=tuple(order))


def load_file(path: Path) -> Definition:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"{path}: cannot read: {exc}") from None
    return from_mapping(raw, str(path))


def load(paths: Iterable[str | Path]) -> list[Definition]:
    """Every definition in *paths* (files, or directories of ``*.yaml``)."""
    out: list[Definition] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            out.extend(load_file(p) for p in sorted(path.glob("*.yaml")))
        elif path.is_file():
            out.append(load_file(path))
        else:
            raise DefinitionError(f"{path}: no such workflow definition file or directory")
    return out
