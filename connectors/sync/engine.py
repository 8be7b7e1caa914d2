"""Running a source: read each stream from its watermark, apply, commit data + watermark.

This module is the only place that moves data from a source into the portal. ``run_source``
is what every trigger calls: ``portal sync run``, the embedded scheduler thread, or a Celery
beat task in production (``connectors.sync.scheduler``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from connectors.base import Connector, SourceUnavailable
from connectors.labels import SOURCE_LABELS
from connectors.mapping import StreamSpec
from connectors.models import ConnectorState, ExchangeDay, ExchangeLog, Watermark
from connectors.sync.apply import BatchApplier, BatchResult, lookups_for
from portal.toolkit import Notification, gettext, notify, people_with_posts

log = logging.getLogger(__name__)
#: Outbox events per dispatch transaction after a sync batch: a batch raises hundreds of
#: notices, and each dispatch transaction costs a handful of statements whatever its size.
DISPATCH_BATCH = 500
#: Longest pause, in seconds, between scheduled runs of a source whose runs keep failing.
MAX_RETRY_PAUSE = 300.0


@dataclass
class RunResult:
    source: str
    read: int = 0
    changed: int = 0
    quarantined: int = 0
    events: int = 0
    batches: int = 0
    error: str | None = None
    backlog: int = 0
    streams: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def connectors(app: Flask) -> dict[str, Connector]:
    """Every connector the plugins registered (hook ``portal_connectors``), by source name."""
    ext = app.extensions.setdefault("connectors", {})
    if "registry" not in ext:
        found: dict[str, Connector] = {}
        pm = app.extensions["portal"].plugins
        for plugin_name, conn in pm.collect_flat("portal_connectors", app=app):
            if not isinstance(conn, Connector) or conn.name in found:
                log.error("connector %r of plugin %s is invalid or a duplicate; ignored",
                          conn, plugin_name)
                continue
            found[conn.name] = conn
        ext["registry"] = found
    return ext["registry"]


class SyncEngine:
    def __init__(self, app: Flask, *, batch_size: int | None = None,
                 dispatch: bool = True, alert_after: int | None = None) -> None:
        self.app = app
        self.db = app.extensions["portal"].db
        self.batch_size = batch_size
        self.dispatch = dispatch
        self.alert_after = alert_after or int(
            app.extensions["portal"].settings["SYNC_ALERT_AFTER"])

    # ------------------------------------------------------------------ watermarks
    def position(self, source: str, stream: str) -> int:
        with self.db.transaction() as s:
            wm = s.get(Watermark, (source, stream))
            return int(wm.position) if wm and wm.position else 0

    def reset(self, source: str, stream: str | None, position: int) -> None:
        """Move watermarks back (backfill) or forward; the next run reads from there."""
        conn = connectors(self.app)[source]
        with self.db.transaction() as s:
            for st in conn.spec.streams:
                if stream in (None, st.name):
                    wm = s.get(Watermark, (source, st.name))
                    if wm is None:
                        s.add(Watermark(source=source, stream=st.name, position=str(position)))
                    else:
                        wm.position, wm.updated_at = str(position), datetime.now()

    # ------------------------------------------------------------------ running
    def run_source(self, name: str, *, max_batches: int | None = None) -> RunResult:
        """Read every stream of source *name* up to its head (or *max_batches* batches each).

        A source that cannot be read stops this run for that source (the batch in hand is not
        committed), is marked failing on the status page, and notifies the admins after
        ``SYNC_ALERT_AFTER`` failed runs in a row.
        """
        conn = connectors(self.app)[name]
        result = RunResult(source=name)
        started = datetime.now()
        try:
            for stream in conn.spec.streams:
                self._run_stream(conn, stream, result, max_batches)
            result.backlog = sum(max(0, conn.head(st) - self.position(name, st.name))
                                 for st in conn.spec.streams)
        except SourceUnavailable as exc:
            result.error = str(exc)
            log.warning("sync of %s failed: %s", name, exc)
        self._record_run(result, started)
        if self.dispatch:
            self._dispatch()
        return result

    def scheduled_run(self, name: str, every: float,
                      now: datetime | None = None) -> RunResult | None:
        """``run_source`` as the schedule calls it; ``None`` when the source is left alone.

        Sources are polled every second or so, which is what brings a change to its staff
        within seconds; a source that is down would then cost an attempt, a failed-run line
        in the exchange log and its retries every second. After *n* failed runs in a row the
        next one waits *every* × 2ⁿ seconds (at most ``MAX_RETRY_PAUSE``); ``portal sync
        run`` by hand is never held back.
        """
        with self.db.transaction() as s:
            state = s.get(ConnectorState, name)
            if state is not None and state.failures and state.last_run_at is not None:
                pause = min(every * 2 ** min(state.failures, 16), MAX_RETRY_PAUSE)
                if (now or datetime.now()) < state.last_run_at + timedelta(seconds=pause):
                    return None
        return self.run_source(name)

    def _run_stream(self, conn: Connector, stream: StreamSpec, result: RunResult,
                    max_batches: int | None) -> None:
        limit = self.batch_size or conn.spec.batch_size
        batches = 0
        while max_batches is None or batches < max_batches:
            after = self.position(conn.name, stream.name)
            rows = conn.fetch(stream, after, limit)
            if not rows:
                return
            batch = self._commit_batch(conn.name, stream, after, rows)
            if batch is None:
                continue  # someone else moved the watermark: read again from there
            batches += 1
            result.batches += 1
            result.read += batch.read
            result.changed += batch.changed
            result.quarantined += batch.quarantined
            result.events += batch.events
            result.streams[stream.name] = result.streams.get(stream.name, 0) + batch.read
            if self.dispatch:
                self._dispatch()
            if len(rows) < limit:
                return

    def _commit_batch(self, source: str, stream: StreamSpec, after: int,
                      rows: Sequence[Mapping[str, Any]]) -> BatchResult | None:
        """Apply *rows* and move the watermark past them in one transaction; ``None`` when
        another run moved the watermark first (nothing is written then).

        The batch is tried whole first; if the database refuses it (a constraint), it is
        applied again row by row in savepoints, and the refused rows are quarantined."""
        positions = [int(p) for r in rows if _is_int(p := r.get(stream.position))]
        last = max(positions, default=after)
        for savepoints in (False, True):
            try:
                with self.db.transaction() as s:
                    # Take the watermark row first: it serialises two runs of one source.
                    wm = s.get(Watermark, (source, stream.name), with_for_update=True)
                    if wm is None:
                        wm = Watermark(source=source, stream=stream.name, position="0")
                        s.add(wm)
                        s.flush()
                    elif int(wm.position or 0) != after:
                        return None
                    applier = BatchApplier(s, source, stream, lookups_for(s))
                    applier.apply_all(rows, savepoints=savepoints)
                    wm.position, wm.updated_at = str(max(last, after)), datetime.now()
                    self._count(s, source, applier.result)
                    s.flush()
                return applier.result
            except (IntegrityError, DBAPIError) as exc:
                if savepoints:
                    raise
                log.info("batch of %s/%s hit %s; applying row by row", source, stream.name,
                         str(getattr(exc, "orig", exc)).splitlines()[0][:200])
        return None

    def _count(self, s: Session, source: str, batch: BatchResult, failed: int = 0) -> None:
        today = date.today()
        day = s.get(ExchangeDay, (source, today))
        if day is None:
            day = ExchangeDay(source=source, day=today, read=0, changed=0, quarantined=0,
                              failed=0, max_lag_seconds=0)
            s.add(day)
        day.read += batch.read
        day.changed += batch.changed
        day.quarantined += batch.quarantined
        day.failed += failed

    def _record_run(self, result: RunResult, started: datetime) -> None:
        now = datetime.now()
        with self.db.transaction() as s:
            state = s.get(ConnectorState, result.source, with_for_update=True)
            if state is None:
                state = ConnectorState(source=result.source, failures=0)
                s.add(state)
            state.last_run_at = now
            if result.ok:
                state.last_success_at, state.last_error, state.failures = now, None, 0
                state.alerted_at = None
                lag = int((now - started).total_seconds()) if result.backlog else 0
                state.lag_seconds = lag
            else:
                state.failures = (state.failures or 0) + 1
                state.last_error = (result.error or "")[:500]
                lag = int((now - (state.last_success_at or started)).total_seconds())
                state.lag_seconds = lag
                s.add(ExchangeLog(source=result.source, stream="", record_key="",
                                  status="failed", reason=state.last_error, created_at=now))
                self._count(s, result.source, BatchResult(), failed=1)
                if state.failures >= self.alert_after and state.alerted_at is None:
                    self._alert(s, result.source, state.failures, state.last_error)
                    state.alerted_at = now
            day = s.get(ExchangeDay, (result.source, date.today()))
            if day is not None:
                day.max_lag_seconds = max(day.max_lag_seconds or 0, lag)

    def _alert(self, s: Session, source: str, failures: int, error: str) -> None:
        admins = people_with_posts(s, ["admin"])
        if not admins:
            return
        title = gettext("Connector %(source)s keeps failing", source=str(
            SOURCE_LABELS.get(source, source)))
        notify(s, Notification(
            kind="connector.failing", title=title, recipients=tuple(admins),
            body=gettext("%(n)d failed runs in a row. Last error: %(error)s", n=failures,
                         error=error)[:2000],
            link="/exchange/"))

    def _dispatch(self) -> None:
        from portal.events import dispatch_pending  # the outbox's own loop body

        while dispatch_pending(self.app, limit=1000, batch=DISPATCH_BATCH):
            pass

    def run_all(self, names: list[str] | None = None) -> list[RunResult]:
        results = [self.run_source(n) for n in (names or list(connectors(self.app)))]
        self.remind_expiring()
        return results

    def remind_expiring(self) -> int:
        """Licences entering their last 30 days (LICENSE_EXPIRING); idempotent."""
        from connectors.sync.expiring import remind_expiring

        with self.db.transaction() as s:
            told = remind_expiring(s)
        if self.dispatch:
            self._dispatch()
        return told


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True

