"""The indicators plugin's tables: one snapshot per figure, and the state of the last run."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model


class Snapshot(Model):
    """The value of one indicator for one subject (a person, a unit, the city) in one period.

    Unique per (indicator, level, subject, dim, period kind, period start): recomputing a
    period replaces its rows, so history stays one row per period and trends read an index."""

    __tablename__ = "indicators_snapshot"
    __table_args__ = (
        UniqueConstraint("indicator", "level", "subject_id", "dim", "period", "period_start",
                         name="uq_indicators_snapshot"),
        Index("ix_indicators_snapshot_subject", "level", "subject_id", "period",
              "period_start"),
        Index("ix_indicators_snapshot_period", "indicator", "period", "period_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(8))
    subject_id: Mapped[int] = mapped_column(Integer)
    dim: Mapped[str] = mapped_column(String(40), default="")
    period: Mapped[str] = mapped_column(String(5))
    period_start: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class RunState(Model):
    """How the last computation of an indicator went: an error makes it "unavailable"."""

    __tablename__ = "indicators_run"

    indicator: Mapped[str] = mapped_column(String(40), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime)
    error: Mapped[str] = mapped_column(String(300), default="")
