"""The archive on SQLite and PostgreSQL: records from events (idempotent), Chinese full-text
search, who sees what, the archivist's form, bulk import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal.events import dispatch_pending, emit
from portal.toolkit import Principal
from portlets.archive import access, index
from portlets.archive.models import ArchiveAccess, ArchiveRecord
from portlets.archive.plugin import portal_search
from tests.conftest import Auth, Org, seed_org


class ArchiveCli:
    """``portal archive ...`` against the test's app (plugin commands join the ``portal``
    group only in ``portal.cli.main``)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def invoke(self, args: list[str]) -> Any:
        from click.testing import CliRunner
        from flask.cli import ScriptInfo

        from portlets.archive.plugin import archive_cli

        return CliRunner().invoke(archive_cli, args, obj=ScriptInfo(create_app=lambda: self.app))


def _session(app: Flask) -> Any:
    return app.extensions["portal"].db.session()


def _archive_event(app: Flask, **payload: Any) -> None:
    base = {"source": "outgoing", "title": "关于开展卷烟市场专项整治工作的通知",
            "number": "嘉烟〔2026〕12号", "year": 2026, "category": "文书",
            "retention": "永久", "body": "各县（市）局：为规范卷烟市场秩序，决定开展专项整治。",
            "url": "/docs/12"}
    with app.app_context():
        s = _session(app)
        emit(s, "document.archived", **{**base, **payload})
        s.commit()
        dispatch_pending(app)


def _principal(app: Flask, org: Org, username: str, **extra: Any) -> Principal:
    from portal.models import Person

    with app.app_context():
        p = _session(app).get(Person, org.people[username])
        defaults: dict[str, Any] = {"person_id": p.id, "username": username,
                                    "display_name": p.display_name,
                                    "org_unit_id": p.org_unit_id}
        return Principal(**{**defaults, **extra})


def _titles(app: Flask, principal: Principal, q: str) -> list[str]:
    with app.test_request_context():
        return [r.title for r in portal_search(principal=principal, query=q)]


@pytest.fixture
def org_db(db_app: Flask) -> Org:
    return seed_org(db_app)


def test_event_makes_one_record_however_often_it_is_delivered(db_app: Flask, org_db: Org
                                                              ) -> None:
    _archive_event(db_app, unit_id=org_db.city, unit_ids=[org_db.unit_a])
    with db_app.app_context():
        s = _session(db_app)
        event_id = s.scalar(ArchiveRecord.__table__.select().with_only_columns(
            ArchiveRecord.event_id))
        # Replay the same event as a crashed dispatcher would.
        from portal.events import DomainEvent
        from portlets.archive.plugin import portal_handle_event

        payload = {"source": "outgoing", "title": "关于开展卷烟市场专项整治工作的通知",
                   "number": "嘉烟〔2026〕12号", "year": 2026, "category": "文书",
                   "retention": "永久", "unit_id": org_db.city, "unit_ids": [org_db.unit_a]}
        portal_handle_event(event=DomainEvent(event_id, "document.archived", payload, None))
        s.commit()
        rows = s.query(ArchiveRecord).all()
        assert len(rows) == 1
        r = rows[0]
        assert (r.category, r.retention, r.issuer, r.year) == ("document", "permanent",
                                                                "嘉兴市局", 2026)
        assert [a.unit_id for a in s.query(ArchiveAccess).all()] == [org_db.unit_a]


def test_bad_event_payload_is_logged_not_stored(db_app: Flask, org_db: Org,
                                                caplog: pytest.LogCaptureFixture) -> None:
    _archive_event(db_app, title="", unit_id=org_db.city)
    with db_app.app_context():
        assert _session(db_app).query(ArchiveRecord).count() == 0
    assert "cannot be archived" in caplog.text


def test_chinese_search_finds_words_inside_longer_words(db_app: Flask, org_db: Org) -> None:
    _archive_event(db_app, title="卷烟市场专项整治工作方案", number="嘉烟〔2026〕1号",
                   unit_id=org_db.city, unit_ids=[org_db.city], body="")
    _archive_event(db_app, title="物流配送线路调整的通知", number="嘉烟〔2026〕2号",
                   unit_id=org_db.city, unit_ids=[org_db.city],
                   body="送货员按新线路配送。")
    zg = _principal(db_app, org_db, "zg")
    assert _titles(db_app, zg, "专项整治") == ["卷烟市场专项整治工作方案"]
    assert _titles(db_app, zg, "卷烟") == ["卷烟市场专项整治工作方案"]
    assert _titles(db_app, zg, "卷烟市场专项整治") == ["卷烟市场专项整治工作方案"]
    assert _titles(db_app, zg, "配送 送货员") == ["物流配送线路调整的通知"]
    assert _titles(db_app, zg, "专项整治 送货员") == []
    assert _titles(db_app, zg, "！？") == []
    # An office term unknown to jieba's own dictionary, inside a longer run of characters.
    _archive_event(db_app, title="关于烟草专卖品准运证管理工作的通知", number="嘉烟〔2026〕5号",
                   unit_id=org_db.city, unit_ids=[org_db.city], body="")
    assert _titles(db_app, zg, "准运证") == ["关于烟草专卖品准运证管理工作的通知"]
    result = ArchiveCli(db_app).invoke(["reindex"])
    assert result.exit_code == 0 and "reindexed 3" in result.output
    assert _titles(db_app, zg, "专项整治") == ["卷烟市场专项整治工作方案"]


def test_title_words_rank_above_body_words_and_snippet_marks_them(db_app: Flask, org_db: Org
                                                                  ) -> None:
    _archive_event(db_app, title="年度工作总结", number="嘉烟〔2026〕3号", unit_id=org_db.city,
                   unit_ids=[org_db.city], body="其中一项是档案规范化管理，完成了验收。")
    _archive_event(db_app, title="档案规范化管理办法", number="嘉烟〔2026〕4号",
                   unit_id=org_db.city, unit_ids=[org_db.city], body="为加强档案工作。")
    zg = _principal(db_app, org_db, "zg")
    with db_app.test_request_context():
        hits = list(portal_search(principal=zg, query="档案规范化"))
    assert [h.title for h in hits] == ["档案规范化管理办法", "年度工作总结"]
    assert "<mark>档案规范化</mark>" in str(hits[1].snippet)
    assert hits[0].score > hits[1].score


def test_records_of_another_unit_are_not_found(db_app: Flask, org_db: Org) -> None:
    _archive_event(db_app, title="海宁专卖所卷烟市场检查总结", number="海烟〔2026〕1号",
                   unit_id=org_db.unit_a, unit_ids=[org_db.unit_a])
    _archive_event(db_app, title="桐乡卷烟市场检查总结", number="桐烟〔2026〕1号",
                   unit_id=org_db.unit_b, unit_ids=[org_db.unit_b])
    _archive_event(db_app, title="全市卷烟市场检查总结", number="嘉烟〔2026〕9号",
                   unit_id=org_db.city, unit_ids=[org_db.city])
    zg = _principal(db_app, org_db, "zg")          # in 海宁 (unit_a)
    assert sorted(_titles(db_app, zg, "检查总结")) == ["全市卷烟市场检查总结",
                                                   "海宁专卖所卷烟市场检查总结"]
    zg2 = _principal(db_app, org_db, "zg2")        # in 桐乡 (unit_b)
    assert sorted(_titles(db_app, zg2, "检查总结")) == ["全市卷烟市场检查总结",
                                                    "桐乡卷烟市场检查总结"]
    leader = _principal(db_app, org_db, "ld", managed_units=(org_db.city,))
    assert len(_titles(db_app, leader, "检查总结")) == 3
    admin = _principal(db_app, org_db, "admin", roles=("admin",))
    assert len(_titles(db_app, admin, "检查总结")) == 3
    with db_app.app_context():
        assert access.visible_units(_session(db_app), zg) == sorted({org_db.city, org_db.unit_a})


def test_search_follows_a_reindexed_record_and_repeats_alike(db_app: Flask, org_db: Org
                                                            ) -> None:
    """PostgreSQL matches on ``tsv_match`` (generated from ``tsv``) and ranks with ``tsv``:
    both must follow a re-indexed record. The query is a literal in the statement (no
    generic plan); repeating a search past psycopg's prepare threshold (five) must not change
    its answer nor let another unit's record in."""
    _archive_event(db_app, title="卷烟市场专项整治工作方案", number="嘉烟〔2026〕1号",
                   unit_id=org_db.city, unit_ids=[org_db.unit_a])
    _archive_event(db_app, title="桐乡专项整治总结", number="桐烟〔2026〕1号",
                   unit_id=org_db.unit_b, unit_ids=[org_db.unit_b])
    zg = _principal(db_app, org_db, "zg")          # in 海宁 (unit_a)
    for _ in range(7):
        assert _titles(db_app, zg, "专项整治") == ["卷烟市场专项整治工作方案"]
        assert _titles(db_app, zg, "桐乡") == []
    with db_app.app_context():
        s = _session(db_app)
        record = s.query(ArchiveRecord).filter_by(number="嘉烟〔2026〕1号").one()
        record.title, record.body = "物流配送线路调整方案", "送货员按新线路配送。"
        s.flush()
        index.write(s, record)
        s.commit()
    assert _titles(db_app, zg, "专项整治") == []
    assert _titles(db_app, zg, "物流配送") == ["物流配送线路调整方案"]
    assert _titles(db_app, zg, "送货员") == ["物流配送线路调整方案"]


def test_visibility_follows_every_change_of_access_rows(db_app: Flask, org_db: Org) -> None:
    """On PostgreSQL the search reads the record's ``units`` (kept by triggers on
    ``archive_access``) instead of probing ``archive_access``: an access row inserted,
    moved to another unit or deleted, by any statement, must change who finds the record."""
    _archive_event(db_app, title="海宁专卖所卷烟市场检查总结", number="海烟〔2026〕1号",
                   unit_id=org_db.unit_a, unit_ids=[org_db.unit_a])
    zg = _principal(db_app, org_db, "zg")          # in 海宁 (unit_a)
    zg2 = _principal(db_app, org_db, "zg2")        # in 桐乡 (unit_b)
    assert (_titles(db_app, zg, "检查总结"), _titles(db_app, zg2, "检查总结")) == (
        ["海宁专卖所卷烟市场检查总结"], [])

    def change(statement: Any) -> None:
        with db_app.app_context():
            s = _session(db_app)
            s.execute(statement)
            s.commit()

    from sqlalchemy import delete, insert, update

    record = ArchiveAccess.record_id == select_record_id(db_app)
    change(update(ArchiveAccess).where(record).values(unit_id=org_db.unit_b))
    assert (_titles(db_app, zg, "检查总结"), _titles(db_app, zg2, "检查总结")) == (
        [], ["海宁专卖所卷烟市场检查总结"])
    change(insert(ArchiveAccess).values(record_id=select_record_id(db_app),
                                        unit_id=org_db.unit_a))
    assert (_titles(db_app, zg, "检查总结"), _titles(db_app, zg2, "检查总结")) == (
        ["海宁专卖所卷烟市场检查总结"], ["海宁专卖所卷烟市场检查总结"])
    change(delete(ArchiveAccess).where(record))
    assert (_titles(db_app, zg, "检查总结"), _titles(db_app, zg2, "检查总结")) == ([], [])
    admin = _principal(db_app, org_db, "admin", roles=("admin",))
    assert _titles(db_app, admin, "检查总结") == ["海宁专卖所卷烟市场检查总结"]


def select_record_id(app: Flask) -> int:
    with app.app_context():
        return int(_session(app).query(ArchiveRecord.id).one()[0])


def test_archive_page_filters_pages_and_refuses_bad_input(db_app: Flask, org_db: Org) -> None:
    for n in range(25):
        _archive_event(db_app, title=f"关于卷烟品牌培育的第{n}号报告", number=f"嘉烟〔2025〕{n}号",
                       year=2025 if n % 5 else 2024, category="文书" if n % 2 else "会计",
                       unit_id=org_db.city, unit_ids=[org_db.city])
    client = db_app.test_client()
    Auth(client).login("zg")
    page = client.get("/archive/?q=品牌培育")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "25" in html and "<mark>" not in html.split("search-results")[0]
    assert html.count('class="meta"') == 20
    assert client.get("/archive/?q=品牌培育&page=2").get_data(as_text=True).count(
        'class="meta"') == 5
    only = client.get("/archive/?q=品牌培育&year=2024&category=accounting")
    assert only.get_data(as_text=True).count('class="meta"') == 3  # n = 0, 10, 20
    assert client.get("/archive/?year=abc").status_code == 400
    assert client.get("/archive/?category=nonsense").status_code == 400
    assert client.get("/archive/?q=" + "长" * 61).status_code == 400
    assert client.get("/archive/?page=999").status_code == 400


def test_record_page_is_forbidden_to_other_units(db_app: Flask, org_db: Org) -> None:
    _archive_event(db_app, title="桐乡内部档案", number="桐烟〔2026〕2号",
                   unit_id=org_db.unit_b, unit_ids=[org_db.unit_b])
    with db_app.app_context():
        rid = _session(db_app).query(ArchiveRecord).one().id
    client = db_app.test_client()
    Auth(client).login("zg")
    assert client.get(f"/archive/{rid}").status_code == 403
    assert client.get("/archive/999999").status_code == 404
    Auth(client).logout()
    Auth(client).login("zg2")
    assert "桐乡内部档案" in client.get(f"/archive/{rid}").get_data(as_text=True)


def test_archivist_registers_a_paper_record(db_app: Flask, org_db: Org) -> None:
    client = db_app.test_client()
    Auth(client).login("zg")
    assert client.get("/archive/new").status_code == 403
    Auth(client).logout()
    Auth(client).login("bg")  # the office clerk keeps the archive
    form = {"title": "1998年专卖许可证发放登记册", "number": "嘉烟〔1998〕7号", "year": "1998",
            "category": "monopoly", "retention": "permanent", "unit_id": str(org_db.city),
            "unit_ids": [str(org_db.unit_a)], "body": "纸质档案，存放于档案室三号柜。"}
    bad = client.post("/archive/new", data={**form, "year": "98", "category": "x"})
    assert bad.status_code == 422
    with db_app.app_context():
        assert _session(db_app).query(ArchiveRecord).count() == 0
    ok = client.post("/archive/new", data=form)
    assert ok.status_code == 302
    again = client.post("/archive/new", data=form)
    assert again.status_code == 409
    with db_app.app_context():
        assert _session(db_app).query(ArchiveRecord).count() == 1
    zg = _principal(db_app, org_db, "zg")
    assert _titles(db_app, zg, "许可证") == ["1998年专卖许可证发放登记册"]


def test_bulk_import_is_all_or_nothing(db_app: Flask, org_db: Org, tmp_path: Path) -> None:
    runner = ArchiveCli(db_app)
    good = [{"title": f"会计凭证第{i}册", "number": f"财〔2020〕{i}号", "year": 2020,
             "category": "会计", "retention": "30年", "unit_id": "HN", "body": "记账凭证"}
            for i in range(1, 4)]
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps([*good, {"title": "", "year": 1800}]), encoding="utf-8")
    result = runner.invoke(["import", str(bad_file)])
    assert result.exit_code == 1
    assert "row 4" in result.output
    with db_app.app_context():
        assert _session(db_app).query(ArchiveRecord).count() == 0
    csv_file = tmp_path / "good.csv"
    csv_file.write_text("title,number,year,category,retention,unit_id,unit_ids,body\n" + "".join(
        f"{g['title']},{g['number']},2020,会计,30年,HN,HN;TX,记账凭证\n" for g in good),
        encoding="utf-8")
    result = runner.invoke(["import", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert "imported 3" in result.output
    result = runner.invoke(["import", str(csv_file)])
    assert result.exit_code == 1
    assert "row 1: number:" in result.output and "财〔2020〕1号" in result.output
    assert runner.invoke(["import", str(tmp_path / "missing.txt")]).exit_code == 1
    zg2 = _principal(db_app, org_db, "zg2")
    assert len(_titles(db_app, zg2, "会计凭证")) == 3


def test_snippet_escapes_html() -> None:
    out = str(index.snippet("<p>&lt;script&gt;专项整治</p>", ["专项"]))
    assert out == "&lt;script&gt;<mark>专项</mark>整治"
