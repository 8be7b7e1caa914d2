"""The demo organisation: a Jiaxing-like city with six units, its staff and ~20,000 retailers.

Everything derives from one seed and a fixed reference date, so every machine gets the same
demo (and the same licence numbers in screenshots and bug reports).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from portal.models import Customer, OrgUnit, Person, Post, PostAssignment
from portal.passwords import hash_password

REFERENCE_DATE = date(2026, 11, 1)

#: (code, name, county code of licences, share of retailers) from DOMAIN.md §6.
UNITS = (
    ("SQ", "市区", "330402", 4900),
    ("TX", "桐乡", "330483", 3930),
    ("HN", "海宁", "330481", 3880),
    ("PH", "平湖", "330482", 2830),
    ("JS", "嘉善", "330421", 2260),
    ("HY", "海盐", "330424", 2200),
)
POSTS = (
    ("inspector", "专管员", "Inspector", ["staff"]),
    ("account_manager", "客户经理", "Account manager", ["staff"]),
    ("deliveryman", "送货员", "Deliveryman", ["staff"]),
    ("dept_head", "部门负责人", "Department head", ["manager"]),
    ("leader", "市局领导", "Leader", ["leader", "manager"]),
    ("office", "办公室文员", "Office clerk", ["staff", "office"]),
    ("admin", "系统管理员", "Administrator", ["admin"]),
)
STAFF = (("inspector", "zhuanguan", 60, "monopoly"), ("account_manager", "kehu", 80, "marketing"),
         ("deliveryman", "songhuo", 100, "logistics"))
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁"
            "谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程沈")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文斌辉鹏宇浩凯晨欣怡佳琪雪梅志红海燕"
FORMATS = (("便利店", 866), ("其他", 62), ("烟草专业店", 48), ("娱乐服务类", 19), ("超市", 5))
CREDIT = (("AA", 967), ("C", 14), ("D", 12), ("A", 2), ("AAA", 2), ("B", 3))
SHOP_WORDS = ("便利店", "超市", "烟酒商行", "食杂店", "百货店", "副食品店")
ROADS = ("人民路", "中山路", "解放路", "建设路", "文昌路", "海宁路", "长水路", "南湖大道", "庆丰路")


@dataclass
class _Unit:
    id: int
    code: str
    name: str
    county: str
    share: int
    sub: dict[str, int]


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def is_valid_license_no(value: str) -> bool:
    """12 digits: a Jiaxing county code, entity type 1 or 2, a 5-digit serial."""
    counties = {u[2] for u in UNITS} | {"330411"}
    return (len(value) == 12 and value.isdigit() and value[:6] in counties
            and value[6] in "12")


def _org(session: Session) -> tuple[OrgUnit, list[_Unit]]:
    def add(code: str, name: str, kind: str, parent: OrgUnit | None) -> OrgUnit:
        unit = OrgUnit(code=code, name=name, kind=kind, parent_id=parent.id if parent else None)
        session.add(unit)
        session.flush()
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        return unit

    city = add("JX", "嘉兴市烟草专卖局(公司)", "city", None)
    for code, name in (("BGS", "办公室"), ("ZMC", "专卖监督管理处"), ("YXZX", "营销中心"),
                       ("WLZX", "物流配送中心"), ("RSC", "人事处")):
        add(f"JX-{code}", name, "department", city)
    units = []
    for code, name, county, share in UNITS:
        title = "嘉兴市区烟草专卖局(营销部)" if code == "SQ" else f"{name}市烟草专卖局(营销部)"
        if name in ("嘉善", "海盐"):
            title = f"{name}县烟草专卖局(营销部)"
        u = add(f"JX-{code}", title, "county", city)
        sub = {kind: add(f"JX-{code}-{suffix}", f"{name}{label}", kind, u).id
               for kind, suffix, label in (("monopoly", "ZM", "专卖管理所"),
                                           ("marketing", "YX", "营销部"),
                                           ("logistics", "PS", "配送站"))}
        units.append(_Unit(u.id, code, name, county, share, sub))
    return city, units


def _people(session: Session, rng: random.Random, city: OrgUnit, units: list[_Unit],
            password_hash: str) -> dict[str, list[tuple[int, _Unit | None]]]:
    posts = {}
    for code, name, name_en, roles in POSTS:
        posts[code] = Post(code=code, name=name, name_en=name_en, roles=roles)
    session.add_all(posts.values())
    session.flush()
    total = sum(u.share for u in units)
    staff: dict[str, list[tuple[int, _Unit | None]]] = {code: [] for code, *_ in POSTS}

    def person(username: str, post: str, unit_id: int, unit: _Unit | None,
               manages: bool = False) -> None:
        p = Person(username=username, display_name=_name(rng), org_unit_id=unit_id,
                   password_hash=password_hash, email=f"{username}@jxyc.example",
                   mobile=f"13{rng.randrange(10**8, 10**9)}")
        session.add(p)
        session.flush()
        session.add(PostAssignment(person_id=p.id, post_id=posts[post].id, org_unit_id=unit_id,
                                   manages=manages))
        staff[post].append((p.id, unit))

    for post, prefix, count, kind in STAFF:
        n = 0
        for i, u in enumerate(units):
            share = count - n if i == len(units) - 1 else max(1, round(count * u.share / total))
            for _ in range(share):
                n += 1
                person(f"{prefix}{n:02d}", post, u.sub[kind], u)
    n = 0
    for u in units:
        for kind in ("monopoly", "marketing", "logistics"):
            n += 1
            person(f"bumen{n:02d}", "dept_head", u.sub[kind], u, manages=True)
    for i in range(1, 5):
        person(f"lingdao{i:02d}", "leader", city.id, None, manages=True)
    office = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "JX-BGS")) or city.id
    for i in range(1, 7):
        person(f"bangong{i:02d}", "office", office, None)
    person("admin", "admin", city.id, None)
    person("admin02", "admin", city.id, None)
    # bumen01 heads the 市区 monopoly office; the README's department head is 市区营销部: bumen02.
    return staff


def _customers(session: Session, rng: random.Random, units: list[_Unit], count: int,
               staff: dict[str, list[tuple[int, _Unit | None]]]) -> int:
    total = sum(u.share for u in units)
    serial = 0
    routes: set[str] = set()
    before = 0
    for i, u in enumerate(units):
        # 250 delivery routes: 50 vehicles × 5 weekdays, shared out by unit size (rounding the
        # running total keeps the sum at exactly 50).
        upto = before + u.share
        vehicles = max(1, round(50 * upto / total) - round(50 * before / total))
        before = upto
        n = count - serial if i == len(units) - 1 else round(count * u.share / total)
        mine = {post: [pid for pid, unit in staff[post] if unit is u]
                for post in ("inspector", "account_manager", "deliveryman")}
        rows: list[dict[str, Any]] = []
        for k in range(n):
            serial += 1
            r = rng.random()
            status = "ACTIVE" if r < 0.95 else "SUSPENDED" if r < 0.97 else \
                rng.choice(("CANCELLED", "EXPIRED"))
            issued = REFERENCE_DATE - timedelta(days=rng.randrange(5 * 365))
            inspector = mine["inspector"][k % len(mine["inspector"])]
            manager = mine["account_manager"][k % len(mine["account_manager"])]
            vehicle, weekday = k % vehicles + 1, (k // vehicles) % 5 + 1
            dman = mine["deliveryman"][(vehicle * 5 + weekday) % len(mine["deliveryman"])]
            route = f"PS-{u.code}{vehicle:02d}-{weekday}"
            routes.add(route)
            grade = min(30, max(1, round(rng.gauss(14, 6))))
            rows.append({
                "license_no": f"{u.county}{1 if rng.random() < 0.93 else 2}{k + 1:05d}",
                "customer_code": f"3304{i + 1:02d}{k + 1:06d}",
                "name": f"{u.name}{rng.choice(SURNAMES)}记{rng.choice(SHOP_WORDS)}",
                "operator_name": _name(rng),
                "address": f"{u.name}{rng.choice(ROADS)}{rng.randrange(1, 999)}号",
                "business_format": _weighted(rng, FORMATS),
                "market_type": "城网" if rng.random() < 0.7 else "农网",
                "grade": grade, "credit_level": _weighted(rng, CREDIT),
                "phone": f"0573-8{rng.randrange(1000000, 9999999)}",
                "org_unit_id": u.id, "status": status,
                "license_valid_to": issued + timedelta(days=5 * 365),
                "inspection_route": f"ZM-{u.county}-{mine['inspector'].index(inspector) + 1:02d}",
                "sales_route": f"YX-{u.code}-{mine['account_manager'].index(manager) + 1:02d}",
                "delivery_route": route,
                "inspector_id": inspector, "account_manager_id": manager,
                "deliveryman_id": dman,
            })
        for start in range(0, len(rows), 2000):
            session.execute(insert(Customer), rows[start:start + 2000])
    return len(routes)


def run(app: Flask, *, seed: int = 2026, customers: int = 20000, if_empty: bool = False) -> str:
    """Generate the demo into the app's database; returns a one-line summary."""
    state = app.extensions["portal"]
    with state.db.transaction() as session:
        if session.scalar(select(func.count(Person.id))):
            if if_empty:
                return "demo data already present; nothing done"
            raise RuntimeError("the database already has people; use an empty database")
        rng = random.Random(seed)
        password_hash = hash_password(state.settings["DEMO_PASSWORD"])
        city, units = _org(session)
        staff = _people(session, rng, city, units, password_hash)
        routes = _customers(session, rng, units, customers, staff)
        state.plugins.collect("portal_demo_data", app=app, session=session, seed=seed)
    people = {post: len(ids) for post, ids in staff.items()}
    return (f"demo data: {len(units)} units, people {people}, {customers} customers, "
            f"{routes} delivery routes")
