"""Bad rows are quarantined and the sync goes on; a source that is down fails cleanly; re-runs
are idempotent; only the mapped fields are synced; conflicting sources are flagged."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.mapping import BUILTIN_DIR, MappingError, load_source
from connectors.models import (
    ConnectorState,
    Delivery,
    ExchangeDay,
    ExchangeLog,
    FieldChange,
    LicenseEvent,
    Watermark,
)
from connectors.rest import RestConnector
from connectors.sync.engine import MAX_RETRY_PAUSE, SyncEngine, connectors
from connectors.view import customer_view
from portal.models import Customer, OutboxEvent
from portlets.notices.models import Notice, NoticeReceipt
from tests.conftest import make_app
from tests.connectors.conftest import _shutdown, build_world
from tests.connectors.helpers import delivery, licence_txn, marketing_update, raw_change_rows

GOOD = {"QYMC": "海宁测试便利店5", "FZR": "张三", "JYDZ": "海宁市硖石街道1号", "JYFW": "卷烟零售",
        "YXQZ": "20290101", "ZT": "01", "ZGY": "zg", "XCXL": "ZM-01"}


def _session(app):
    return app.extensions["portal"].db.session()


def test_malformed_rows_are_quarantined_with_their_reason_and_the_sync_goes_on(world):
    w = world
    raw_change_rows(w.systems, [
        {**GOOD, "XKZH": None, "BDLX": "BG", "BDRQ": "20261120"},  # missing key
        {**GOOD, "XKZH": "330481100005", "BDLX": "BG", "BDRQ": "2026-13-45"},  # bad date
        {**GOOD, "XKZH": "330481100005", "BDLX": "QQ", "BDRQ": "20261120"},  # unknown code
        {**GOOD, "XKZH": "330481100005", "BDLX": "BG", "BDRQ": "20261120", "ZT": "09"},
        {**GOOD, "XKZH": "330481100005", "BDLX": "BG", "BDRQ": "20261120", "ZGY": "nobody"},
        {**GOOD, "XKZH": "999999999999", "BDLX": "BG", "BDRQ": "20261120"},  # no such customer
        {**GOOD, "XKZH": "330481100005", "BDLX": "HF", "BDRQ": "20261121"},  # fine
    ])
    delivery(w.systems, "330401000001", "PS-BAD", planned="yesterday")
    delivery(w.systems, "330401000001", "PS-OK", status="SIGNED")
    results = w.sync("monopoly", "logistics")
    assert all(r.ok for r in results)
    with w.app.app_context():
        s = _session(w.app)
        reasons = sorted(s.scalars(select(ExchangeLog.reason).where(
            ExchangeLog.status == "quarantined")))
        assert reasons == sorted([
            "missing XKZH", "bad date '2026-13-45' in BDRQ", "unknown code 'QQ' in BDLX",
            "unknown code '09' in ZT", "unknown person code 'nobody'",
            "unknown license no 999999999999", "bad date 'yesterday' in plannedDate"])
        assert s.scalar(select(func.count()).select_from(LicenseEvent)) == 1
        assert s.scalars(select(Delivery.source_key)).all() == ["PS-OK"]
        day = s.scalars(select(ExchangeDay).where(ExchangeDay.source == "monopoly")).one()
        assert (day.read, day.changed, day.quarantined) == (7, 1, 6)
        logged = s.scalars(select(ExchangeLog).where(
            ExchangeLog.reason == "unknown code 'QQ' in BDLX")).one()
        assert logged.payload["BDLX"] == "QQ" and logged.stream == "licences"


def test_a_malformed_row_keeps_the_history_of_the_rows_before_it_in_its_batch(world):
    w = world
    raw_change_rows(w.systems, [
        {**GOOD, "XKZH": "330481100005", "BDLX": "TY", "BDRQ": "20261120", "ZT": "02"},
        {**GOOD, "XKZH": None, "BDLX": "BG", "BDRQ": "20261120"},  # missing key
    ])
    assert all(r.ok for r in w.sync("monopoly"))
    with w.app.app_context():
        s = _session(w.app)
        customer = s.scalars(select(Customer).where(
            Customer.license_no == "330481100005")).one()
        assert customer.status == "SUSPENDED"
        changes = s.execute(select(FieldChange.field, FieldChange.old, FieldChange.new).where(
            FieldChange.customer_id == customer.id, FieldChange.source == "monopoly")).all()
        assert ("status", "ACTIVE", "SUSPENDED") in [tuple(c) for c in changes]
    with w.app.app_context():
        SyncEngine(w.app).reset("monopoly", None, 0)  # a re-run of the window: no change
    w.sync("monopoly")
    with w.app.app_context():
        assert _session(w.app).scalar(select(func.count()).select_from(FieldChange).where(
            FieldChange.customer_id == customer.id, FieldChange.source == "monopoly")) == \
            len(changes)


def test_a_source_that_is_down_backs_off_fails_cleanly_and_alerts_admins(sqlite_world):
    w = sqlite_world
    app = w.app
    with app.app_context():
        engine = SyncEngine(app, alert_after=2)
        engine.run_source("logistics")  # starts the simulated API
        delivery(w.systems, "330401000001", "PS-1", status="REFUSED")
        api = app.extensions["connectors"]["sim_api"]
        api.app.config["SIM_FAULT"] = "down"
        conn = connectors(app)["logistics"]
        assert isinstance(conn, RestConnector)
        sleeps: list[float] = []
        conn._sleep = sleeps.append
        before = conn.requests
        first = engine.run_source("logistics")
        assert not first.ok and "HTTP 503" in first.error
        assert sleeps == [0.2, 0.4, 0.8]  # exponential backoff between the retries
        assert conn.requests - before == 4
        s = _session(app)
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0  # nothing half-taken
        state = s.get(ConnectorState, "logistics")
        assert state.failures == 1 and "503" in state.last_error
        admin = w.org.people["admin"]
        assert s.scalar(select(func.count()).select_from(NoticeReceipt).where(
            NoticeReceipt.person_id == admin)) == 0
        engine.run_source("logistics")
        s.expire_all()
        assert s.get(ConnectorState, "logistics").failures == 2
        assert s.scalars(select(Notice.kind).join(NoticeReceipt).where(
            NoticeReceipt.person_id == admin)).all() == ["connector.failing"]
        engine.run_source("logistics")  # still down: no second alert
        assert s.scalar(select(func.count()).select_from(Notice).where(
            Notice.kind == "connector.failing")) == 1

        api.app.config["SIM_FAULT"] = None
        ok = engine.run_source("logistics")
        assert ok.ok and ok.read == 1
        s.expire_all()
        state = s.get(ConnectorState, "logistics")
        assert state.failures == 0 and state.last_error is None
        assert s.scalar(select(func.count()).select_from(Delivery)) == 1


def test_a_database_source_that_is_down_is_reported(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/portal.db", SIM_DIR=str(tmp_path / "sim"),
                   CONNECTOR_URLS=[f"monopoly=sqlite:///{tmp_path}/nowhere/x.db"])
    with app.app_context():
        result = SyncEngine(app).run_source("monopoly")
        assert not result.ok and "monopoly" in result.error
    app.extensions["portal"].db.engine.dispose()


def test_the_schedule_backs_off_from_a_source_that_keeps_failing(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/portal.db", SIM_DIR=str(tmp_path / "sim"),
                   CONNECTOR_URLS=[f"monopoly=sqlite:///{tmp_path}/nowhere/x.db"])
    with app.app_context():
        engine = SyncEngine(app)
        first = engine.scheduled_run("monopoly", every=1)
        assert first is not None and not first.ok
        s = _session(app)
        failed_at = s.get(ConnectorState, "monopoly").last_run_at
        s.rollback()

        def attempt(after: float):
            return engine.scheduled_run("monopoly", every=1,
                                        now=failed_at + timedelta(seconds=after))

        assert attempt(1.9) is None  # one failure: the next run waits 1 × 2 s
        second = attempt(2.1)
        assert second is not None and not second.ok
        failed_at = s.get(ConnectorState, "monopoly").last_run_at
        s.rollback()
        assert attempt(3.9) is None  # two in a row: 4 s
        assert attempt(4.1) is not None
        assert s.scalar(select(func.count()).select_from(ExchangeLog).where(
            ExchangeLog.status == "failed")) == 3  # one line per attempt, none per skipped turn
        s.get(ConnectorState, "monopoly").failures = 20
        s.commit()
        assert attempt(MAX_RETRY_PAUSE - 1) is None  # the pause stops growing at its cap
        assert attempt(MAX_RETRY_PAUSE + 1) is not None
    app.extensions["portal"].db.engine.dispose()


def test_rerunning_a_window_creates_nothing_twice(world):
    w = world
    w.sync()
    licence_txn(w.systems, "330481100003", "TY", ZT="02")
    licence_txn(w.systems, "330481100003", "HF", ZT="01")
    marketing_update(w.systems, "330401000003", grade_code="D25")
    w.sync()
    with w.app.app_context():
        s = _session(w.app)
        counts = {t.__name__: s.scalar(select(func.count()).select_from(t))
                  for t in (LicenseEvent, FieldChange, OutboxEvent, Notice, NoticeReceipt)}
        engine = SyncEngine(w.app)
        for source in ("monopoly", "marketing", "logistics"):
            engine.reset(source, None, 0)
            assert engine.run_source(source).ok
        s.expire_all()
        again = {t.__name__: s.scalar(select(func.count()).select_from(t))
                 for t in (LicenseEvent, FieldChange, OutboxEvent, Notice, NoticeReceipt)}
        assert again == counts
        # The older suspension re-read does not win over the later resumption.
        c = s.scalars(select(Customer).where(Customer.license_no == "330481100003")).one()
        assert c.status == "ACTIVE" and c.grade == 25
        assert int(s.get(Watermark, ("monopoly", "licences")).position) == 2


def test_only_the_mapped_fields_are_synced(tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    for f in BUILTIN_DIR.glob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        if f.name == "monopoly.yaml":  # this portal does not take addresses from 专卖
            text = text.replace("      address: JYDZ\n", "")
        (folder / f.name).write_text(text, encoding="utf-8")
    app = make_app(f"sqlite:///{tmp_path}/portal.db", SIM_DIR=str(tmp_path / "sim"),
                   CONNECTOR_MAPPINGS=str(folder))
    w = build_world(app)
    licence_txn(w.systems, "330481100004", "BG", JYDZ="海宁市新地址9号", FZR="李四")
    w.sync("monopoly")
    with app.app_context():
        c = _session(app).scalars(select(Customer).where(
            Customer.license_no == "330481100004")).one()
        assert c.operator_name == "李四" and c.address == ""
    _shutdown(app, w)


def test_conflicting_sources_are_flagged_in_the_unified_view(sqlite_world):
    w = sqlite_world
    marketing_update(w.systems, "330401000002", cust_name="海宁测试便利店二号")
    licence_txn(w.systems, "330481100002", "BB")
    w.sync("marketing", "monopoly")
    with w.app.app_context():
        s = _session(w.app)
        c = s.scalars(select(Customer).where(Customer.license_no == "330481100002")).one()
        view = {f.name: f for f in customer_view(s, c)}
        name = view["name"]
        assert name.value == "海宁测试便利店2" and name.source == "monopoly"
        assert name.conflict
        assert dict(name.by_source) == {"monopoly": "海宁测试便利店2",
                                        "marketing": "海宁测试便利店二号"}
        assert view["grade"].source == "marketing" and not view["grade"].conflict
        assert view["grade"].synced_at is not None


def test_a_mapping_with_a_mistake_names_the_file(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\ntype: sql\nurl: sqlite://\nstreams:\n  - name: s\n"
                   "    resource: t\n    position: p\n    key: k\n"
                   "    match: {field: license_no, column: c}\n"
                   "    fields: {colour: c}\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"x.yaml: stream s: not customer fields"):
        load_source(Path(bad))
