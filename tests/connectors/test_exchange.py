"""信息交换平台: status per connector, daily summaries, exchange log, reconciliation by sample."""

from __future__ import annotations

from sqlalchemy import update

from connectors.sim.schemas import zm_xkz
from tests.conftest import Auth
from tests.connectors.helpers import licence_txn, raw_change_rows


def _admin(w):
    client = w.app.test_client()
    assert Auth(client).login("admin").status_code == 302
    return client


def test_status_page_shows_health_summaries_and_quarantined_rows(sqlite_world):
    w = sqlite_world
    licence_txn(w.systems, "330481100001", "TY", ZT="02")
    raw_change_rows(w.systems, [{"XKZH": "330481100001", "BDLX": "??", "BDRQ": "20261120"}])
    w.sync()
    api = w.app.extensions["connectors"]["sim_api"]
    api.app.config["SIM_FAULT"] = "down"
    with w.app.app_context():
        from connectors.sync.engine import SyncEngine, connectors

        connectors(w.app)["logistics"]._sleep = lambda _s: None
        SyncEngine(w.app).run_source("logistics")
    page = _admin(w).get("/exchange/").get_data(as_text=True)
    assert page.count("connector-ok") == 2 and page.count("connector-failing") == 1
    assert "HTTP 503" in page
    assert "unknown code &#39;??&#39; in BDLX" in page
    client = w.app.test_client()
    Auth(client).login("zg")
    assert client.get("/exchange/").status_code == 403


def test_reconciliation_lists_the_fields_where_source_and_portal_differ(sqlite_world):
    w = sqlite_world
    w.sync()
    client = _admin(w)
    page = client.post("/exchange/reconcile", data={"n": "50"}).get_data(as_text=True)
    assert "6 customers" in page or "6 位客户" in page
    # Someone edits 专卖's licence table behind its change log: the portal cannot know.
    with w.systems.engines["monopoly"].begin() as conn:
        conn.execute(update(zm_xkz).where(zm_xkz.c.XKZH == "330481100003").values(
            QYMC="改过名的店"))
    page = client.post("/exchange/reconcile", data={"n": "50"}).get_data(as_text=True)
    assert "改过名的店" in page and "海宁测试便利店3" in page
    assert client.post("/exchange/reconcile", data={"n": "0"}).status_code == 400
    assert client.post("/exchange/reconcile", data={"n": "x"}).status_code == 400
