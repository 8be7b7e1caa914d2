"""The six built-in example portlets through HTTP: quicklinks, my_customers, customer_stats,
profile, directory and today.

A local fixture builds a small organisation (a city, two counties), people holding the three
staff posts and the leader post, and customers whose licence dates are relative to today.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient

from portal.app import create_app
from portal.migrate import upgrade
from portal.passwords import hash_password
from portal.toolkit import (
    Customer,
    OrgUnit,
    Person,
    Post,
    PostAssignment,
    Variance,
    db_session,
)

PASSWORD = "pw-123456"
TODAY = date.today()
BULK = 55  # customers of the second account manager: two pages of 50

#: A layout only for the deliveryman, placing a window they may not use; every other post gets
#: the default page (every portlet the user may use), as no layout file exists for it.
DELIVERYMAN_LAYOUT = """
post: deliveryman
pages:
  - id: home
    title: 工作台
    windows:
      - {id: customers, portlet: my_customers, x: 0, y: 0, w: 12, h: 4, preferences: {limit: 5}}
      - {id: stats, portlet: customer_stats, x: 0, y: 4, w: 8, h: 5}
"""


@dataclass
class Seeded:
    app: Flask
    city: int
    hn: int
    tx: int


def _seed() -> tuple[int, int, int]:
    s = db_session()
    posts = {code: Post(code=code, name=name, name_en=name_en, roles=roles)
             for code, name, name_en, roles in [
                 ("inspector", "专管员", "Inspector", ["staff"]),
                 ("account_manager", "客户经理", "Account manager", ["staff"]),
                 ("deliveryman", "送货员", "Deliveryman", ["staff"]),
                 ("leader", "市局领导", "Leader", ["leader", "manager"]),
             ]}
    s.add_all(posts.values())
    city = OrgUnit(code="JX", name="嘉兴市局", kind="city")
    s.add(city)
    s.flush()
    city.path = f"/{city.id}/"
    counties = []
    for code, name in [("HN", "海宁市局"), ("TX", "桐乡市局")]:
        unit = OrgUnit(code=code, name=name, kind="county", parent_id=city.id)
        s.add(unit)
        s.flush()
        unit.path = f"{city.path}{unit.id}/"
        counties.append(unit)
    hn, tx = counties
    hashed = hash_password(PASSWORD)
    people: dict[str, int] = {}
    for username, name, post, unit, manages, active in [
        ("zg", "张专管", "inspector", hn, False, True),
        ("zg2", "李专管", "inspector", tx, False, True),
        ("km", "王经理", "account_manager", hn, False, True),
        ("km2", "陈经理", "account_manager", tx, False, True),
        ("sh", "赵送货", "deliveryman", hn, False, True),
        ("ld", "钱领导", "leader", city, True, True),
        ("ld2", "孙局长", "leader", tx, True, True),
        ("zlz", "张离职", "inspector", hn, False, False),
    ]:
        person = Person(username=username, display_name=name, org_unit_id=unit.id,
                        password_hash=hashed, active=active, mobile="13800000000",
                        email=f"{username}@example.com")
        s.add(person)
        s.flush()
        s.add(PostAssignment(person_id=person.id, post_id=posts[post].id, org_unit_id=unit.id,
                             manages=manages))
        people[username] = person.id

    def customer(license_no: str, name: str, unit: OrgUnit, grade: int, fmt: str,
                 valid_to: date, inspector: str, manager: str, status: str = "ACTIVE") -> None:
        s.add(Customer(license_no=license_no, customer_code="C" + license_no, name=name,
                       org_unit_id=unit.id, grade=grade, business_format=fmt, status=status,
                       license_valid_to=valid_to, inspector_id=people[inspector],
                       account_manager_id=people[manager], deliveryman_id=people["sh"]))

    customer("330481100001", "海宁临期便利店", hn, 5, "便利店", TODAY + timedelta(days=10),
             "zg", "km")
    customer("330481100002", "海宁停业超市", hn, 15, "超市", TODAY + timedelta(days=400),
             "zg", "km", status="SUSPENDED")
    customer("330481100003", "海宁正常商店", hn, 25, "烟草专业店", TODAY + timedelta(days=400),
             "zg", "km")
    customer("330481100004", "海宁过期烟酒店", hn, 12, "便利店", TODAY - timedelta(days=3),
             "zg", "km")
    customer("330483100001", "桐乡他人便利店", tx, 8, "便利店", TODAY + timedelta(days=200),
             "zg2", "km")
    for i in range(BULK):
        customer(f"33048320{i:04d}", f"桐乡批量店{i:02d}", tx, i % 30 + 1,
                 "超市" if i % 2 else "便利店", TODAY + timedelta(days=100 + i), "zg2", "km2")
    s.commit()
    return city.id, hn.id, tx.id


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "deliveryman.yaml").write_text(DELIVERYMAN_LAYOUT, encoding="utf-8")
    app = create_app({
        "DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "TESTING": True,
        "WTF_CSRF_ENABLED": False, "SECRET_KEY": "t",
        # The repository's own layouts/ would replace the default pages these tests use.
        "LAYOUTS_DIR": str(layouts),
        # A slow CI machine must not turn a render into a timeout box: the portlets' own
        # timeouts (1.5 s for most) count too, so scale them all.
        "PORTLET_TIMEOUT_SCALE": 10.0,
    })
    with app.app_context():
        upgrade(app)
        city, hn, tx = _seed()
    yield Seeded(app, city, hn, tx)
    app.extensions["portal"].db.engine.dispose()


@pytest.fixture
def client(seeded: Seeded) -> FlaskClient:
    return seeded.app.test_client()


def login(client: FlaskClient, username: str, *, english: bool = True) -> None:
    """Sign in; in English unless asked, so that assertions read the message ids (the zh_CN
    catalogue may or may not translate them)."""
    resp = client.post("/login", data={"username": username, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    if english:
        client.post("/locale", data={"locale": "en"})


def get_text(client: FlaskClient, url: str, status: int = 200) -> str:
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code)
    return resp.get_data(as_text=True)


def main(html: str) -> str:
    """The page's own content, without the top bar (which names the signed-in user)."""
    match = re.search(r"<main.*?</main>", html, re.S)
    assert match, "no <main>"
    return match.group(0)


def window(html: str, portlet_id: str) -> str:
    """The HTML of the first window of *portlet_id* on a page ("" when there is none)."""
    match = re.search(rf'<section class="window[^"]*"[^>]*data-portlet="{portlet_id}".*?</section>',
                      html, re.S)
    return match.group(0) if match else ""


# --- declarations ---------------------------------------------------------------------------


def test_declarations(seeded: Seeded) -> None:
    portlets = seeded.app.extensions["portal"].portlets
    expected = {
        "quicklinks": (Variance.NONE, "tools"),
        "my_customers": (Variance.USER, "customers"),
        "customer_stats": (Variance.USER, "customers"),
        "profile": (Variance.USER, "information"),
        "directory": (Variance.NONE, "tools"),
        "today": (Variance.USER, "information"),
    }
    for pid, (vary, category) in expected.items():
        p = portlets[pid]
        assert (p.cache.vary, p.category) == (vary, category), pid
        assert p.blueprint is not None and p.blueprint.template_folder == "templates"
        assert p.default_size.w <= 12 and p.cache.ttl > 0
        assert str(p.title) and str(p.description)
    assert portlets["today"].cache.ttl <= 60
    assert portlets["my_customers"].posts == {"inspector", "account_manager", "deliveryman"}
    assert portlets["customer_stats"].posts == {"inspector", "account_manager", "dept_head",
                                                "leader"}


# --- the homepage of each post ----------------------------------------------------------------


def test_inspector_homepage_shows_own_customers_and_stats(client: FlaskClient) -> None:
    login(client, "zg")
    html = get_text(client, "/")
    assert "window-error" not in html
    for pid in ("quicklinks", "my_customers", "profile", "directory", "today",
                "customer_stats"):
        assert window(html, pid), pid

    mine = window(html, "my_customers")
    for name in ("海宁临期便利店", "海宁停业超市", "海宁正常商店", "海宁过期烟酒店"):
        assert name in mine
    assert "桐乡他人便利店" not in mine and "桐乡批量店" not in mine
    assert "4 customers" in mine
    # Two active customers need renewal: one expires in 10 days, one already expired.
    assert "2 licences to renew within 30 days" in mine
    assert "Expires in 10 days" in mine and "Licence expired" in mine and "Suspended" in mine
    # Soonest expiry first.
    assert mine.index("海宁过期烟酒店") < mine.index("海宁临期便利店") < mine.index("海宁正常商店")
    assert 'href="/p/my_customers/"' in mine

    links = window(html, "quicklinks")
    assert len(re.findall(r'data-link="', links)) == 6
    assert "Office automation" in links and "repeat(3," in links

    profile = window(html, "profile")
    assert "张专管" in profile and "海宁市局" in profile and "Inspector" in profile
    assert "Staff" in profile and "zg@example.com" in profile

    directory = window(html, "directory")
    assert 'action="/p/directory/"' in directory and 'hx-get="/p/directory/"' in directory


def test_cached_windows_do_not_leak_between_users(client: FlaskClient) -> None:
    login(client, "zg")
    first = get_text(client, "/")
    assert "海宁临期便利店" in window(first, "my_customers")
    client.post("/logout")
    login(client, "zg2")
    html = get_text(client, "/")
    mine = window(html, "my_customers")
    assert "桐乡批量店00" in mine and "海宁临期便利店" not in mine
    assert f"{1 + BULK} customers" in mine
    assert "李专管" in window(html, "profile") and "桐乡市局" in window(html, "profile")
    assert "李专管" in window(html, "today") and "张专管" not in window(html, "today")


def test_deliveryman_sees_customers_but_not_stats(client: FlaskClient) -> None:
    login(client, "sh")
    html = get_text(client, "/")
    mine = window(html, "my_customers")
    assert f"{5 + BULK} customers" in mine
    assert mine.count("<li") == 5  # the layout's limit preference
    assert not window(html, "customer_stats")
    text = get_text(client, "/w/deliveryman.home/stats", status=403)
    assert "D1–D10" not in text and "customer-stats-data" not in text


def test_leader_may_not_open_my_customers_page(client: FlaskClient) -> None:
    login(client, "ld")
    html = get_text(client, "/")
    assert not window(html, "my_customers") and window(html, "customer_stats")
    get_text(client, "/p/my_customers/", status=403)


def test_pages_require_sign_in(client: FlaskClient) -> None:
    for url in ("/p/my_customers/", "/p/directory/?q=张"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --- my_customers: the full page ------------------------------------------------------------


def test_my_customers_page_is_paginated(client: FlaskClient) -> None:
    login(client, "km2")
    page1 = get_text(client, "/p/my_customers/")
    assert page1.count("桐乡批量店") == 50 and "Page 1 of 2" in page1
    assert f"{BULK} customers" in page1 and "page=2" in page1
    page2 = get_text(client, "/p/my_customers/?page=2")
    assert page2.count("桐乡批量店") == BULK - 50 and "Page 2 of 2" in page2
    assert "桐乡批量店00" in page1 and "桐乡批量店54" in page2  # soonest expiry first
    get_text(client, "/p/my_customers/?page=3", status=404)


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "１", "99999", ""])
def test_my_customers_bad_page_is_400(client: FlaskClient, page: str) -> None:
    login(client, "km2")
    text = get_text(client, f"/p/my_customers/?page={page}", status=400)
    assert "Page must be a whole number from 1 to 10000." in text


def test_my_customers_search_by_prefix(client: FlaskClient) -> None:
    login(client, "zg")
    by_licence = main(get_text(client, "/p/my_customers/?q=330481100002"))
    assert "海宁停业超市" in by_licence and "海宁临期便利店" not in by_licence
    by_name = main(get_text(client, "/p/my_customers/?q=海宁临"))
    assert "海宁临期便利店" in by_name and "1 customer" in by_name
    # Prefix only, own customers only, and "%" is a character, not a wildcard.
    assert "No customers found." in get_text(client, "/p/my_customers/?q=临期")
    assert "No customers found." in get_text(client, "/p/my_customers/?q=330483")
    assert "No customers found." in get_text(client, "/p/my_customers/?q=%25")
    get_text(client, "/p/my_customers/?q=" + "x" * 51, status=400)


# --- customer_stats -------------------------------------------------------------------------


def _chart_data(html: str) -> dict[str, list[tuple[str, int]]]:
    block = re.search(r'<script type="application/json" class="customer-stats-data">(.*?)</script>',
                      html, re.S)
    assert block, "no data block"
    data = json.loads(block.group(1))["data"]
    return {key: [(str(label), int(n)) for label, n in rows] for key, rows in data.items()}


def test_customer_stats_for_the_whole_city(client: FlaskClient) -> None:
    login(client, "ld")
    stats = window(get_text(client, "/"), "customer_stats")
    data = _chart_data(stats)
    # Active only (the suspended supermarket is left out): 4 in Haining/Tongxiang + 55.
    bulk_grades = [i % 30 + 1 for i in range(BULK)]
    bands = [sum(1 for g in [5, 25, 12, 8, *bulk_grades] if lo <= g <= hi)
             for lo, hi in ((1, 10), (11, 20), (21, 30))]
    assert data["grades"] == [("D1–D10", bands[0]), ("D11–D20", bands[1]),
                              ("D21–D30", bands[2])]
    formats = dict(data["formats"])
    assert formats == {"便利店": 3 + (BULK + 1) // 2, "超市": BULK // 2, "烟草专业店": 1}
    assert f"<b>{4 + BULK}</b>" in stats
    # Readable without JavaScript: the same figures as a table.
    assert "<table" in stats and f"<th scope=\"row\">D1–D10</th><td>{bands[0]}</td>" in stats
    assert "/static/vendor/echarts/echarts.min.js" in stats
    assert "<script src=" not in stats  # loaded once per page by the loader, never twice


def test_customer_stats_of_a_county_leader(client: FlaskClient) -> None:
    login(client, "ld2")
    data = _chart_data(window(get_text(client, "/"), "customer_stats"))
    assert sum(n for _label, n in data["grades"]) == 1 + BULK  # Tongxiang only
    assert "烟草专业店" not in dict(data["formats"])


# --- directory ------------------------------------------------------------------------------


def test_directory_search(client: FlaskClient) -> None:
    login(client, "zg")
    page = get_text(client, "/p/directory/?q=张")
    found = main(page)
    assert "<html" in page and "张专管" in found and "海宁市局" in found
    assert "张离职" not in found  # inactive people are not listed
    assert "zg@example.com" in found and "13800000000" in found
    by_username = main(get_text(client, "/p/directory/?q=ld"))
    assert "钱领导" in by_username and "孙局长" in by_username and "张专管" not in by_username
    assert "No one found" in get_text(client, "/p/directory/?q=专管")  # prefix only
    assert "No one found" in get_text(client, "/p/directory/?q=%25")

    resp = client.get("/p/directory/?q=张", headers={"HX-Request": "true"})
    fragment = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in fragment and "<form" not in fragment
    assert "张专管" in fragment and "张离职" not in fragment
    assert "HX-Request" in resp.headers["Vary"]

    get_text(client, "/p/directory/?q=" + "张" * 50)
    text = get_text(client, "/p/directory/?q=" + "张" * 51, status=400)
    assert "at most 50 characters" in text
    assert "<form" in get_text(client, "/p/directory/")  # no query: just the form


# --- today ----------------------------------------------------------------------------------


def test_today_in_chinese_and_english(client: FlaskClient) -> None:
    login(client, "zg", english=False)
    today = window(get_text(client, "/"), "today")
    weekday = "一二三四五六日"[TODAY.weekday()]
    assert f"{TODAY.year}年{TODAY.month}月{TODAY.day}日 星期{weekday}" in today
    assert "张专管" in today and f'datetime="{TODAY.isoformat()}"' in today

    client.post("/locale", data={"locale": "en"})
    today = window(get_text(client, "/"), "today")
    assert format_date(TODAY, "full", locale="en") in today
    assert re.search(r"Good (morning|afternoon|evening), 张专管\.", today)


def test_windows_speak_chinese_by_default(client: FlaskClient) -> None:
    """The default locale is zh_CN: titles and counts come from each package's catalogue."""
    login(client, "zg", english=False)
    html = get_text(client, "/")
    mine = window(html, "my_customers")
    assert "我的客户" in mine and "4 户" in mine and "2 户许可证需在 30 天内延续" in mine
    assert "10 天后到期" in mine and "许可证已过期" in mine and "停业" in mine
    assert "专卖管理系统" in window(html, "quicklinks")
    assert "姓名" in window(html, "profile") and "通讯录" in window(html, "directory")
    assert "张专管，" in window(html, "today")


# --- quicklinks: the edit mode --------------------------------------------------------------


def test_quicklinks_columns_preference(client: FlaskClient) -> None:
    login(client, "zg")
    url = "/w/inspector.home/quicklinks/edit"
    assert 'name="columns"' in get_text(client, url)
    assert client.post(url, data={"columns": "7"}).status_code == 400
    assert client.post(url, data={"columns": "5"}).status_code == 302
    assert "repeat(5," in window(get_text(client, "/"), "quicklinks")
