"""Rendering a page's portlet windows: concurrently, each with its own deadline and isolation.

Cached fragments are fetched in one round trip and need no thread. The rest render on a thread
pool; the page waits for each window until its own deadline. A portlet that raises or misses its
deadline becomes a small error box with a retry link, is logged with its id, and counts towards
its circuit breaker: after ``BREAKER_THRESHOLD`` consecutive failures it is not called again
until ``BREAKER_COOLDOWN`` has passed. Counts and timings feed the admin's health page and
``/metrics``; they are per process, as each gunicorn worker has its own breaker.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ALL_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import copy_current_request_context, has_request_context, render_template, request

from portal import metrics
from portal.assurance import current_path, satisfies, step_up_url
from portal.auth import Principal
from portal.cache import FragmentCache, FragmentKey
from portal.portlet import Mode, Portlet, RenderContext, WindowState

log = logging.getLogger(__name__)


@dataclass
class PortletStats:
    renders: int = 0
    errors: int = 0
    timeouts: int = 0
    skipped: int = 0
    cache_hits: int = 0
    consecutive_failures: int = 0
    open_until: float = 0.0
    durations: deque[float] = field(default_factory=lambda: deque(maxlen=2000))

    def percentile(self, q: float) -> float | None:
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def breaker_state(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        if self.open_until > now:
            return "open"
        return "half-open" if self.open_until else "closed"


@dataclass(frozen=True)
class WindowRequest:
    """One window to render: which portlet, with which merged preferences, in which mode."""

    window_id: str
    portlet: Portlet
    preferences: Mapping[str, Any]
    mode: Mode = Mode.VIEW
    state: WindowState = WindowState.NORMAL
    retry_url: str = ""


@dataclass(frozen=True)
class RenderedWindow:
    window_id: str
    html: str
    status: str  # ok | cached | error | timeout | unavailable | lazy | step_up
    etag: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in {"error", "timeout", "unavailable"}


class Aggregator:
    def __init__(self, cache: FragmentCache, settings: Mapping[str, Any]) -> None:
        self.cache = cache
        self.default_timeout = float(settings["PORTLET_TIMEOUT"])
        self.timeout_scale = float(settings["PORTLET_TIMEOUT_SCALE"])
        self.threshold = int(settings["BREAKER_THRESHOLD"])
        self.cooldown = float(settings["BREAKER_COOLDOWN"])
        self.threads = int(settings["RENDER_THREADS"])
        #: Workers one page uses at most (each takes windows from the page's queue).
        self.parallelism = max(1, min(self.threads, int(settings["RENDER_PARALLELISM"])))
        self.stats: dict[str, PortletStats] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    # -- the pool is created lazily, and again after a fork (gunicorn workers) -----------------
    def _executor(self) -> ThreadPoolExecutor:
        pid = os.getpid()
        if self._pool is None or self._pool_pid != pid:
            with self._lock:
                if self._pool is None or self._pool_pid != pid:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="portlet")
                    self._pool_pid = pid
        return self._pool

    def _stats(self, portlet_id: str) -> PortletStats:
        st = self.stats.get(portlet_id)
        if st is None:
            with self._lock:
                st = self.stats.setdefault(portlet_id, PortletStats())
        return st

    def timeout_for(self, portlet: Portlet) -> float:
        own = portlet.timeout if portlet.timeout is not None else self.default_timeout
        return own * self.timeout_scale

    def render(
        self,
        requests: Sequence[WindowRequest],
        principal: Principal,
        locale: str,
        *,
        defer_lazy: bool = False,
        keys: list[FragmentKey | None] | None = None,
    ) -> list[RenderedWindow]:
        if keys is None:
            keys = self.cache.keys_for(
                [(r.portlet, r.mode.value, r.preferences, r.window_id) for r in requests],
                principal, locale,
            )
        cached = self.cache.get_many(keys)
        out: list[RenderedWindow | None] = [None] * len(requests)
        pending: list[_Job] = []
        now = time.monotonic()
        for i, (req, key, html) in enumerate(zip(requests, keys, cached, strict=True)):
            st = self._stats(req.portlet.id)
            if req.portlet.assurance != "password" and not satisfies(principal,
                                                                      req.portlet.assurance):
                out[i] = self._step_up_box(req)
                continue
            if html is not None:
                st.cache_hits += 1
                out[i] = RenderedWindow(req.window_id, html, "cached", key.etag if key else None)
                continue
            if defer_lazy and req.portlet.lazy:
                out[i] = RenderedWindow(req.window_id, "", "lazy")
                continue
            if st.open_until > now:
                st.skipped += 1
                metrics.PORTLET_ERRORS.labels(req.portlet.id, "unavailable").inc()
                out[i] = self._box(req, "unavailable")
                continue
            ctx = RenderContext(principal, req.window_id, req.preferences, req.mode, req.state)
            pending.append(_Job(i, req.portlet, ctx, now + self.timeout_for(req.portlet)))
        self._start_workers(pending)
        # Wait for all windows at once, until the earliest deadline of those still running:
        # one wake-up for the whole page in the usual case rather than one per window (under
        # the GIL every wake-up of this thread is a hand-over with the render workers). No
        # window is waited for past its own deadline; each is judged against it below.
        waiting = sorted(pending, key=lambda j: j.deadline)
        while waiting:
            wait([j.future for j in waiting], return_when=ALL_COMPLETED,
                 timeout=max(0.0, waiting[0].deadline - time.monotonic()))
            now = time.monotonic()
            waiting = [j for j in waiting if not j.future.done() and j.deadline > now]

        for job in sorted(pending, key=lambda j: j.deadline):
            i, fut = job.index, job.future
            req = requests[i]
            st = self._stats(req.portlet.id)
            if not fut.done() or job.finished > job.deadline:
                fut.cancel()  # not started yet: no worker will pick it up any more
                st.timeouts += 1
                self._failed(req.portlet, st, "timeout")
                log.warning("portlet %s timed out after %.2fs (window %s)", req.portlet.id,
                            self.timeout_for(req.portlet), req.window_id)
                out[i] = self._box(req, "timeout")
                continue
            try:
                html = fut.result(timeout=0)
            except Exception:
                st.errors += 1
                self._failed(req.portlet, st, "error")
                log.exception("portlet %s raised while rendering window %s", req.portlet.id,
                              req.window_id)
                out[i] = self._box(req, "error")
                continue
            elapsed = job.elapsed
            st.renders += 1
            st.durations.append(elapsed)
            st.consecutive_failures = 0
            st.open_until = 0.0
            metrics.PORTLET_RENDER_SECONDS.labels(req.portlet.id).observe(elapsed)
            key = keys[i]
            if key is not None:
                self.cache.set(key, html, req.portlet.cache.ttl)
            out[i] = RenderedWindow(req.window_id, html, "ok", key.etag if key else None)
        return [w for w in out if w is not None]

    def count_cache_hits(self, requests: Sequence[WindowRequest]) -> None:
        """Windows served inside a whole cached page still count as cache hits."""
        for req in requests:
            self._stats(req.portlet.id).cache_hits += 1

    def _start_workers(self, jobs: list[_Job]) -> None:
        """Hand *jobs* to a few workers that share one queue.

        Each worker pushes one copy of the request context and renders jobs until the queue is
        empty, so a page pays for a context, a database session and the template globals once
        per worker rather than once per window. A window that hangs blocks its worker only:
        the others go on with the queue, and the page waits for no window past its deadline.
        """
        if not jobs:
            return
        queue = deque(jobs)

        def work() -> None:
            while True:
                try:
                    job = queue.popleft()
                except IndexError:
                    return
                if not job.future.set_running_or_notify_cancel():
                    continue  # its deadline passed before it started
                started = time.monotonic()
                try:
                    html = job.portlet.render(job.ctx)
                except BaseException as exc:
                    job.finished = time.monotonic()
                    job.elapsed = job.finished - started
                    job.future.set_exception(exc)
                else:
                    job.finished = time.monotonic()
                    job.elapsed = job.finished - started
                    job.future.set_result(html)

        pool = self._executor()
        for _ in range(min(len(jobs), self.parallelism)):
            pool.submit(copy_current_request_context(work) if has_request_context() else work)

    def _failed(self, portlet: Portlet, st: PortletStats, kind: str) -> None:
        metrics.PORTLET_ERRORS.labels(portlet.id, kind).inc()
        st.consecutive_failures += 1
        if st.consecutive_failures >= self.threshold:
            st.open_until = time.monotonic() + self.cooldown
            log.error("portlet %s failed %d times in a row; skipped for %.0fs", portlet.id,
                      st.consecutive_failures, self.cooldown)

    def _box(self, req: WindowRequest, status: str) -> RenderedWindow:
        html = render_template("portal/window_error.html", status=status, retry_url=req.retry_url,
                               portlet=req.portlet)
        return RenderedWindow(req.window_id, html, status)

    def _step_up_box(self, req: WindowRequest) -> RenderedWindow:
        """The window of a portlet the session is not strong enough for: a way to step up,
        never the portlet's output (not even from the cache)."""
        level = req.portlet.assurance
        html = render_template("portal/window_step_up.html", portlet=req.portlet, level=level,
                               step_up_url=step_up_url(level, _page_path()))
        return RenderedWindow(req.window_id, html, "step_up")

    def health(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        rows = []
        for pid, st in sorted(self.stats.items()):
            p50, p95 = st.percentile(0.5), st.percentile(0.95)
            rows.append({
                "portlet": pid,
                "renders": st.renders,
                "cache_hits": st.cache_hits,
                "errors": st.errors,
                "timeouts": st.timeouts,
                "skipped": st.skipped,
                "p50_ms": None if p50 is None else round(p50 * 1000, 1),
                "p95_ms": None if p95 is None else round(p95 * 1000, 1),
                "breaker": st.breaker_state(now),
            })
        return rows


def _page_path() -> str:
    """Where a step-up should come back to: the page, also when one window is reloaded by
    htmx (its fragment URL is not a page)."""
    if not has_request_context():
        return "/"
    shown = request.headers.get("HX-Current-URL")
    if shown:
        parts = urlsplit(shown)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return current_path()


@dataclass
class _Job:
    """One window waiting for a worker. Workers run in a copy of the request context: url_for,
    gettext and the session work there as in the view."""

    index: int
    portlet: Portlet
    ctx: RenderContext
    deadline: float
    future: Future[str] = field(default_factory=Future)
    elapsed: float = 0.0
    finished: float = 0.0
