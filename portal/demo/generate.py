"""The Jiaxing-like demo organisation (DOMAIN.md §5–6), generated from one seed and a fixed date,
so every machine, screenshot and bug report sees the same people, routes and licence numbers."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from portal.models import Customer, OrgUnit, Person, Post, PostAssignment
from portal.passwords import hash_password

#: Every date derives from this one, never from today: the output is the same on every run.
REFERENCE_DATE = date(2026, 11, 1)
BATCH_SIZE = 2000
VEHICLES = 50
WEEKDAYS = 5
MAIL_DOMAIN = "jxyc.example"


@dataclass(frozen=True)
class District:
    """A GB/T 2260 county-level area: its code starts every licence number issued there."""

    code: str
    place: str  # the name that prefixes shop names and addresses
    towns: tuple[str, ...]


@dataclass(frozen=True)
class UnitSpec:
    number: int  # the 2 digits after "3304" in customer codes
    code: str
    short: str
    title: str
    retailers: int  # share of the 20,000 retailers, DOMAIN.md §6
    districts: tuple[District, ...]


UNITS: tuple[UnitSpec, ...] = (
    UnitSpec(1, "SQ", "市区", "嘉兴市区烟草专卖局(营销部)", 4900, (
        District("330402", "嘉兴市南湖区", ("建设街道", "解放街道", "新嘉街道", "南湖街道",
                                          "新兴街道", "城南街道", "东栅街道", "长水街道",
                                          "七星街道", "大桥镇", "凤桥镇", "余新镇")),
        District("330411", "嘉兴市秀洲区", ("新城街道", "嘉北街道", "塘汇街道", "高照街道",
                                          "王江泾镇", "油车港镇", "新塍镇", "王店镇", "洪合镇")),
    )),
    UnitSpec(2, "JS", "嘉善", "嘉善县烟草专卖局(营销部)", 2260, (
        District("330421", "嘉善县", ("魏塘街道", "罗星街道", "惠民街道", "大云镇", "西塘镇",
                                     "干窑镇", "陶庄镇", "姚庄镇", "天凝镇")),
    )),
    UnitSpec(3, "HY", "海盐", "海盐县烟草专卖局(营销部)", 2200, (
        District("330424", "海盐县", ("武原街道", "西塘桥街道", "望海街道", "秦山街道",
                                     "沈荡镇", "百步镇", "于城镇", "通元镇", "澉浦镇")),
    )),
    UnitSpec(4, "HN", "海宁", "海宁市烟草专卖局(营销部)", 3880, (
        District("330481", "海宁市", ("硖石街道", "海洲街道", "海昌街道", "马桥街道", "许村镇",
                                     "长安镇", "盐官镇", "斜桥镇", "袁花镇", "黄湾镇",
                                     "周王庙镇", "丁桥镇")),
    )),
    UnitSpec(5, "PH", "平湖", "平湖市烟草专卖局(营销部)", 2830, (
        District("330482", "平湖市", ("当湖街道", "钟埭街道", "曹桥街道", "乍浦镇", "新埭镇",
                                     "新仓镇", "独山港镇", "林埭镇", "广陈镇")),
    )),
    UnitSpec(6, "TX", "桐乡", "桐乡市烟草专卖局(营销部)", 3930, (
        District("330483", "桐乡市", ("梧桐街道", "凤鸣街道", "龙翔街道", "高桥街道", "濮院镇",
                                     "屠甸镇", "崇福镇", "洲泉镇", "大麻镇", "河山镇", "石门镇",
                                     "乌镇镇")),
    )),
)
COUNTY_CODES = frozenset(d.code for u in UNITS for d in u.districts)
LICENSE_RE = re.compile(r"(?P<county>[0-9]{6})[12](?P<serial>[0-9]{5})")

CITY = ("JX", "嘉兴市烟草专卖局(公司)")
DEPARTMENTS = (("BGS", "办公室"), ("ZMC", "专卖监督管理处(专卖处)"), ("YXZX", "营销中心"),
               ("WLZX", "物流配送中心"), ("RSC", "人事处"))
#: Sub-units of every market unit: (kind, code suffix, name suffix). 营销部 first, so that
#: ``bumen01`` heads 市区营销部.
SUB_UNITS = (("marketing", "YX", "营销部"), ("monopoly", "ZM", "专卖管理所"),
             ("logistics", "PS", "配送站"))

POSTS = (
    ("inspector", "专管员", "Inspector", ["staff"]),
    ("account_manager", "客户经理", "Account manager", ["staff"]),
    ("deliveryman", "送货员", "Deliveryman", ["staff"]),
    ("dept_head", "部门负责人", "Department head", ["manager"]),
    ("leader", "市局领导", "Leader", ["leader", "manager"]),
    ("office", "办公室文员", "Office clerk", ["staff", "office"]),
    ("admin", "系统管理员", "Administrator", ["admin"]),
)


@dataclass(frozen=True)
class StaffSpec:
    post: str
    prefix: str
    total: int
    sub_kind: str


#: The three staff (三员), split across the units by their share of retailers.
THREE_STAFF = (StaffSpec("inspector", "zhuanguan", 60, "monopoly"),
               StaffSpec("account_manager", "kehu", 80, "marketing"),
               StaffSpec("deliveryman", "songhuo", 100, "logistics"))
LEADERS = 4
OFFICE_CLERKS = 6
ADMINS = ("admin", "admin02")

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
            "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯史陶顾"
            "毛郝龚邵钱严戴莫孔汤屠濮褚")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文斌辉鹏宇浩凯晨欣怡佳琪雪梅"
         "志红海燕俊峰婷玲健飞鑫波宁晓亮林云丹萍慧春新龙晶嘉瑜琳倩颖锋菁荣德振永立晴")
ROADS = ("人民路", "中山路", "解放路", "建设路", "文昌路", "府前街", "城南路", "环城东路",
         "环城西路", "体育路", "工农路", "新华路", "健康路", "长水路", "南溪路", "友谊路", "花园路",
         "庆丰路", "百花路", "学院路", "光明街", "东方路", "迎宾路", "振兴路", "团结路", "青年路",
         "育才路", "梅园路", "桃园路", "商业街")

#: DOMAIN.md §3 shares (十堰), in basis points.
FORMATS = (("便利店", 8660), ("其他", 620), ("烟草专业店", 480), ("娱乐服务类", 190),
           ("超市", 50), ("商场", 4))
CREDIT_LEVELS = (("AA", 9670), ("C", 140), ("D", 120), ("A", 20), ("AAA", 20), ("B", 6))
SHOP_WORDS = {
    "便利店": ("便利店", "食杂店", "小卖部", "副食品店", "百货店", "便民店"),
    "其他": ("五金店", "水果店", "饭店", "加油站便利店", "宾馆", "农家乐"),
    "烟草专业店": ("烟酒商行", "烟酒店", "名烟名酒店", "烟草专卖店"),
    "娱乐服务类": ("棋牌室", "茶室", "KTV", "网吧", "休闲会所"),
    "超市": ("超市", "生活超市", "购物中心"),
    "商场": ("商场", "百货商场"),
}
URBAN_SHARE = 0.70
ENTITY_ENTERPRISE_SHARE = 0.07
STATUSES = (("ACTIVE", 9500), ("SUSPENDED", 200), ("CANCELLED", 150), ("EXPIRED", 150))
GRADE_MEAN, GRADE_SD = 14, 6


class DemoDataError(click.ClickException):
    """The database is not empty; the command line prints the message instead of a traceback."""


def is_valid_license_no(value: str) -> bool:
    """A Jiaxing retail licence number: county code (6) + entity type 1 or 2 + serial (5)."""
    match = LICENSE_RE.fullmatch(value)
    return bool(match and match["county"] in COUNTY_CODES and match["serial"] != "00000")


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split *total* in proportion to *weights* (largest remainder: the parts sum to *total*)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def chinese_name(rng: random.Random) -> str:
    given_len = 1 if rng.random() < 0.3 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(given_len))


def _mobile(rng: random.Random) -> str:
    return f"13{rng.randrange(10**9):09d}"


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# ---------------------------------------------------------------------------------------------
# Organisation and people (a few hundred ORM objects)
# ---------------------------------------------------------------------------------------------


@dataclass
class Unit:
    spec: UnitSpec
    id: int
    sub: dict[str, int]  # sub-unit kind -> org unit id
    staff: dict[str, list[int]] = field(default_factory=dict)  # post code -> person ids


@dataclass
class Org:
    city_id: int
    departments: dict[str, int]
    units: list[Unit]
    total_units: int


def _add_unit(session: Session, code: str, name: str, kind: str,
              parent: OrgUnit | None) -> OrgUnit:
    unit = OrgUnit(code=code, name=name, kind=kind, parent_id=parent.id if parent else None)
    session.add(unit)
    session.flush()  # the id is part of the path
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def build_org(session: Session) -> Org:
    city = _add_unit(session, CITY[0], CITY[1], "city", None)
    departments = {code: _add_unit(session, f"JX-{code}", name, "department", city).id
                   for code, name in DEPARTMENTS}
    units = []
    for spec in UNITS:
        county = _add_unit(session, f"JX-{spec.code}", spec.title, "county", city)
        sub = {kind: _add_unit(session, f"JX-{spec.code}-{suffix}", f"{spec.short}{label}",
                               kind, county).id
               for kind, suffix, label in SUB_UNITS}
        units.append(Unit(spec, county.id, sub))
    total = 1 + len(departments) + len(units) * (1 + len(SUB_UNITS))
    return Org(city.id, departments, units, total)


def build_posts(session: Session) -> dict[str, Post]:
    posts = {code: Post(code=code, name=name, name_en=name_en, roles=list(roles))
             for code, name, name_en, roles in POSTS}
    session.add_all(posts.values())
    session.flush()
    return posts


class _People:
    """Collects Person objects with their one post assignment, then flushes them at once."""

    def __init__(self, rng: random.Random, posts: dict[str, Post], password_hash: str) -> None:
        self.rng, self.posts, self.password_hash = rng, posts, password_hash
        self.added: list[tuple[str, Person]] = []

    def add(self, username: str, post: str, unit_id: int, manages: bool = False) -> Person:
        person = Person(username=username, display_name=chinese_name(self.rng),
                        org_unit_id=unit_id, email=f"{username}@{MAIL_DOMAIN}",
                        mobile=_mobile(self.rng), password_hash=self.password_hash,
                        assignments=[PostAssignment(post_id=self.posts[post].id,
                                                    org_unit_id=unit_id, manages=manages)])
        self.added.append((post, person))
        return person

    def counts(self) -> dict[str, int]:
        out = {code: 0 for code, *_ in POSTS}
        for post, _person in self.added:
            out[post] += 1
        return out


def build_people(session: Session, rng: random.Random, org: Org, posts: dict[str, Post],
                 password_hash: str) -> dict[str, int]:
    """Everyone, with fixed demo usernames (zhuanguan01, kehu01, songhuo01 and bumen01 are in
    市区; lingdao01, bangong01, admin in the city bureau). Returns the number per post."""
    people = _People(rng, posts, password_hash)
    shares = [u.spec.retailers for u in org.units]
    by_unit: list[dict[str, list[Person]]] = [{} for _ in org.units]
    for spec in THREE_STAFF:
        serial = 0
        for unit, count, mine in zip(org.units, apportion(spec.total, shares), by_unit,
                                     strict=True):
            mine[spec.post] = []
            for _ in range(count):
                serial += 1
                mine[spec.post].append(people.add(f"{spec.prefix}{serial:02d}", spec.post,
                                                  unit.sub[spec.sub_kind]))
    serial = 0
    for unit in org.units:
        for kind, _suffix, _label in SUB_UNITS:
            serial += 1
            people.add(f"bumen{serial:02d}", "dept_head", unit.sub[kind], manages=True)
    for i in range(1, LEADERS + 1):
        people.add(f"lingdao{i:02d}", "leader", org.city_id, manages=True)
    for i in range(1, OFFICE_CLERKS + 1):
        people.add(f"bangong{i:02d}", "office", org.departments["BGS"])
    for username in ADMINS:
        people.add(username, "admin", org.city_id)
    session.add_all(person for _post, person in people.added)
    session.flush()
    for unit, mine in zip(org.units, by_unit, strict=True):
        unit.staff = {post: [p.id for p in persons] for post, persons in mine.items()}
    return people.counts()


# ---------------------------------------------------------------------------------------------
# Routes and customers (bulk inserts)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRoute:
    code: str  # PS-<vehicle>-<weekday>
    deliveryman_id: int


def delivery_routes(units: Sequence[Unit]) -> dict[int, list[DeliveryRoute]]:
    """50 vehicles × 5 weekdays = 250 routes, vehicles split by retailers; a unit's routes go
    round-robin to its deliverymen, so each is primary on 2–3 of them."""
    vehicles = apportion(VEHICLES, [u.spec.retailers for u in units])
    routes: dict[int, list[DeliveryRoute]] = {}
    first = 1
    for unit, count in zip(units, vehicles, strict=True):
        men = unit.staff["deliveryman"]
        codes = [f"PS-{v:02d}-{d:02d}" for v in range(first, first + count)
                 for d in range(1, WEEKDAYS + 1)]
        routes[unit.id] = [DeliveryRoute(c, men[i % len(men)]) for i, c in enumerate(codes)]
        first += count
    return routes


class LicenseSerials:
    """The next free 5-digit serial per county code, with small gaps (cancelled numbers)."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def next(self, rng: random.Random, county: str) -> int:
        serial = self.last.get(county, 0) + rng.choice((1, 1, 1, 2))
        if serial > 99999:
            raise ValueError(f"too many customers: licence serials of {county} exhausted")
        self.last[county] = serial
        return serial


def _valid_to(rng: random.Random, status: str) -> date:
    """Issued uniformly over the five years before the reference date, valid five years; an
    EXPIRED licence was issued five to six years before, so it has lapsed."""
    five_years_ago = _add_years(REFERENCE_DATE, -5)
    if status == "EXPIRED":
        issued = five_years_ago - timedelta(days=rng.randrange(1, 366))
    else:
        span = (REFERENCE_DATE - five_years_ago).days
        issued = REFERENCE_DATE - timedelta(days=rng.randrange(span))
    return _add_years(issued, 5)


def _shop_name(rng: random.Random, place: str, town: str, business_format: str,
               enterprise: bool) -> str:
    word = rng.choice(SHOP_WORDS[business_format])
    if enterprise:
        return f"{place}{rng.choice(GIVEN)}{rng.choice(GIVEN)}{word}有限公司"
    pattern = rng.randrange(3)
    if pattern == 0:
        return f"{place}{rng.choice(SURNAMES)}记{word}"
    if pattern == 1:
        return f"{place}{town}{rng.choice(GIVEN)}{rng.choice(GIVEN)}{word}"
    return f"{place}{rng.choice(ROADS)}{word}"


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    return f"0573-8{rng.randrange(10**7):07d}"


def customer_rows(rng: random.Random, unit: Unit, count: int, routes: Sequence[DeliveryRoute],
                  serials: LicenseSerials) -> Iterator[dict[str, Any]]:
    """*count* retailers of one unit. Customers are cut into contiguous blocks per delivery
    route, per inspector and per account manager, so each of the three staff has one beat."""
    inspectors = unit.staff["inspector"]
    managers = unit.staff["account_manager"]
    county = unit.spec.districts[0].code
    towns = [(d, t) for d in unit.spec.districts for t in d.towns]
    for k in range(count):
        route_no = k * len(routes) // count
        inspector_no = k * len(inspectors) // count
        manager_no = k * len(managers) // count
        district, town = towns[route_no * len(towns) // len(routes)]  # a route keeps to a town
        status = _weighted(rng, STATUSES)
        business_format = _weighted(rng, FORMATS)
        enterprise = rng.random() < ENTITY_ENTERPRISE_SHARE
        serial = serials.next(rng, district.code)
        yield {
            "license_no": f"{district.code}{2 if enterprise else 1}{serial:05d}",
            "customer_code": f"3304{unit.spec.number:02d}{k + 1:06d}",
            "name": _shop_name(rng, district.place, town, business_format, enterprise),
            "operator_name": chinese_name(rng),
            "address": f"{district.place}{town}{rng.choice(ROADS)}{rng.randrange(1, 1000)}号",
            "business_format": business_format,
            "market_type": "城网" if rng.random() < URBAN_SHARE else "农网",
            "grade": min(30, max(1, round(rng.gauss(GRADE_MEAN, GRADE_SD)))),
            "credit_level": _weighted(rng, CREDIT_LEVELS),
            "phone": _phone(rng),
            "org_unit_id": unit.id,
            "status": status,
            "license_valid_to": _valid_to(rng, status),
            "inspection_route": f"ZM-{county}-{inspector_no + 1:02d}",
            "sales_route": f"YX-{unit.spec.code}-{manager_no + 1:02d}",
            "delivery_route": routes[route_no].code,
            "inspector_id": inspectors[inspector_no],
            "account_manager_id": managers[manager_no],
            "deliveryman_id": routes[route_no].deliveryman_id,
        }


@dataclass
class CustomerStats:
    total: int = 0
    active: int = 0
    routes: dict[str, set[str]] = field(
        default_factory=lambda: {"inspection": set(), "sales": set(), "delivery": set()})

    def count(self, row: dict[str, Any]) -> None:
        self.total += 1
        self.active += row["status"] == "ACTIVE"
        for kind in self.routes:
            self.routes[kind].add(row[f"{kind}_route"])


def build_customers(session: Session, rng: random.Random, org: Org,
                    customers: int) -> CustomerStats:
    routes = delivery_routes(org.units)
    serials = LicenseSerials()
    stats = CustomerStats()
    counts = apportion(customers, [u.spec.retailers for u in org.units])
    for unit, count in zip(org.units, counts, strict=True):
        batch: list[dict[str, Any]] = []
        for row in customer_rows(rng, unit, count, routes[unit.id], serials):
            stats.count(row)
            batch.append(row)
            if len(batch) == BATCH_SIZE:
                session.execute(insert(Customer), batch)
                batch = []
        if batch:
            session.execute(insert(Customer), batch)
    return stats


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _summary(seed: int, org: Org, people: dict[str, int], stats: CustomerStats) -> str:
    staff = ", ".join(f"{n} {post}" for post, n in people.items())
    routes = stats.routes
    return (f"Demo data generated from seed {seed}: {org.total_units} org units "
            f"({len(org.units)} market units, each with 专卖管理所/营销部/配送站); "
            f"{sum(people.values())} people ({staff}); {stats.total} customers "
            f"({stats.active} active); routes: {len(routes['inspection'])} inspection, "
            f"{len(routes['sales'])} sales, {len(routes['delivery'])} delivery. "
            f"Every demo account's password is the DEMO_PASSWORD setting.")


def _app_context(app: Flask) -> AbstractContextManager[Any]:
    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        return nullcontext()
    return app.app_context()


def run(app: Flask, *, seed: int = 2026, customers: int = 20000, if_empty: bool = False) -> str:
    """Generate the demo organisation into *app*'s database, in one transaction, and let the
    plugins add theirs (hook ``portal_demo_data``). Returns a one-paragraph summary."""
    if customers < 0:
        raise ValueError("customers must not be negative")
    state = app.extensions["portal"]
    with _app_context(app), state.db.transaction() as session:
        if session.scalar(select(Person.id).limit(1)) is not None:
            if if_empty:
                return "People already exist in the database: demo data not generated."
            raise DemoDataError("the database already has people; demo data needs an empty "
                                "database (or pass --if-empty to skip quietly)")
        rng = random.Random(seed)
        password_hash = hash_password(state.settings["DEMO_PASSWORD"])  # once: argon2 is slow
        org = build_org(session)
        people = build_people(session, rng, org, build_posts(session), password_hash)
        stats = build_customers(session, rng, org, customers)
        state.plugins.collect("portal_demo_data", app=app, session=session, seed=seed)
    return _summary(seed, org, people, stats)
