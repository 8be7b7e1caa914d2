"""Demo office affairs: four rooms, three cars, bookings this week, vehicle requests and trips
in every state (relative to today, so the homepage window is never empty)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import Person
from portlets.affairs.models import Booking, Room, Trip, Vehicle, VehicleRequest

ROOMS = (("第一会议室", "机关大楼 3 楼 301", 30), ("第二会议室", "机关大楼 3 楼 305", 12),
         ("视频会议室", "机关大楼 5 楼 502", 20), ("小会议室", "机关大楼 2 楼 208", 6))
VEHICLES = (("浙F·A1234", "别克 GL8", 7, "陈师傅"), ("浙F·B5678", "大众帕萨特", 5, "刘师傅"),
            ("浙F·C9012", "丰田考斯特", 20, "杨师傅"))
MEETINGS = ("卷烟市场周例会", "专卖执法案件研判会", "客户经理业务培训", "党支部学习会",
            "物流配送调度会", "办公室工作协调会")


def generate(session: Session, seed: int) -> None:
    rng = random.Random(seed + 808)
    people = {p.username: p for p in session.scalars(select(Person).where(Person.username.in_(
        ["kehu01", "zhuanguan01", "songhuo01", "bumen01", "lingdao01", "bangong01"])))}
    if not people:
        return
    rooms = [Room(name=n, location=loc, capacity=c, active=True, lock_version=0)
             for n, loc, c in ROOMS]
    cars = [Vehicle(plate=p, model=m, seats=s, driver=d, active=True, lock_version=0)
            for p, m, s, d in VEHICLES]
    session.add_all(rooms + cars)
    session.flush()
    today = date.today()
    now = datetime.now().replace(microsecond=0)
    bookers = [p for u, p in sorted(people.items()) if u != "songhuo01"]
    for day_offset in range(-1, 5):
        day = today + timedelta(days=day_offset)
        for room in rooms[:3]:
            hour = rng.choice((9, 10, 14, 15))
            booker = rng.choice(bookers)
            start = datetime.combine(day, time(hour, 0))
            session.add(Booking(room_id=room.id, title=rng.choice(MEETINGS), start_at=start,
                                end_at=start + timedelta(hours=rng.choice((1, 2))),
                                booker_id=booker.id, cancelled=False, created_at=now))
    requester = people.get("kehu01") or next(iter(people.values()))
    approver = people.get("bangong01")
    for i, (status, where) in enumerate((("pending", "海宁市局"), ("approved", "桐乡市局"),
                                         ("dispatched", "平湖市局"), ("rejected", "杭州"))):
        start = datetime.combine(today + timedelta(days=i + 1), time(8, 30))
        req = VehicleRequest(requester_id=requester.id, destination=where,
                             purpose="走访零售户，开展市场检查", passengers=rng.randint(1, 4),
                             start_at=start, end_at=start + timedelta(hours=8), status=status,
                             approver_id=approver.id if approver and status != "pending"
                             else None, driver="", comment="本周车辆紧张，请改期。"
                             if status == "rejected" else "", created_at=now)
        if status == "dispatched":
            req.vehicle_id, req.driver = cars[0].id, cars[0].driver
        session.add(req)
    for username, status, where, offset in (("kehu01", "pending", "杭州（省局培训）", 3),
                                            ("zhuanguan01", "approved", "宁波（案件协查）", 1)):
        person = people.get(username)
        if person is None:
            continue
        first = datetime.combine(today + timedelta(days=offset), time.min)
        session.add(Trip(traveller_id=person.id, unit_id=person.org_unit_id, destination=where,
                         purpose="参加业务培训" if "培训" in where else "协助外地案件调查",
                         start_on=first, end_on=first + timedelta(days=1), status=status,
                         comment="", created_at=now))
    session.flush()
