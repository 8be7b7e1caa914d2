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
        if FAIL["times"] > 0 or event.payload.get("poison"):
            FAIL["times"] = max(FAIL["times"] - 1, 0)
            raise RuntimeError("flaky handler failed")


class BatchRecorder:
    """Handles a whole batch at once; records how many calls it took."""

    calls: list[int] = []

    @hookimpl
    def portal_handle_events(self, events: list[DomainEvent]) -> None:
        self.calls.append(len(events))
        db_session().execute(text("INSERT INTO audit_log (actor, action, target, address, detail)"
                                  " VALUES ('batch', :a, :t, '', '{}')"),
                             [{"a": e.type, "t": str(e.id)} for e in events])
