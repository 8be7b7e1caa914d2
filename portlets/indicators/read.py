"""Reading snapshots for the portlets, the cockpit and the export: a handful of indexed
queries per window, never a computation over source records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from portal.indicators import Indicator, Period, Registry, fmt, shift
from portal.toolkit import run_prepared
from portlets.indicators.models import RunState, Snapshot

TREND = 12


@dataclass
class Figure:
    """One indicator of one subject in one period, ready for a template."""

    indicator: Indicator
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    previous: float | None = None
    year_ago: float | None = None
    trend: list[float | None] = field(default_factory=list)
    status: str = "none"
    unavailable: str = ""
    target: float | None = None

    @property
    def text(self) -> str:
        return fmt(self.value, self.indicator.unit)

    @property
    def target_text(self) -> str:
        return fmt(self.target, self.indicator.unit) if self.target is not None else ""

    def change(self, other: float | None) -> float | None:
        """Relative change against *other* (month-on-month, year-on-year)."""
        if self.value is None or not other:
            return None
        return (self.value - other) / other

    @property
    def mom(self) -> float | None:
        return self.change(self.previous)

    @property
    def yoy(self) -> float | None:
        return self.change(self.year_ago)

    def spark_points(self, width: int = 96, height: int = 24) -> str:
        """SVG polyline points of the trend (server-drawn: works without JavaScript)."""
        pts = [(i, v) for i, v in enumerate(self.trend) if v is not None]
        if len(pts) < 2:
            return ""
        lo = min(v for _i, v in pts)
        hi = max(v for _i, v in pts)
        span = (hi - lo) or 1.0
        step = width / max(1, len(self.trend) - 1)
        return " ".join(f"{i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}"
                        for i, v in pts)


def _snapshot_queries() -> tuple[Any, Any]:
    """The homepage window's two reads, built once: "my indicators" renders on every request
    when the portlet cache is off, and building the select cost more than running it."""
    snap, run = Snapshot.__table__.c, RunState.__table__.c
    figures = (select(snap.indicator, snap.period_start, snap.value, snap.numerator,
                      snap.denominator)
               .where(snap.level == bindparam("level"), snap.subject_id == bindparam("subject"),
                      snap.period == bindparam("kind"), snap.dim == "",
                      snap.period_start.in_(bindparam("starts", expanding=True))))
    broken = select(run.indicator, run.error).where(run.error != "")
    return figures, broken


FIGURES, BROKEN = _snapshot_queries()


def unavailable(session: Session, registry: Registry) -> dict[str, str]:
    """Indicators whose last computation failed, or that their plugin declared badly."""
    out = {k: v for k, v in registry.unavailable.items()}
    for ind_id, error in run_prepared(BROKEN, session=session):
        out[ind_id] = error
    return out


def figures(session: Session, registry: Registry, level: str, subject_id: int, day: date,
            kind: str = "month", ids: Sequence[str] | None = None) -> list[Figure]:
    """Every indicator (or those in *ids*) of one subject: current value, previous period,
    a year ago and a trend of the last TREND periods — one query."""
    period = Period.of(kind, day)
    first = shift(kind, period.start, -(TREND - 1))
    year_ago = period.year_ago().start
    wanted = [ind for ind in registry if level in ind.levels and kind in ind.periods
              and (ids is None or ind.id in ids)]
    if ids is not None:
        order = {i: n for n, i in enumerate(ids)}
        wanted.sort(key=lambda ind: order.get(ind.id, 99))
    starts = _starts(kind, first, TREND)
    previous = shift(kind, period.start, -1)
    # The snapshots the recompute job keeps (as fresh as its last run), not live aggregates.
    rows = run_prepared(FIGURES, {
        "level": level, "subject": subject_id, "kind": kind,
        "starts": [year_ago, *starts]}, session=session).all()
    by: dict[tuple[str, date], tuple[float, float | None, float | None]] = {
        (r[0], r[1]): (r[2], r[3], r[4]) for r in rows}
    broken = unavailable(session, registry)
    out = []
    for ind in wanted:
        f = Figure(ind, target=ind.target_for(level))
        if ind.id in broken:
            f.unavailable = broken[ind.id]
            out.append(f)
            continue
        cur = by.get((ind.id, period.start))
        if cur:
            f.value, f.numerator, f.denominator = cur
        prev = by.get((ind.id, previous))
        f.previous = prev[0] if prev else None
        ya = by.get((ind.id, year_ago))
        f.year_ago = ya[0] if ya else None
        f.trend = [(by.get((ind.id, s)) or (None,))[0] for s in starts]
        f.status = ind.status(f.value, level)
        out.append(f)
    return out


def _starts(kind: str, first: date, count: int) -> list[date]:
    return [shift(kind, first, i) for i in range(count)]


def values(session: Session, indicator: str, level: str, subject_ids: Iterable[int],
           kind: str, start: date, dim: str = "") -> dict[int, tuple[float, float | None,
                                                                   float | None]]:
    """``{subject id: (value, numerator, denominator)}`` for many subjects in one period."""
    ids = list(subject_ids)
    if not ids:
        return {}
    return {r[0]: (r[1], r[2], r[3]) for r in session.execute(
        select(Snapshot.subject_id, Snapshot.value, Snapshot.numerator, Snapshot.denominator)
        .where(Snapshot.indicator == indicator, Snapshot.level == level,
               Snapshot.subject_id.in_(ids), Snapshot.period == kind,
               Snapshot.period_start == start, Snapshot.dim == dim))}


def dims(session: Session, indicator: str, level: str, subject_id: int, kind: str,
         start: date) -> list[tuple[str, float]]:
    """The split of an indicator (cases by type) for one subject, largest first."""
    return [(r[0], r[1]) for r in session.execute(
        select(Snapshot.dim, Snapshot.value).where(
            Snapshot.indicator == indicator, Snapshot.level == level,
            Snapshot.subject_id == subject_id, Snapshot.period == kind,
            Snapshot.period_start == start, Snapshot.dim != "")
        .order_by(Snapshot.value.desc()))]
