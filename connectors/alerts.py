"""Connector alerts as to-do items of the admins: a source whose sync keeps failing, and rows
quarantined in the last day (信息交换平台 shows the details)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.labels import SOURCE_LABELS
from connectors.models import ConnectorState, ExchangeLog
from portal.toolkit import Principal, TodoItem, gettext, lazy_gettext

#: Quarantined rows younger than this are an open alert.
QUARANTINE_WINDOW = timedelta(days=1)


def alerts(session: Session, principal: Principal, now: datetime | None = None
           ) -> list[TodoItem]:
    """Only admins watch the exchange; two indexed queries, at most a few items."""
    if not principal.is_admin:
        return []
    now = now or datetime.now()
    source = str(lazy_gettext("Connector alerts"))
    url = url_for("exchange.index")
    items = []
    for st in session.scalars(select(ConnectorState).where(ConnectorState.failures > 0)
                              .order_by(ConnectorState.source)):
        name = str(SOURCE_LABELS.get(st.source, st.source))
        items.append(TodoItem(
            source=source, url=url, urgent=True, created=st.last_run_at,
            title=gettext("%(source)s: sync failed %(n)d times in a row (%(error)s)",
                          source=name, n=st.failures, error=(st.last_error or "")[:80])))
    count, latest = session.execute(
        select(func.count(), func.max(ExchangeLog.created_at)).where(
            ExchangeLog.status == "quarantined",
            ExchangeLog.created_at >= now - QUARANTINE_WINDOW)).one()
    if count:
        items.append(TodoItem(source=source, url=url, created=latest,
                              title=gettext("%(n)d source rows quarantined in the last day",
                                            n=count)))
    return items
