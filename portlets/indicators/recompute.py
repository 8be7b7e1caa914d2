"""The recompute job: every indicator for the day, month and year containing a date, into
snapshots. One transaction per indicator and period: a failing indicator keeps its previous
snapshots, is marked unavailable, and the others go on."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import Flask
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from portal.indicators import (
    PERIODS,
    Period,
    Registry,
    Value,
    collect,
    period_last_day,
    safe_compute,
    shift,
)
from portlets.indicators.models import RunState, Snapshot

log = logging.getLogger(__name__)


@dataclass
class Result:
    rows: int = 0
    periods: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def store(session: Session, indicator: str, period: Period, values: list[Value],
          now: datetime) -> int:
    """Replace the snapshots of *indicator* for *period* with *values* (the upsert)."""
    session.execute(delete(Snapshot).where(
        Snapshot.indicator == indicator, Snapshot.period == period.kind,
        Snapshot.period_start == period.start))
    rows = [{"indicator": indicator, "level": v.level, "subject_id": v.subject_id,
             "dim": v.dim[:40], "period": period.kind, "period_start": period.start,
             "value": float(v.value), "numerator": v.numerator, "denominator": v.denominator,
             "computed_at": now} for v in values]
    for i in range(0, len(rows), 5000):
        session.execute(insert(Snapshot), rows[i:i + 5000])
    return len(rows)


def _mark(session: Session, indicator: str, now: datetime, error: str) -> None:
    state = session.get(RunState, indicator)
    if state is None:
        session.add(RunState(indicator=indicator, computed_at=now, error=error))
    else:
        state.computed_at, state.error = now, error


def recompute(app: Flask, session: Session, day: date, periods: tuple[str, ...] = PERIODS,
              back: int = 0, only: str | None = None, jobs: bool = True,
              commit: bool = True) -> Result:
    """Compute every indicator for the periods containing *day* and the *back* periods before
    each. Each indicator and period is written in a savepoint (a failure undoes only its own
    rows) and, with *commit*, committed on its own; without it the caller commits."""
    registry: Registry = collect(app)
    result = Result()

    def done() -> None:
        if commit:
            session.commit()
        else:
            session.flush()

    if jobs:
        for name, error in _run_jobs(app, session, day):
            result.failed[f"job:{name}"] = error
        done()
    for ind in registry:
        if only and ind.id != only:
            continue
        errors = []
        for kind in periods:
            if kind not in ind.periods:
                continue
            current = Period.of(kind, day)
            for step in range(back, -1, -1):
                start = shift(kind, current.start, -step)
                period = current if step == 0 else Period(kind, start,
                                                          period_last_day(kind, start))
                values, error = safe_compute(ind, session, period)
                if error:
                    errors.append(error)
                    break
                with session.begin_nested():
                    result.rows += store(session, ind.id, period, values, datetime.now())
                result.periods += 1
                done()
        _mark(session, ind.id, datetime.now(), errors[0] if errors else "")
        if errors:
            result.failed[ind.id] = errors[0]
            registry.mark_unavailable(ind.id, errors[0])
        else:
            registry.unavailable.pop(ind.id, None)
        done()
    if result.periods:
        _invalidate_windows()
    return result


def _invalidate_windows() -> None:
    """New snapshots: every indicator window is stale (they are cached per user)."""
    from portal.toolkit import invalidate

    for portlet_id in ("indicators_mine", "indicators_team"):
        try:
            invalidate(portlet_id)
        except Exception:  # no cache configured in this process (a command): nothing to do
            log.debug("could not invalidate %s", portlet_id, exc_info=True)


def _run_jobs(app: Flask, session: Session, day: date) -> list[tuple[str, str]]:
    """Every plugin's ``portal_indicator_jobs`` in a savepoint of its own."""
    failed: list[tuple[str, str]] = []
    state = app.extensions["portal"]
    caller = state.plugins.hook.portal_indicator_jobs
    for impl in reversed(caller.get_hookimpls()):
        args = {"app": app, "session": session, "day": day}
        try:
            with session.begin_nested():
                impl.function(**{k: v for k, v in args.items() if k in impl.argnames})
        except Exception as exc:
            log.exception("portal_indicator_jobs of %s failed", impl.plugin_name)
            failed.append((impl.plugin_name, f"{type(exc).__name__}: {exc}"[:300]))
    return failed
