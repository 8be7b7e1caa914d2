"""A plugin whose indicators misbehave: one raises, one returns NaN, one a share above 1, one
something that is not a Value. Used by test_isolation.py (registered through PLUGINS)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from portal.toolkit import Indicator, Period, Value, hookimpl


def _raises(session: Any, period: Period) -> Iterable[Value]:
    raise RuntimeError("source database is gone")


def _nan(session: Any, period: Period) -> Iterable[Value]:
    return [Value("city", 1, float("nan"))]


def _too_big(session: Any, period: Period) -> Iterable[Value]:
    return [Value("unit", 2, 0.5), Value("city", 1, 1.7)]


def _junk(session: Any, period: Period) -> Iterable[Any]:
    return ["seventeen"]


@hookimpl
def portal_indicators(app: Any) -> Iterable[Any]:
    return [
        Indicator("bad_raises", "Raises", "%", "-", "-", _raises),
        Indicator("bad_nan", "NaN", "", "-", "-", _nan),
        Indicator("bad_share", "Share above one", "%", "-", "-", _too_big, bounded=True),
        Indicator("bad_junk", "Junk", "", "-", "-", _junk),
        "not an indicator",
    ]
