"""The indicator contract (指标): what a plugin declares, and the registry that merges them.

An indicator is declared by the plugin that owns its data (``portal_indicators`` hook) and
computed by the indicators plugin's recompute job into snapshots. The core only defines the
shape and checks what plugins hand back, so that one plugin's bug or nonsense (an exception, a
NaN, a share above 100 %) makes that indicator "unavailable" — logged, never a broken page.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

log = logging.getLogger(__name__)

LEVELS = ("person", "unit", "city")
PERIODS = ("day", "month", "year")
HIGHER, LOWER = "higher", "lower"


@dataclass(frozen=True)
class Period:
    """One period an indicator is computed for: ``kind`` day / month / year, starting at
    ``start``, computed as of ``asof`` (the month and year periods run to date)."""

    kind: str
    start: date
    asof: date

    @property
    def end(self) -> date:
        """The last day counted: *asof*, or the period's own last day if that comes first."""
        return min(self.asof, period_last_day(self.kind, self.start))

    @classmethod
    def of(cls, kind: str, day: date) -> Period:
        if kind not in PERIODS:
            raise ValueError(f"unknown period {kind!r}; use one of {', '.join(PERIODS)}")
        start = {"day": day, "month": day.replace(day=1),
                 "year": day.replace(month=1, day=1)}[kind]
        return cls(kind, start, day)

    def previous(self) -> Period:
        """The period before (month-on-month for a month, the day before for a day)."""
        prev_start = shift(self.kind, self.start, -1)
        return Period(self.kind, prev_start, period_last_day(self.kind, prev_start))

    def year_ago(self) -> Period:
        start = _replace_year(self.start, self.start.year - 1)
        return Period(self.kind, start, period_last_day(self.kind, start))


def _replace_year(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February
        return day.replace(year=year, day=28)


def shift(kind: str, start: date, steps: int) -> date:
    """The start of the period *steps* periods away from the one starting at *start*."""
    if kind == "day":
        return start + timedelta(days=steps)
    if kind == "month":
        months = start.year * 12 + start.month - 1 + steps
        return date(months // 12, months % 12 + 1, 1)
    return date(start.year + steps, 1, 1)


def period_last_day(kind: str, start: date) -> date:
    return shift(kind, start, 1) - timedelta(days=1)


@dataclass(frozen=True)
class Value:
    """One computed figure: *value* of *subject_id* at *level* (a person id, an org unit id,
    the city's unit id). ``numerator``/``denominator`` are kept for shares so a reader can
    check the figure; ``dim`` splits an indicator (case type) — ``""`` is the total."""

    level: str
    subject_id: int
    value: float
    numerator: float | None = None
    denominator: float | None = None
    dim: str = ""


#: compute(session, period) -> values for every subject of every level the indicator has.
Compute = Callable[[Any, Period], Iterable[Value]]


@dataclass(frozen=True)
class Indicator:
    """A key figure. ``name`` is a lazy_gettext string; ``target`` maps level → target value
    (a level missing, or ``None``, shows "未设目标", never zero); ``direction`` says whether
    higher or lower is better, which decides red / amber / green."""

    id: str
    name: Any
    unit: str
    formula: Any
    source: Any
    compute: Compute
    levels: tuple[str, ...] = LEVELS
    periods: tuple[str, ...] = PERIODS
    refresh: str = "daily"
    target: Mapping[str, float | None] = field(default_factory=dict)
    direction: str = HIGHER
    #: Which staff column of the customer a person-level figure belongs to (inspector_id...);
    #: informative, shown in the docs and the cockpit.
    person_post: str = ""
    #: A share above which the figure is amber rather than green (fraction of target).
    amber_ratio: float = 0.9
    #: A share of a whole: a value above 1 is nonsense (plan completion may exceed 100 %).
    bounded: bool = False

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").isalnum():
            raise ValueError(f"indicator id {self.id!r}: letters, digits and _ only")
        if bad := set(self.levels) - set(LEVELS):
            raise ValueError(f"indicator {self.id}: unknown levels {sorted(bad)}")
        if bad := set(self.periods) - set(PERIODS):
            raise ValueError(f"indicator {self.id}: unknown periods {sorted(bad)}")
        if self.direction not in (HIGHER, LOWER):
            raise ValueError(f"indicator {self.id}: direction is 'higher' or 'lower'")

    def target_for(self, level: str) -> float | None:
        return self.target.get(level)

    def status(self, value: float | None, level: str) -> str:
        """``green`` / ``amber`` / ``red`` against the target, ``none`` without a target or
        value. Lower-is-better figures are green at or under target, amber up to
        1/amber_ratio of it."""
        target = self.target_for(level)
        if value is None or target is None:
            return "none"
        if self.direction == HIGHER:
            if value >= target:
                return "green"
            return "amber" if value >= target * self.amber_ratio else "red"
        if value <= target:
            return "green"
        return "amber" if value <= target / self.amber_ratio else "red"


class NonsenseValue(ValueError):
    """A compute function returned something that cannot be a value of its indicator."""


def check_value(ind: Indicator, v: object) -> Value:
    """*v* if it is a sane value of *ind*; raises :class:`NonsenseValue` otherwise."""
    if not isinstance(v, Value):
        raise NonsenseValue(f"{ind.id}: expected Value, got {type(v).__name__}")
    if v.level not in ind.levels:
        raise NonsenseValue(f"{ind.id}: level {v.level!r} not declared")
    number = v.value
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise NonsenseValue(f"{ind.id}: value {number!r} is not a number")
    if not math.isfinite(number):
        raise NonsenseValue(f"{ind.id}: value {number!r} is not finite")
    if number < 0:
        raise NonsenseValue(f"{ind.id}: negative value {number!r}")
    if ind.bounded and number > 1 + 1e-9:
        raise NonsenseValue(f"{ind.id}: share {number!r} above 1")
    return v


@dataclass
class Registry:
    """Every indicator the plugins declared, by id, and the ones that are unavailable
    (declared badly, or their plugin raised) with the reason."""

    indicators: dict[str, Indicator] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Any:
        return iter(self.indicators.values())

    def get(self, indicator_id: str) -> Indicator | None:
        return self.indicators.get(indicator_id)

    def mark_unavailable(self, indicator_id: str, reason: str) -> None:
        """Called when computing fails: the indicator shows as unavailable until recomputed."""
        self.unavailable[indicator_id] = reason[:300]
        log.error("indicator %s is unavailable: %s", indicator_id, reason)


def merge(results: Iterable[tuple[str, Any]]) -> Registry:
    """Merge ``(plugin name, returned indicators)`` pairs into a :class:`Registry`.

    A plugin that returned something that is not an iterable of ``Indicator``, or an id that
    another plugin already took, loses that item only; the reason is logged and kept.
    """
    reg = Registry()
    for plugin, items in results:
        try:
            seq = list(items)
        except TypeError:
            reg.unavailable[f"{plugin}:*"] = "portal_indicators returned a non-iterable"
            log.error("plugin %s: portal_indicators returned %r", plugin, items)
            continue
        for item in seq:
            if not isinstance(item, Indicator):
                reg.unavailable[f"{plugin}:?"] = f"not an Indicator: {type(item).__name__}"
                log.error("plugin %s: portal_indicators item %r is not an Indicator",
                          plugin, item)
                continue
            if item.id in reg.indicators:
                reg.unavailable[item.id] = (f"duplicate id (already declared by "
                                            f"{reg.owners[item.id]})")
                log.error("plugin %s: indicator %s already declared by %s", plugin, item.id,
                          reg.owners[item.id])
                continue
            reg.indicators[item.id] = item
            reg.owners[item.id] = plugin
    return reg


def collect(app: Any) -> Registry:
    """The registry of *app*: every plugin's ``portal_indicators``, each call isolated (a
    plugin whose hook raises is logged and left out, the others stay). Cached per app."""
    cached: Registry | None = app.extensions.get("portal.indicators")
    if cached is not None:
        return cached
    state = app.extensions["portal"]
    failed: dict[str, str] = {}

    def on_error(name: str, exc: Exception) -> None:
        failed[f"{name}:*"] = f"{type(exc).__name__}: {exc}"
        log.error("plugin %s: portal_indicators raised %s", name, exc)

    reg = merge(state.plugins.call_safely("portal_indicators", on_error, app=app))
    reg.unavailable.update(failed)
    app.extensions["portal.indicators"] = reg
    return reg


def safe_compute(ind: Indicator, session: Any, period: Period) -> tuple[list[Value], str]:
    """Run *ind*'s compute function; returns ``(values, "")`` or ``([], reason)`` when it
    raised or returned nonsense — nothing of a half-nonsense result is kept."""
    try:
        values = [check_value(ind, v) for v in ind.compute(session, period)]
    except Exception as exc:  # a plugin's bug must not stop the other indicators
        log.exception("indicator %s failed for %s %s", ind.id, period.kind, period.start)
        return [], f"{type(exc).__name__}: {exc}"[:300]
    return values, ""


def unit_rollup(session: Any) -> tuple[int | None, dict[int, int]]:
    """``(city id, {org unit id: indicator unit id})``: the units indicators are reported by
    are the city's direct children (county bureaus, city departments); every unit below one
    rolls up to it, and the city to itself."""
    from flask import g, has_app_context
    from sqlalchemy import select

    from portal.models import OrgUnit

    if has_app_context() and "indicator_rollup" in g:  # once per request or command
        return g.indicator_rollup
    rows = session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.path)).all()
    roots = [uid for uid, parent, _path in rows if parent is None]
    city = roots[0] if len(roots) == 1 else None
    out: dict[int, int] = {}
    for uid, _parent, path in rows:
        ids = [int(p) for p in (path or "").strip("/").split("/") if p]
        if city is not None and len(ids) >= 2 and ids[0] == city:
            out[uid] = ids[1]
        else:
            out[uid] = uid
    if has_app_context():
        g.indicator_rollup = (city, out)
    return city, out


def fmt(value: float | None, unit: str) -> str:
    """A value as people read it: shares in per cent, counts whole, hours with one decimal."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"
