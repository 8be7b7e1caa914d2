"""A plugin that records the events it handles in the database, and one that fails once."""

from __future__ import annotations

from sqlalchemy import text

from portal.toolkit import DomainEvent, db_session, hookimpl

FAIL = {"times": 0}


class Recorder:
    @hookimpl
    def portal_handle_event(self, event: DomainEvent) -> None:
        db_session().execute(text("INSERT INTO audit_log (actor, action, target, address, detail)"
                                  " VALUES ('recorder', :a, :t, '', '{}')"),
                             {"a": event.type, "t": str(event.id)})


class Flaky:
    @hookimpl
    def portal_handle_event(self, event: DomainEvent) -> None:
        db_session().execute(text("INSERT INTO audit_log (actor, action, target, address, detail)"
                                  " VALUES ('flaky', :a, :t, '', '{}')"),
                             {"a": event.type, "t": str(event.id)})
        if FAIL["times"] > 0:
            FAIL["times"] -= 1
            raise RuntimeError("flaky handler failed")
