"""The approval chains as this plugin wrote them (``workflows/*.yaml``, run by the portal's
workflow engine): which definition a kind of request uses, and the steps to show on a form
before anything is submitted."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent / "workflows"
KINDS = ("leave", "purchase", "generic")
APPLY = "apply"  # the applicant's own step: submitting, and where returns land


@dataclass(frozen=True)
class StepInfo:
    id: str
    name: str
    when: str


@dataclass(frozen=True)
class Chain:
    definition_id: str
    title: str
    steps: tuple[StepInfo, ...]


def definition_id(kind: str) -> str:
    return f"approvals_{kind}"


@cache
def chains() -> dict[str, Chain]:
    """Each kind's steps after the applicant's, with the condition that brings them in."""
    out = {}
    for kind in KINDS:
        raw = yaml.safe_load((HERE / f"{kind}.yaml").read_text(encoding="utf-8"))
        conditions: dict[str, str] = {}
        for step in raw["steps"]:
            for t in step.get("next") or []:
                if isinstance(t, dict) and t.get("when"):
                    conditions[str(t["to"])] = str(t["when"])
        steps = tuple(StepInfo(str(s["id"]), str(s["name"]), conditions.get(str(s["id"]), ""))
                      for s in raw["steps"] if s["id"] != APPLY)
        out[kind] = Chain(raw["id"], raw["title"], steps)
    return out


def step_names(kind: str) -> dict[str, str]:
    names = {s.id: s.name for s in chains()[kind].steps}
    names[APPLY] = "申请人提交"
    return names
