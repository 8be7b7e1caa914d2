"""Portlets that fail on purpose: one raises, one hangs, one counts its renders."""

from __future__ import annotations

import threading
import time

from portal.toolkit import CachePolicy, Portlet, RenderContext, Variance, hookimpl

RENDERS = {"counter": 0}
RELEASE = threading.Event()


def _raise(ctx: RenderContext) -> str:
    raise RuntimeError("boom from the test portlet")


def _hang(ctx: RenderContext) -> str:
    RELEASE.wait(5)
    return "<p>finally</p>"


def _count(ctx: RenderContext) -> str:
    RENDERS["counter"] += 1
    return f"<p>render #{RENDERS['counter']} for {ctx.principal.username}</p>"


def _slow_ok(ctx: RenderContext) -> str:
    time.sleep(0.3)
    return "<p>slow but fine</p>"


@hookimpl
def portal_portlets() -> list[Portlet]:
    return [
        Portlet(id="raiser", title="Raiser", render=_raise, cache=CachePolicy(ttl=0)),
        Portlet(id="hanger", title="Hanger", render=_hang, timeout=0.3,
                cache=CachePolicy(ttl=0)),
        Portlet(id="counter", title="Counter", render=_count,
                cache=CachePolicy(ttl=300, vary=Variance.USER)),
        Portlet(id="slow_ok", title="Slow", render=_slow_ok, timeout=2.0,
                cache=CachePolicy(ttl=0)),
        Portlet(id="leaders_only", title="Leaders", render=_count,
                roles=frozenset({"leader"}), cache=CachePolicy(ttl=0)),
        Portlet(id="below_fold", title="Lazy", render=lambda ctx: "<p>loaded later</p>",
                lazy=True, cache=CachePolicy(ttl=0)),
    ]


FLAKY = {"failures_left": 1}


def _flaky(ctx: RenderContext) -> str:
    if FLAKY["failures_left"] > 0:
        FLAKY["failures_left"] -= 1
        raise RuntimeError("first render fails")
    return "<p class='recovered'>recovered after retry</p>"


class FlakyPlugin:
    """Registered by the browser test: a portlet whose first render fails."""

    @hookimpl
    def portal_portlets(self) -> list[Portlet]:
        return [Portlet(id="flaky", title="Flaky", render=_flaky, cache=CachePolicy(ttl=0))]
