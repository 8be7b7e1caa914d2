"""The state machine declared in portlets/collab/states.py: every illegal pair is refused."""

from __future__ import annotations

import itertools

import pytest
from flask import Flask

from portlets.collab.states import (
    TRANSITIONS,
    Action,
    IllegalTransition,
    Role,
    State,
    actions_for,
    check,
)


def test_every_action_is_declared_once_with_a_real_target() -> None:
    assert set(TRANSITIONS) == set(Action)
    for t in TRANSITIONS.values():
        assert t.sources and t.roles
        assert t.target is None or t.target in State


@pytest.mark.parametrize("action, state", [
    (a, s) for a, s in itertools.product(Action, State) if s not in TRANSITIONS[a].sources])
def test_illegal_transitions_are_refused_with_a_message(app: Flask, action: Action,
                                                        state: State) -> None:
    with app.test_request_context(), pytest.raises(IllegalTransition) as info:
        check(action, state, set(Role))
    assert info.value.state == state and str(info.value)


@pytest.mark.parametrize("action", list(Action))
def test_wrong_role_is_refused(app: Flask, action: Action) -> None:
    t = TRANSITIONS[action]
    source = next(iter(t.sources))
    others = set(Role) - t.roles
    with app.test_request_context():
        assert check(action, source, set(t.roles)) == (t.target or source)
        with pytest.raises(IllegalTransition, match="cannot"):
            check(action, source, others)


def test_archived_items_allow_nothing() -> None:
    assert actions_for(State.ARCHIVED, set(Role)) == []


def test_a_participant_alone_may_only_look() -> None:
    assert all(actions_for(s, {Role.PARTICIPANT}) == [] for s in State)
