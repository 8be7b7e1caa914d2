"""The unified to-do list and search: the merge (order, counts per source, limits), plugins
that raise are left out, the built-in plugins' contributions, the pages and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from portal.search import MAX_QUERY, BadQuery, clean_query, excerpt, search
from portal.todo import todo_summary
from portal.toolkit import Principal
from tests.conftest import Auth, Org, make_app, seed_org
from tests.plugins.desk import Desk, Raiser


@pytest.fixture(params=["sqlite", "postgresql"])
def uapp(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path}/portal.db" if request.param == "sqlite" else \
        request.getfixturevalue("pg_url")
    app = make_app(url, PLUGINS=[("desk", Desk()), ("raiser", Raiser())],
                   DEFAULT_LOCALE="en")
    yield app
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def uorg(uapp: Flask) -> Org:
    return seed_org(uapp)


def _who(org: Org, username: str, **extra: Any) -> Principal:
    return Principal(person_id=org.people[username], username=username, display_name=username,
                     org_unit_id=org.unit_a, **extra)


def test_todo_merge_orders_by_deadline_counts_sources_and_leaves_out_a_raiser(
        uapp: Flask, uorg: Org, caplog: pytest.LogCaptureFixture) -> None:
    with uapp.test_request_context():
        summary = todo_summary(_who(uorg, "zg"))
        desk = [i.title for i in summary.items if i.url.startswith(("/d/", "/a/"))]
        assert desk == ["urgent", "sooner", "middle", "later", "no deadline"]
        counts = dict(summary.counts)
        assert (counts["督办"], counts["审批"]) == (3, 2)
        assert summary.total == sum(counts.values())
        only = todo_summary(_who(uorg, "zg"), source="审批")
        assert [i.title for i in only.items] == ["urgent", "middle"]
        assert dict(only.counts) == counts  # the tabs keep every source
    assert "raiser failed to list to-do items" in caplog.text
    assert "not a TodoItem" in caplog.text


def test_search_merge_groups_limits_and_leaves_out_a_raiser(
        uapp: Flask, uorg: Org, caplog: pytest.LogCaptureFixture) -> None:
    with uapp.test_request_context():
        groups = search(_who(uorg, "zg"), "巡查", per_source=10)
    by_source = {g.source: g for g in groups}
    assert "坏的" not in by_source
    assert by_source["督办"].total == 15
    assert [r.score for r in by_source["督办"].results] == list(range(14, 4, -1))
    assert [g.source for g in groups][:2] == ["督办", "审批"]
    assert "raiser failed to search" in caplog.text
    assert "not a SearchResult" in caplog.text


def test_query_cleaning_refuses_empty_and_too_long() -> None:
    app = Flask(__name__)
    from flask_babel import Babel

    Babel(app)
    with app.test_request_context():
        assert clean_query("  卷烟   市场 ") == "卷烟 市场"
        for bad in ("", "   ", None, "长" * (MAX_QUERY + 1)):
            with pytest.raises(BadQuery):
                clean_query(bad)


def test_excerpt_marks_words_and_escapes() -> None:
    out = str(excerpt("<p>关于<b>卷烟</b>市场 &lt;x&gt;</p>", ["卷烟"]))
    assert out == "关于 <mark>卷烟</mark> 市场 &lt;x&gt;"


def test_builtin_plugins_contribute_to_the_todo(uapp: Flask, uorg: Org) -> None:
    """Notices (unread) and connector alerts (admins) feed the list; collab is tested with its
    own lifecycle in tests/collab."""
    from connectors.models import ConnectorState, ExchangeLog
    from portal.models import Person
    from portlets.notices.models import Notice, NoticeReceipt

    with uapp.app_context():
        s = uapp.extensions["portal"].db.session()
        n = Notice(title="季度检查通知", content="<p>请按时完成</p>", sender_name="办公室",
                   submitted_at=datetime.now())
        s.add(n)
        s.flush()
        s.add(NoticeReceipt(notice_id=n.id, person_id=uorg.people["zg"]))
        s.add(ConnectorState(source="marketing", failures=3, last_error="timeout",
                             last_run_at=datetime.now()))
        s.add(ExchangeLog(source="monopoly", status="quarantined", reason="bad licence",
                          created_at=datetime.now() - timedelta(hours=2)))
        s.add(ExchangeLog(source="monopoly", status="quarantined", reason="old",
                          created_at=datetime.now() - timedelta(days=3)))
        s.commit()
        assert s.get(Person, uorg.people["zg"]) is not None
    with uapp.test_request_context():
        zg = todo_summary(_who(uorg, "zg"))
        assert dict(zg.counts).get("Notice") == 1
        assert "Connector alerts" not in dict(zg.counts)
        admin = todo_summary(_who(uorg, "admin", roles=("admin",)))
        alerts = [i for i in admin.items if i.source == "Connector alerts"]
        assert [a.urgent for a in alerts] == [True, False]
        assert "failed 3 times" in alerts[0].title
        assert alerts[1].title.startswith("1 source rows")
        flags = [i.urgent for i in admin.items]
        assert flags == sorted(flags, reverse=True)  # urgent items lead the list
        assert admin.items.index(alerts[0]) < 2


def test_builtin_plugins_contribute_to_search(uapp: Flask, uorg: Org) -> None:
    from portlets.notices.models import Notice, NoticeReceipt

    with uapp.app_context():
        s = uapp.extensions["portal"].db.session()
        n = Notice(title="冬季送货安全提示", content="<p>雨雪天气注意行车安全</p>",
                   sender_name="办公室", submitted_at=datetime.now())
        other = Notice(title="送货员培训", content="只给别人", sender_name="办公室",
                       submitted_at=datetime.now())
        s.add_all([n, other])
        s.flush()
        s.add(NoticeReceipt(notice_id=n.id, person_id=uorg.people["zg"]))
        s.add(NoticeReceipt(notice_id=other.id, person_id=uorg.people["km"]))
        s.commit()
    with uapp.test_request_context():
        groups = {g.source: g for g in search(_who(uorg, "zg"), "送货")}
        assert [r.title for r in groups["Notice"].results] == ["冬季送货安全提示"]
        customers = {g.source: g for g in search(_who(uorg, "zg"), "海宁测试便利店")}
        assert customers["Retail customers"].total == 6
        # zg2 works in the other county: none of those customers.
        outside = Principal(person_id=uorg.people["zg2"], username="zg2", display_name="zg2",
                            org_unit_id=uorg.unit_b)
        assert "Retail customers" not in {g.source for g in search(outside, "海宁测试便利店")}


def test_pages_and_bad_input(uapp: Flask, uorg: Org) -> None:
    client = uapp.test_client()
    assert client.get("/search?q=x").status_code in (302, 401)
    Auth(client).login("zg")
    page = client.get("/search?q=巡查")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "巡查 #14" in html and "巡查 #4" not in html and "Showing the best 10 of 15" in html
    assert client.get("/search").status_code == 200
    empty = client.get("/search?q=%20%20")
    assert empty.status_code == 400 and "Type something" in empty.get_data(as_text=True)
    long = client.get("/search?q=" + "长" * (MAX_QUERY + 1))
    assert long.status_code == 400 and "at most" in long.get_data(as_text=True)
    todo = client.get("/todo/")
    assert todo.status_code == 200
    text = todo.get_data(as_text=True)
    assert text.index("urgent") < text.index("sooner") < text.index("later")
    only = client.get("/todo/?source=审批").get_data(as_text=True)
    assert "urgent" in only and "sooner" not in only
    assert client.get("/todo/?source=" + "x" * 50).status_code == 400
    home = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in home
