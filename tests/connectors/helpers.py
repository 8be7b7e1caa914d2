"""Writing into the simulated sources the way their own applications would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update

from connectors.sim.schemas import crm_customer, wl_delivery, zm_aj, zm_xkz, zm_xkz_bd
from connectors.sim.systems import SimSystems


def licence_txn(systems: SimSystems, license_no: str, txn: str, day: str = "20261120",
                **changes: Any) -> None:
    """A licence transaction in 专卖: update the licence, append the change-table row."""
    with systems.engines["monopoly"].begin() as conn:
        row = dict(conn.execute(select(zm_xkz).where(license_no == zm_xkz.c.XKZH))
                   .mappings().one())
        row.update(changes)
        if changes:
            conn.execute(update(zm_xkz).where(license_no == zm_xkz.c.XKZH).values(**changes))
        conn.execute(insert(zm_xkz_bd).values(
            XKZH=license_no, BDLX=txn, BDRQ=day,
            **{k: row[k] for k in ("QYMC", "FZR", "JYDZ", "JYFW", "YXQZ", "ZT", "ZGY", "XCXL")}))


def raw_change_rows(systems: SimSystems, rows: list[dict[str, Any]]) -> None:
    with systems.engines["monopoly"].begin() as conn:
        conn.execute(insert(zm_xkz_bd), rows)


def marketing_update(systems: SimSystems, cust_code: str, **values: Any) -> None:
    with systems.engines["marketing"].begin() as conn:
        version = systems.next_version(conn, "marketing")
        conn.execute(update(crm_customer).where(crm_customer.c.cust_code == cust_code)
                     .values(row_version=version, **values))


def delivery(systems: SimSystems, cust_code: str, no: str, status: str = "SIGNED",
             planned: str = "2026-11-20", note: str | None = None) -> None:
    with systems.engines["logistics"].begin() as conn:
        version = systems.next_version(conn, "logistics")
        conn.execute(insert(wl_delivery).values(
            deliveryNo=no, stopId=1, custCode=cust_code, routeId="PS-00-01",
            plannedDate=planned, signStatus=status, exceptionNote=note, version=version))


def count(conn_or_session: Any, table: Any, *where: Any) -> int:
    return int(conn_or_session.scalar(select(func.count()).select_from(table).where(*where)))


def file_case(systems: SimSystems, license_no: str, case_no: str, status: str = "10",
              filed: str = "20261120", kind: str = "A01") -> None:
    with systems.engines["monopoly"].begin() as conn:
        head = int(conn.scalar(select(func.max(zm_aj.c.GXXH))) or 0)
        exists = conn.scalar(select(zm_aj.c.AJBH).where(case_no == zm_aj.c.AJBH))
        if exists:
            conn.execute(update(zm_aj).where(case_no == zm_aj.c.AJBH).values(
                AJZT=status, GXXH=head + 1))
        else:
            conn.execute(insert(zm_aj).values(AJBH=case_no, XKZH=license_no, DSR="当事人",
                                              AY=kind, AJZT=status, LARQ=filed, GXXH=head + 1))
