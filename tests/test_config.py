"""Layered configuration: defaults → file → PORTAL_* environment → create_app()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portal.config import SETTINGS, ConfigError, load, masked


def test_defaults_then_file_then_env(tmp_path: Path) -> None:
    cfg = tmp_path / "portal.toml"
    cfg.write_text('portlet_timeout = 3\nredis_url = "redis://127.0.0.1:6379/3"\n')
    values, origin = load(environ={"PORTAL_CONFIG_FILE": str(cfg),
                                   "PORTAL_PORTLET_TIMEOUT": "1.5",
                                   "PORTAL_DISABLED_PLUGINS": "a, b"})
    assert values["PORTLET_TIMEOUT"] == 1.5 and origin["PORTLET_TIMEOUT"] == "environment"
    assert values["REDIS_URL"].endswith("/3") and origin["REDIS_URL"].startswith("file")
    assert values["DISABLED_PLUGINS"] == ["a", "b"]
    assert values["BREAKER_THRESHOLD"] == 3 and origin["BREAKER_THRESHOLD"] == "default"


def test_overrides_win() -> None:
    values, origin = load({"PORTLET_CACHE": False}, environ={"PORTAL_PORTLET_CACHE": "true"})
    assert values["PORTLET_CACHE"] is False and origin["PORTLET_CACHE"] == "create_app()"


@pytest.mark.parametrize("env, message", [
    ({"PORTAL_NO_SUCH_KEY": "1"}, "NO_SUCH_KEY: unknown"),
    ({"PORTAL_BREAKER_THRESHOLD": "many"}, "BREAKER_THRESHOLD"),
    ({"PORTAL_PORTLET_CACHE": "perhaps"}, "not a boolean"),
    ({"PORTAL_CONFIG_FILE": "/nonexistent/portal.toml"}, "cannot read"),
])
def test_bad_values_name_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(environ=env)


def test_every_setting_is_documented_once() -> None:
    keys = [s.key for s in SETTINGS]
    assert len(keys) == len(set(keys))
    assert all(s.help.strip() for s in SETTINGS)


def test_secrets_and_url_passwords_are_masked() -> None:
    assert masked("SECRET_KEY", "abc") == "********"
    assert masked("DATABASE_URL", "postgresql://u:pw@h/db") == "postgresql://u:********@h/db"


def test_portal_config_command_lists_keys(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["config", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in json.loads(result.output)}
    assert rows["SECRET_KEY"]["value"] == "********"
    assert rows["PORTLET_TIMEOUT"]["type"] == "float"


def test_cli_bad_config_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [str(Path(sys.executable).with_name("portal")), "config"],
        env={"PATH": "/usr/bin:/bin", "PORTAL_BREAKER_THRESHOLD": "x",
             "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "BREAKER_THRESHOLD" in proc.stderr
    assert "Traceback" not in proc.stderr
