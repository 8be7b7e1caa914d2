"""The simulated systems' databases: creating them, seeding them from the portal's customers,
and producing a realistic stream of changes in them (``portal sim run --rate N``)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from connectors.sim.schemas import (
    LOGISTICS,
    MARKETING,
    MONOPOLY,
    crm_customer,
    crm_order,
    crm_seq,
    wl_delivery,
    wl_route,
    wl_seq,
    wl_stop,
    zm_aj,
    zm_xkz,
    zm_xkz_bd,
)
from portal.toolkit import Customer, OrgUnit, Person

NAMES = ("monopoly", "marketing", "logistics")
ZT = {"PENDING": "00", "ACTIVE": "01", "SUSPENDED": "02", "EXPIRED": "03", "CANCELLED": "04",
      "REVOKED": "05"}
#: Licence transactions per year as a share of the stock (DOMAIN.md §6), for the stream.
TXN_WEIGHTS = (("YX", 20), ("BG", 8), ("TY", 3), ("HF", 3), ("XY", 2), ("BB", 2))
CASE_TYPES = (("A01", 40), ("A02", 20), ("A03", 15), ("A04", 10), ("A05", 5), ("A06", 3),
              ("A99", 7))
SIGN = (("SIGNED", 970), ("PROXY", 20), ("REFUSED", 5), ("CLOSED_SHOP", 5))
ROADS = ("人民路", "解放路", "中山路", "建设路", "文昌路", "新华路", "长水路", "海昌路")


def _ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in table], [w for _, w in table])[0]


def default_urls(folder: str | Path, overrides: Mapping[str, str] | None = None
                 ) -> dict[str, str]:
    folder = Path(folder)
    urls = {n: f"sqlite:///{folder / n}.db" for n in NAMES}
    urls.update({k: v for k, v in (overrides or {}).items() if k in NAMES})
    return urls


@dataclass
class SimSystems:
    """The three systems' engines. SQLite files by default, any SQLAlchemy URL works."""

    urls: Mapping[str, str]

    def __post_init__(self) -> None:
        self.engines: dict[str, Engine] = {}
        for name in NAMES:
            url = self.urls[name]
            if url.startswith("sqlite:///"):
                Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
            self.engines[name] = create_engine(
                url, **({"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}))

    def create(self) -> None:
        for name, meta in (("monopoly", MONOPOLY), ("marketing", MARKETING),
                           ("logistics", LOGISTICS)):
            meta.create_all(self.engines[name])

    def dispose(self) -> None:
        for e in self.engines.values():
            e.dispose()

    def is_seeded(self) -> bool:
        if not inspect(self.engines["monopoly"]).has_table("ZM_XKZ"):
            return False
        with self.engines["monopoly"].connect() as c:
            return bool(c.scalar(select(func.count()).select_from(zm_xkz)))

    # ------------------------------------------------------------------ seeding
    def seed(self, portal: Session, *, weeks: int = 8, seed: int = 2026,
             today: date | None = None) -> int:
        """Copy the portal's customers into the three systems, each in its own shape, with
        *weeks* of orders and deliveries. The change tables start empty: what exists at
        seeding time is the state both sides already agree on."""
        rng = random.Random(seed)
        today = today or date.today()
        usernames = dict(portal.execute(select(Person.id, Person.username)).all())
        units = dict(portal.execute(select(OrgUnit.id, OrgUnit.code)).all())
        zm, yx, wl = [], [], []
        routes: dict[str, str] = {}
        for k, c in enumerate(portal.scalars(select(Customer).order_by(Customer.id))):
            inspector = usernames.get(c.inspector_id, "")
            zm.append({"XKZH": c.license_no, "QYMC": c.name, "FZR": c.operator_name or "—",
                       "JYDZ": c.address or "—", "JYFW": "卷烟、雪茄烟零售",
                       "YXQZ": _ymd(c.license_valid_to or today + timedelta(days=900)),
                       "ZT": ZT.get(c.status, "01"), "ZGY": inspector,
                       "XCXL": c.inspection_route or "", "DWDM": units.get(c.org_unit_id, "")})
            yx.append({"cust_code": c.customer_code, "license_code": c.license_no,
                       "cust_name": c.name, "grade_code": f"D{c.grade}",
                       "credit": c.credit_level, "biz_format": c.business_format,
                       "market_type": c.market_type, "phone": c.phone, "address": c.address,
                       "manager_no": usernames.get(c.account_manager_id, ""),
                       "sales_line": c.sales_route or "",
                       "dept_code": units.get(c.org_unit_id, ""), "row_version": 0})
            route = c.delivery_route or "PS-00-01"
            routes.setdefault(route, usernames.get(c.deliveryman_id, ""))
            wl.append({"stopId": k + 1, "routeId": route, "custCode": c.customer_code,
                       "seq": k % 90 + 1, "addr": c.address, "version": 0})
        with self.engines["monopoly"].begin() as conn:
            _bulk(conn, zm_xkz, zm)
        with self.engines["marketing"].begin() as conn:
            _bulk(conn, crm_customer, yx)
            conn.execute(insert(crm_seq), [{"id": 1, "value": 0}])
        with self.engines["logistics"].begin() as conn:
            _bulk(conn, wl_route, [{"routeId": r, "vehicleNo": f"浙F{i:05d}", "deliverymanNo": m,
                                    "weekday": int(r[-2:]) if r[-2:].isdigit() else 1}
                                   for i, (r, m) in enumerate(sorted(routes.items()))])
            _bulk(conn, wl_stop, wl)
            conn.execute(insert(wl_seq), [{"id": 1, "value": 0}])
        stream = ChangeStream(self, rng, today - timedelta(weeks=weeks))
        for _week in range(weeks):
            stream.week_of_orders()
        return len(zm)

    # ------------------------------------------------------------------ helpers
    def next_version(self, conn: Any, system: str) -> int:
        seq = crm_seq if system == "marketing" else wl_seq
        conn.execute(update(seq).where(seq.c.id == 1).values(value=seq.c.value + 1))
        return int(conn.scalar(select(seq.c.value).where(seq.c.id == 1)))


def _bulk(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 2000):
        conn.execute(insert(table), rows[i:i + 2000])


class ChangeStream:
    """Random but plausible changes: licence transactions, cases, grade and manager changes,
    orders, route changes and deliveries, in the shares DOMAIN.md §6 describes."""

    KINDS = (("license", 30), ("case", 6), ("grade", 12), ("manager", 3), ("route", 4),
             ("delivery", 25), ("order", 20))

    def __init__(self, systems: SimSystems, rng: random.Random, day: date | None = None) -> None:
        self.sys, self.rng = systems, rng
        self.day = day or date.today()
        with systems.engines["monopoly"].connect() as c:
            self.licences = [r[0] for r in c.execute(select(zm_xkz.c.XKZH).order_by(zm_xkz.c.XKZH))]
            self.case_no = int(c.scalar(select(func.count()).select_from(zm_aj)) or 0)
        with systems.engines["marketing"].connect() as c:
            self.customers = [tuple(r) for r in c.execute(
                select(crm_customer.c.cust_code, crm_customer.c.manager_no)
                .order_by(crm_customer.c.cust_code))]
            self.managers = sorted({m for _c, m in self.customers})
        with systems.engines["logistics"].connect() as c:
            self.routes = [r[0] for r in c.execute(select(wl_route.c.routeId))]
            self.delivery_no = int(c.scalar(select(func.count()).select_from(wl_delivery)) or 0)
        self.order_no = 0

    def run(self, count: int) -> Iterator[str]:
        """Make *count* changes, yielding the kind of each."""
        kinds = [k for k, _ in self.KINDS]
        weights = [w for _, w in self.KINDS]
        for _ in range(count):
            kind = self.rng.choices(kinds, weights)[0]
            getattr(self, kind)()
            yield kind

    # ------------------------------------------------------------------ 专卖
    def license(self, license_no: str | None = None, txn: str | None = None) -> None:
        lic = license_no or self.rng.choice(self.licences)
        txn = txn or _weighted(self.rng, TXN_WEIGHTS)
        with self.sys.engines["monopoly"].begin() as conn:
            row = conn.execute(select(zm_xkz).where(lic == zm_xkz.c.XKZH)).mappings().first()
            if row is None:
                return
            new = dict(row)
            valid_to = datetime_date(row["YXQZ"])
            if txn == "YX" and valid_to - self.day > timedelta(days=365):
                txn = "BB"  # renewals come near expiry; far from it, a lost licence is reissued
            if txn == "YX":
                new["YXQZ"] = _ymd(max(self.day, valid_to) + timedelta(days=5 * 365))
            elif txn == "BG":
                if self.rng.random() < 0.5:
                    new["JYDZ"] = new["JYDZ"].split("路")[0][:-2] + \
                        f"{self.rng.choice(ROADS)}{self.rng.randrange(1, 999)}号"
                else:
                    new["FZR"] = new["FZR"][:1] + self.rng.choice("伟芳娜敏静丽强磊军洋勇艳杰")
            elif txn == "TY":
                new["ZT"] = "02"
            elif txn == "HF":
                new["ZT"] = "01"
            elif txn == "XY":
                new["ZT"] = "04"
            conn.execute(update(zm_xkz).where(lic == zm_xkz.c.XKZH).values(
                **{k: v for k, v in new.items() if k != "XKZH"}))
            conn.execute(insert(zm_xkz_bd).values(
                XKZH=lic, BDLX=txn, BDRQ=_ymd(self.day),
                **{k: new[k] for k in ("QYMC", "FZR", "JYDZ", "JYFW", "YXQZ", "ZT", "ZGY",
                                       "XCXL")}))

    def case(self) -> None:
        with self.sys.engines["monopoly"].begin() as conn:
            head = int(conn.scalar(select(func.max(zm_aj.c.GXXH))) or 0)
            open_cases = list(conn.execute(select(zm_aj.c.AJBH, zm_aj.c.AJZT).where(
                zm_aj.c.AJZT < "40").limit(20)))
            if open_cases and self.rng.random() < 0.5:
                ajbh, status = self.rng.choice(open_cases)
                nxt = {"10": "20", "20": "30", "30": "40"}[status]
                conn.execute(update(zm_aj).where(ajbh == zm_aj.c.AJBH).values(
                    AJZT=nxt, GXXH=head + 1,
                    JARQ=_ymd(self.day) if nxt == "40" else None,
                    FKJE=round(self.rng.uniform(500, 20000), 2) if nxt == "30" else zm_aj.c.FKJE))
                return
            self.case_no += 1
            lic = self.rng.choice(self.licences)
            name = conn.scalar(select(zm_xkz.c.QYMC).where(lic == zm_xkz.c.XKZH))
            conn.execute(insert(zm_aj).values(
                AJBH=f"嘉烟立〔{self.day.year}〕第{self.case_no:04d}号", XKZH=lic, DSR=name,
                AY=_weighted(self.rng, CASE_TYPES), AJZT="10", LARQ=_ymd(self.day),
                GXXH=head + 1))

    # ------------------------------------------------------------------ 营销
    def _customer_update(self, **values: Any) -> None:
        code = self.rng.choice(self.customers)[0]
        with self.sys.engines["marketing"].begin() as conn:
            version = self.sys.next_version(conn, "marketing")
            conn.execute(update(crm_customer).where(crm_customer.c.cust_code == code).values(
                row_version=version, **values))

    def grade(self) -> None:
        code = self.rng.choice(self.customers)[0]
        with self.sys.engines["marketing"].begin() as conn:
            grade = conn.scalar(select(crm_customer.c.grade_code).where(
                crm_customer.c.cust_code == code)) or "D14"
            new = max(1, min(30, int(grade[1:]) + self.rng.choice((-2, -1, 1, 2))))
            version = self.sys.next_version(conn, "marketing")
            conn.execute(update(crm_customer).where(crm_customer.c.cust_code == code).values(
                grade_code=f"D{new}", row_version=version))

    def manager(self) -> None:
        if self.managers:
            self._customer_update(manager_no=self.rng.choice(self.managers))

    def order(self, code: str | None = None, day: date | None = None) -> None:
        code = code or self.rng.choice(self.customers)[0]
        self.order_no += 1
        day = day or self.day
        cartons = max(1, int(self.rng.lognormvariate(2.5, 0.6)))
        with self.sys.engines["marketing"].begin() as conn:
            version = self.sys.next_version(conn, "marketing")
            conn.execute(insert(crm_order).values(
                order_no=f"O{day:%Y%m%d}{self.rng.randrange(10**6):06d}{self.order_no % 100:02d}",
                cust_code=code, order_date=day.isoformat(), qty_cartons=cartons,
                amount=round(cartons * self.rng.uniform(120, 260), 2), row_version=version,
                own_qty=int(cartons * self.rng.uniform(0.4, 0.85))))

    def week_of_orders(self) -> None:
        """About 90 % of customers order once a week (seeding only; bulk)."""
        rows = []
        with self.sys.engines["marketing"].begin() as conn:
            for code, _m in self.customers:
                if self.rng.random() < 0.9:
                    self.order_no += 1
                    cartons = max(1, int(self.rng.lognormvariate(2.5, 0.6)))
                    version = self.order_no
                    day = self.day + timedelta(days=self.rng.randrange(5))
                    rows.append({"order_no": f"O{day:%Y%m%d}{self.order_no:08d}",
                                 "cust_code": code, "order_date": day.isoformat(),
                                 "qty_cartons": cartons,
                                 "amount": round(cartons * self.rng.uniform(120, 260), 2),
                                 "row_version": version,
                                 "own_qty": int(cartons * self.rng.uniform(0.4, 0.85))})
            _bulk(conn, crm_order, rows)
            conn.execute(update(crm_seq).where(crm_seq.c.id == 1).values(value=self.order_no))
        self.day += timedelta(weeks=1)

    # ------------------------------------------------------------------ 物流
    def route(self) -> None:
        code = self.rng.choice(self.customers)[0]
        with self.sys.engines["logistics"].begin() as conn:
            version = self.sys.next_version(conn, "logistics")
            conn.execute(update(wl_stop).where(wl_stop.c.custCode == code).values(
                routeId=self.rng.choice(self.routes), version=version))

    def delivery(self) -> None:
        code = self.rng.choice(self.customers)[0]
        with self.sys.engines["logistics"].begin() as conn:
            stop = conn.execute(select(wl_stop.c.stopId, wl_stop.c.routeId).where(
                wl_stop.c.custCode == code)).first()
            if stop is None:
                return
            self.delivery_no += 1
            version = self.sys.next_version(conn, "logistics")
            status = _weighted(self.rng, SIGN)
            conn.execute(insert(wl_delivery).values(
                deliveryNo=f"PS{self.day:%Y%m%d}{self.delivery_no:07d}", stopId=stop[0],
                custCode=code, routeId=stop[1], plannedDate=self.day.isoformat(),
                signStatus=status,
                exceptionNote={"REFUSED": "客户拒收", "CLOSED_SHOP": "到店关门"}.get(status),
                version=version))


def datetime_date(ymd: str) -> date:
    return date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8]))
