"""The three systems' schemas. Each was "built by a different vendor": 专卖 uses upper-case
pinyin abbreviations and its own status codes, 营销 English snake case with D-grades, 物流
camel case behind an HTTP API. Every table that the portal reads incrementally carries a
monotonically increasing change number (a change table or a row version)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

# ----------------------------------------------------------------------------- 专卖管理系统
MONOPOLY = MetaData()
#: 许可证 (licence): key XKZH = licence number.
zm_xkz = Table(
    "ZM_XKZ", MONOPOLY,
    Column("XKZH", String(12), primary_key=True),  # 许可证号
    Column("QYMC", String(100), nullable=False),  # 企业(字号)名称
    Column("FZR", String(50), nullable=False),  # 负责人
    Column("JYDZ", String(200), nullable=False),  # 经营地址
    Column("JYFW", String(100), nullable=False),  # 经营范围
    Column("YXQZ", String(8), nullable=False),  # 有效期至 YYYYMMDD
    Column("ZT", String(2), nullable=False),  # 状态 01 有效 02 停业 03 过期 04 注销 05 收回 00 待审
    Column("ZGY", String(20), nullable=False),  # 专管员工号
    Column("XCXL", String(24), nullable=False),  # 巡查线路
    Column("DWDM", String(8), nullable=False),  # 单位代码
)
#: 许可证变动 (licence transactions): the change table the portal reads; BDXH is its sequence.
zm_xkz_bd = Table(
    "ZM_XKZ_BD", MONOPOLY,
    Column("BDXH", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),  # 变动序号
    Column("XKZH", String(12), nullable=True),
    Column("BDLX", String(2), nullable=False),  # 变动类型 XB 新办 YX 延续 BG 变更 TY 停业 HF 恢复
    #                                             XY 歇业 ZX 注销 BB 补办
    Column("BDRQ", String(10), nullable=True),  # 变动日期 YYYYMMDD (free text in old rows)
    Column("QYMC", String(100)), Column("FZR", String(50)), Column("JYDZ", String(200)),
    Column("JYFW", String(100)), Column("YXQZ", String(8)), Column("ZT", String(2)),
    Column("ZGY", String(20)), Column("XCXL", String(24)),
)
#: 案件 (cases), updated in place; GXXH is a global update sequence.
zm_aj = Table(
    "ZM_AJ", MONOPOLY,
    Column("AJBH", String(40), primary_key=True),  # 案件编号 嘉烟立〔2026〕第0123号
    Column("XKZH", String(12)),  # NULL: unlicensed party
    Column("DSR", String(100), nullable=False),  # 当事人
    Column("AY", String(4), nullable=False),  # 案由 code, see AY_CODES
    Column("AJZT", String(2), nullable=False),  # 10 立案 20 调查 30 决定 40 结案 50 移送
    Column("LARQ", String(8), nullable=False),
    Column("JARQ", String(8)),
    Column("FKJE", Numeric(12, 2)),
    Column("GXXH", BigInteger, nullable=False, index=True),
)
AY_CODES = {"A01": "NONLOCAL_PURCHASE", "A02": "FAKE", "A03": "NO_LICENSE", "A04": "SMUGGLED",
            "A05": "SALE_TO_MINOR", "A06": "LICENSE_TRADING", "A07": "ONLINE_SALE",
            "A08": "E_CIG", "A09": "NO_TRANSPORT_PERMIT", "A99": "OTHER"}
ZT_CODES = {"00": "PENDING", "01": "ACTIVE", "02": "SUSPENDED", "03": "EXPIRED",
            "04": "CANCELLED", "05": "REVOKED"}

# ----------------------------------------------------------------------------- 营销系统
MARKETING = MetaData()
#: A global row-version counter, the way the vendor's ORM does it.
crm_seq = Table("crm_seq", MARKETING, Column("id", Integer, primary_key=True),
                Column("value", BigInteger, nullable=False))
crm_customer = Table(
    "crm_customer", MARKETING,
    Column("cust_code", String(16), primary_key=True),
    Column("license_code", String(12), nullable=False, unique=True),
    Column("cust_name", String(100), nullable=False),
    Column("grade_code", String(4), nullable=False),  # D1..D30
    Column("credit", String(4), nullable=False),
    Column("biz_format", String(20), nullable=False),
    Column("market_type", String(10), nullable=False),
    Column("phone", String(20)),
    Column("address", String(200)),
    Column("manager_no", String(20), nullable=False),
    Column("sales_line", String(24), nullable=False),
    Column("dept_code", String(8), nullable=False),
    Column("row_version", BigInteger, nullable=False, index=True),
)
crm_order = Table(
    "crm_order", MARKETING,
    Column("order_no", String(20), primary_key=True),  # O + YYYYMMDD + 6 digits
    Column("cust_code", String(16), nullable=False, index=True),
    Column("order_date", String(10), nullable=False),  # ISO date
    Column("qty_cartons", Integer, nullable=False),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("row_version", BigInteger, nullable=False, index=True),
    Column("own_qty", Integer),  # cartons of the company's own brands (market share)
)

# ----------------------------------------------------------------------------- 物流系统
LOGISTICS = MetaData()
wl_route = Table(
    "wl_route", LOGISTICS,
    Column("routeId", String(24), primary_key=True),  # PS-03-12
    Column("vehicleNo", String(12), nullable=False),
    Column("deliverymanNo", String(20), nullable=False),
    Column("weekday", Integer, nullable=False),
)
wl_stop = Table(
    "wl_stop", LOGISTICS,
    Column("stopId", Integer, primary_key=True),
    Column("routeId", String(24), nullable=False),
    Column("custCode", String(16), nullable=False, unique=True),
    Column("seq", Integer, nullable=False),
    Column("addr", String(200)),
    Column("version", BigInteger, nullable=False, index=True),
)
wl_delivery = Table(
    "wl_delivery", LOGISTICS,
    Column("deliveryNo", String(24), primary_key=True),
    Column("stopId", Integer, nullable=False),
    Column("custCode", String(16), nullable=False),
    Column("routeId", String(24), nullable=False),
    Column("plannedDate", String(10), nullable=False),
    Column("signStatus", String(12), nullable=False),  # SIGNED PROXY REFUSED CLOSED_SHOP
    Column("exceptionNote", Text),
    Column("version", BigInteger, nullable=False, index=True),
)
wl_seq = Table("wl_seq", LOGISTICS, Column("id", Integer, primary_key=True),
               Column("value", BigInteger, nullable=False))

SYSTEMS = {"monopoly": MONOPOLY, "marketing": MARKETING, "logistics": LOGISTICS}
