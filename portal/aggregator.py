"""Rendering a page's portlet windows: concurrently, each with its own deadline and isolation.

Cached fragments are fetched in one round trip and need no thread. The rest render on a thread
pool; the page waits for each window until its own deadline. A page starts with one render
thread and takes another only when a window has waited on its thread (rather than computed) for
``RENDER_STAGGER``: windows that only compute render one after the other, which under the GIL
costs far less CPU than handing them around four threads (5 against 6–8 ms a cold homepage,
measured in-process), and a window waiting on a remote system holds up the others by little
more than the stagger. A portlet that raises or misses its
deadline becomes a small error box with a retry link, is logged with its id, and counts towards
its circuit breaker: after ``BREAKER_THRESHOLD`` consecutive failures it is not called again
until ``BREAKER_COOLDOWN`` has passed. Counts and timings feed the admin's health page and
``/metrics``; they are per process, as each gunicorn worker has its own breaker.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ALL_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import has_request_context, render_template, request

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
    def __init__(self, cache: FragmentCache, settings: Mapping[str, Any],
                 release: Callable[[], None] | None = None) -> None:
        self.cache = cache
        #: Called on a render thread when it has rendered its windows: frees what the thread
        #: holds of its own (the database session of the thread).
        self.release = release
        self.default_timeout = float(settings["PORTLET_TIMEOUT"])
        self.timeout_scale = float(settings["PORTLET_TIMEOUT_SCALE"])
        self.threshold = int(settings["BREAKER_THRESHOLD"])
        self.cooldown = float(settings["BREAKER_COOLDOWN"])
        self.threads = int(settings["RENDER_THREADS"])
        #: Workers one page uses at most (each takes windows from the page's queue).
        self.parallelism = max(1, min(self.threads, int(settings["RENDER_PARALLELISM"])))
        #: How long a window may hold a render thread before the page takes another one.
        self.stagger = max(0.0, float(settings["RENDER_STAGGER"]))
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
        crew = self._start_workers(pending)
        # Wait for all windows at once, until the earliest deadline of those still running:
        # one wake-up for the whole page in the usual case rather than one per window (under
        # the GIL every wake-up of this thread is a hand-over with the render workers). No
        # window is waited for past its own deadline; each is judged against it below. While
        # the crew may still grow, wake up every stagger to see whether a window holds it up.
        waiting = sorted(pending, key=lambda j: j.deadline)
        while waiting:
            timeout = max(0.0, waiting[0].deadline - time.monotonic())
            if crew.can_grow():
                timeout = min(timeout, self.stagger)
            wait([j.future for j in waiting], return_when=ALL_COMPLETED, timeout=timeout)
            now = time.monotonic()
            waiting = [j for j in waiting if not j.future.done() and j.deadline > now]
            if waiting and crew.held_up(now, self.stagger):
                crew.hire()

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

    def _start_workers(self, jobs: list[_Job]) -> _Crew:
        """Hand *jobs* to a crew of render threads that share one queue: one thread to begin
        with, all of ``RENDER_PARALLELISM`` at once when there is no stagger."""
        crew = _Crew(jobs, self._executor(), min(len(jobs), self.parallelism), self.release)
        if jobs:
            crew.hire()
            while self.stagger == 0 and crew.can_grow():
                crew.hire()
        return crew

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


class _Crew:
    """The render threads of one page, taking windows from the page's queue until it is empty.

    Each thread runs in the page's context (see ``hire``) and renders jobs until the queue is
    empty, so a page pays for a database session once per thread rather than once per
    window. A window that hangs blocks its thread only: the page hires another (``held_up``)
    for the rest of the queue, up to ``most`` threads, and waits for no window past its
    deadline.
    """

    def __init__(self, jobs: list[_Job], pool: ThreadPoolExecutor, most: int,
                 release: Callable[[], None] | None = None) -> None:
        self.queue = deque(jobs)
        self.running: list[_Job] = []
        self.pool = pool
        self.most = most
        self.release = release
        self.size = 0

    def can_grow(self) -> bool:
        return self.size < self.most and bool(self.queue)

    def held_up(self, now: float, stagger: float) -> bool:
        """True when windows are still queued and a thread has been on one window for at
        least *stagger* while waiting on something: the queue should not wait with it. A
        window that is computing is left alone, since another thread would only contend with it
        for the GIL. On a busy worker every window takes longer by the clock: hiring by the
        clock alone cost a quarter more CPU per cold page there (6.6 against 5.3 ms served)."""
        if not self.can_grow():
            return False
        return any(job.waiting(now, stagger) for job in self.running)

    def hire(self) -> None:
        """Start one more thread, running in a copy of the page thread's context variables.

        Flask keeps its contexts in context variables, so the thread sees the page's own app
        and request contexts: the same request, session and ``g``, with what the request has
        already worked out there (the principal, the locale, the template globals). Pushing a
        copy of the request context instead would give the thread a new, empty ``g``, work
        all of that out again per thread, and run the request's teardown once per thread.
        Nothing here is pushed or popped: the request ends once, on the page's thread."""
        self.size += 1
        self.pool.submit(contextvars.copy_context().run, self._work_and_release)

    def _work_and_release(self) -> None:
        try:
            self._work()
        finally:
            if self.release is not None:
                self.release()

    def _work(self) -> None:
        clock = _thread_cpu_clock()
        while True:
            try:
                job = self.queue.popleft()
            except IndexError:
                return
            if not job.future.set_running_or_notify_cancel():
                continue  # its deadline passed before it started
            job.start(clock)
            self.running.append(job)
            try:
                html = job.portlet.render(job.ctx)
            except BaseException as exc:
                job.finished = time.monotonic()
                job.elapsed = job.finished - job.started
                job.future.set_exception(exc)
            else:
                job.finished = time.monotonic()
                job.elapsed = job.finished - job.started
                job.future.set_result(html)


@dataclass
class _Job:
    """One window waiting for a worker. Workers run in the page's request context: url_for,
    gettext and the session work there as in the view."""

    index: int
    portlet: Portlet
    ctx: RenderContext
    deadline: float
    future: Future[str] = field(default_factory=Future)
    started: float = 0.0
    elapsed: float = 0.0
    finished: float = 0.0
    #: The CPU clock of the thread rendering it, and when the page last read it (``waiting``).
    cpu_clock: int | None = None
    seen_at: float = 0.0
    seen_cpu: float = 0.0

    def start(self, cpu_clock: int | None) -> None:
        self.started = self.seen_at = time.monotonic()
        self.cpu_clock = cpu_clock
        if cpu_clock is not None:
            self.seen_cpu = time.clock_gettime(cpu_clock)

    def waiting(self, now: float, stagger: float) -> bool:
        """Has this window held its thread for *stagger* or more, using less than
        ``WAITING_SHARE`` of a core since the page last looked? Where threads have no CPU
        clock of their own, the time alone decides."""
        if self.finished or not self.started or now - self.started < stagger:
            return False
        if self.cpu_clock is None:
            return True
        try:
            cpu = time.clock_gettime(self.cpu_clock)
        except OSError:  # the thread is gone: the window is finishing
            return False
        since, used = now - self.seen_at, cpu - self.seen_cpu
        self.seen_at, self.seen_cpu = now, cpu
        return used < since * WAITING_SHARE


#: A window whose thread used less than this share of a core is waiting (on a remote system,
#: a lock), not computing: a thread that computes gets far more, even with the worker's other
#: threads contending for the GIL.
WAITING_SHARE = 0.05


def _thread_cpu_clock() -> int | None:
    """The CPU-time clock of the calling thread, readable from the page's thread."""
    try:
        return time.pthread_getcpuclockid(threading.get_ident())
    except (AttributeError, OSError):  # not on this platform
        return None
