"""A sync killed with SIGKILL in the middle of 10,000 changes resumes without loss or
duplicates: the watermark is committed with the data it covers, and notices come from the
outbox, keyed by event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.models import LicenseEvent, Watermark
from portal.models import OutboxEvent
from portlets.notices.models import Notice, NoticeReceipt
from tests.conftest import ROOT
from tests.connectors.helpers import raw_change_rows

CHANGES = 10_000


def _portal_env(app) -> dict[str, str]:
    settings = app.extensions["portal"].settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({
        "PORTAL_DATABASE_URL": settings["DATABASE_URL"],
        "PORTAL_SIM_DIR": settings["SIM_DIR"],
        "PORTAL_SIM_DATABASES": ",".join(settings["SIM_DATABASES"]),
        "PORTAL_LAYOUTS_DIR": str(ROOT / "layouts"),
        "PORTAL_SECRET_KEY": "test-secret",
    })
    return env


def _sync(app, log: Path) -> subprocess.Popen:
    portal = Path(sys.executable).parent / "portal"
    with log.open("a") as out:
        return subprocess.Popen(
            [str(portal), "sync", "run", "monopoly", "--batch-size", "250"],
            env=_portal_env(app), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def _count(app, query) -> int:
    with app.extensions["portal"].db.engine.connect() as conn:
        return int(conn.scalar(query) or 0)


@pytest.mark.slow
def test_sigkill_in_the_middle_loses_nothing_and_duplicates_nothing(world, tmp_path):
    w = world
    log = tmp_path / "sync.log"
    lic = ["330481100000", "330481100001", "330481100002", "330481100003"]
    # Suspend / resume in turns: every row is a licence event with its own notice.
    raw_change_rows(w.systems, [
        {"XKZH": lic[i % 4], "BDLX": "TY" if (i // 4) % 2 == 0 else "HF", "BDRQ": "20261120",
         "QYMC": f"海宁测试便利店{i % 4}", "FZR": "张三", "JYDZ": "海宁市硖石街道1号",
         "JYFW": "卷烟零售", "YXQZ": "20290101", "ZT": "02" if (i // 4) % 2 == 0 else "01",
         "ZGY": "zg", "XCXL": "ZM-01"} for i in range(CHANGES)])
    events = select(func.count()).select_from(LicenseEvent)

    proc = _sync(w.app, log)
    deadline = time.monotonic() + 300
    while _count(w.app, events) < 1500:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    taken = _count(w.app, events)
    assert 0 < taken < CHANGES, "killed in the middle, not before or after"

    proc = _sync(w.app, log)
    assert proc.wait(timeout=1800) == 0, log.read_text()

    assert _count(w.app, events) == CHANGES
    assert _count(w.app, select(Watermark.position).where(
        Watermark.source == "monopoly", Watermark.stream == "licences")) == CHANGES
    changed = select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.type == "notification")
    assert _count(w.app, changed) == CHANGES
    notices = select(func.count()).select_from(Notice).where(Notice.kind.like("customer.%"))
    assert _count(w.app, notices) == CHANGES
    duplicates = select(func.count()).select_from(
        select(Notice.event_id).group_by(Notice.event_id)
        .having(func.count() > 1).subquery())
    assert _count(w.app, duplicates) == 0
    receipts = select(func.count()).select_from(NoticeReceipt)
    assert _count(w.app, receipts) == 3 * CHANGES  # inspector, account manager, deliveryman
    undelivered = select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.dispatched_at.is_(None))
    assert _count(w.app, undelivered) == 0
