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


def test_illegal_transitions_are_refused_with_a_message(capp: Flask) -> None:
    """Every (action, state) pair outside the table, even for someone holding every role."""
    illegal = [(a, s) for a, s in itertools.product(Action, State)
               if s not in TRANSITIONS[a].sources]
    assert len(illegal) > 60
    with capp.test_request_context():
        for action, state in illegal:
            with pytest.raises(IllegalTransition, match="not possible") as info:
                check(action, state, set(Role))
            assert info.value.state == state


def test_wrong_role_is_refused(capp: Flask) -> None:
    with capp.test_request_context():
        for action, t in TRANSITIONS.items():
            for source in t.sources:
                assert check(action, source, set(t.roles)) == (t.target or source)
                with pytest.raises(IllegalTransition, match="cannot"):
                    check(action, source, set(Role) - t.roles)


def test_archived_items_allow_nothing() -> None:
    assert actions_for(State.ARCHIVED, set(Role)) == []


def test_a_participant_alone_may_only_look() -> None:
    assert all(actions_for(s, {Role.PARTICIPANT}) == [] for s in State)
