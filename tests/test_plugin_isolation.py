"""A plugin that is half broken is wholly left out; the portal still starts."""

from __future__ import annotations

import pytest

from portal.plugins import PluginStartupError
from tests.conftest import make_app
from tests.plugins.half_broken import BadSignature, ClashingBlueprint, FailsInBackends


def test_plugin_failing_in_a_later_hook_loses_its_portlets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(f"sqlite:///{tmp_path}/p.db", PLUGINS=[("half", FailsInBackends())])
    state = app.extensions["portal"]
    assert "half" not in state.portlets
    info = {p.name: p for p in state.plugins.listing()}["half"]
    assert info.state == "broken" and "backend registration failed" in info.error
    assert "notices" in state.portlets  # everyone else is fine


def test_clashing_blueprint_breaks_only_its_plugin(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(f"sqlite:///{tmp_path}/p.db", PLUGINS=[("clash", ClashingBlueprint())])
    state = app.extensions["portal"]
    assert "clash" not in state.portlets
    assert {p.name: p.state for p in state.plugins.listing()}["clash"] == "broken"
    assert app.test_client().get("/login").status_code == 200


def test_hook_with_unknown_arguments_stops_start_up(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PluginStartupError, match="bad"):
        make_app(f"sqlite:///{tmp_path}/p.db", PLUGINS=[("bad", BadSignature())])
