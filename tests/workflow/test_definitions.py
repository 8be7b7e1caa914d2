"""Definition files are checked at start-up, and the condition language never runs code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portal.workflow import expr
from portal.workflow.definition import DefinitionError, from_mapping
from tests.workflow.conftest import wf_make_app


def _steps(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"id": "t", "steps": list(steps)}


DRAFT = {"id": "draft", "assignee": {"initiator": True}}


@pytest.mark.parametrize(("raw", "message"), [
    (_steps(DRAFT, {"id": "b", "assignee": {"post": "office"}, "next": "nowhere"}),
     "unknown step 'nowhere'"),
    (_steps({**DRAFT, "next": "end"}, {"id": "b", "assignee": {"post": "office"}}),
     "unreachable step(s): b"),
    (_steps(DRAFT, {"id": "b", "assignee": {"boss": "yes"}}), "unknown assignee key(s) boss"),
    (_steps(DRAFT, {"id": "b", "assignee": {}}), "assignee must be a mapping"),
    (_steps(DRAFT, {"id": "b", "assignee": {"person": "zhang"}}), "data:<key>"),
    (_steps(DRAFT, {"id": "b", "assignee": {"post": "x"}, "next": [
        {"to": "end", "when": "amount >"}]}), "bad condition"),
    (_steps(DRAFT, {"id": "b", "assignee": {"post": "x"}, "time_limit": "soon"}),
     "time_limit 'soon'"),
    (_steps(DRAFT, {"id": "b", "assignee": {"post": "x"}, "return_to": "b"}),
     "earlier step"),
    (_steps(DRAFT, {"id": "b", "assignee": {"post": "x", "each": "unit"}}),
     "only for countersign"),
    (_steps(DRAFT, DRAFT), "duplicate step id"),
    ({"id": "Bad Id", "steps": [DRAFT]}, "id 'Bad Id'"),
])
def test_bad_definitions_are_refused_with_the_place(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as exc:
        from_mapping(raw, "forms/t.yaml")
    assert "forms/t.yaml" in str(exc.value) and message in str(exc.value)


def test_a_plugin_with_a_bad_definition_is_broken_not_the_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nsteps:\n  - id: a\n    assignee: {initiator: true}\n    next: zz\n",
                   encoding="utf-8")
    app = wf_make_app(f"sqlite:///{tmp_path}/p.db", bad)
    pm = app.extensions["portal"].plugins
    assert "wf_test" in pm.broken()
    assert "unknown step 'zz'" in (pm.info["wf_test"].error or "")
    assert "bad" not in app.extensions["portal"].workflows


def test_good_definitions_are_loaded(tmp_path: Path) -> None:
    app = wf_make_app(f"sqlite:///{tmp_path}/p.db")
    d = app.extensions["portal"].workflows["test_request"]
    assert d.order == ("draft", "dept", "leader", "countersign", "office")
    assert d.next_step("dept", {"amount": 6000}) == "leader"
    assert d.next_step("dept", {"amount": 10, "countersign_units": [3]}) == "countersign"
    assert d.next_step("dept", {"countersign_units": []}) == "office"
    assert d.next_step("office", {}) == "end"


@pytest.mark.parametrize(("source", "data", "expected"), [
    ("amount > 5000", {"amount": 6000}, True),
    ("amount > 5000", {"amount": 5000}, False),
    ("amount > 5000", {}, False),  # missing: false, never an error
    ("kind == 'leave' and days >= 3", {"kind": "leave", "days": 3}, True),
    ("not urgent or level in levels", {"urgent": True, "level": "A", "levels": ["A"]}, True),
    ("(a or b) and not c", {"a": 0, "b": 1, "c": False}, True),
    ("form.amount <= 10.5", {"form": {"amount": 10}}, True),
    ('name != "x"', {"name": "x"}, False),
    ("flag == true", {"flag": True}, True),
    ("owner == null", {}, True),
])
def test_the_condition_language(source: str, data: dict[str, Any], expected: bool) -> None:
    assert expr.parse(source).evaluate(data) is expected


@pytest.mark.parametrize("source", [
    "__import__('os').system('true')", "amount > ", "a b", "1 +", "(a", "", "x[0]",
    "open('f')",
])
def test_anything_else_is_not_an_expression(source: str) -> None:
    with pytest.raises(expr.ExpressionError):
        expr.parse(source)
