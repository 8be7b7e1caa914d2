"""Who may see what, as a matrix of roles × actions: participants, leaders over the units
involved and admins see an item; nobody else sees or acts on it."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.collab.conftest import Actor, item_id_of
from tests.conftest import Org

# An item from zg (海宁 inspector) to km (海宁 account manager). Other people:
# sh (海宁 deliveryman, same unit, not involved), zg2 (桐乡 inspector), bm (head of 海宁),
# ld (city leader, manages the city), bg (city office clerk), admin.
VIEW = {"zg": 200, "km": 200, "bm": 200, "ld": 200, "admin": 200,
        "sh": 403, "zg2": 403, "bg": 403}


@pytest.fixture
def item(capp: Flask, corg: Org) -> int:
    return item_id_of(Actor(capp, "zg").create(target=f"person:{corg.people['km']}"))


@pytest.mark.parametrize("username, status", sorted(VIEW.items()))
def test_who_sees_the_item(capp: Flask, item: int, username: str, status: int) -> None:
    assert Actor(capp, username).client.get(f"/collab/items/{item}").status_code == status


# (action, fields) × who: 302 done, 409 not theirs to do now, 403 may not even see it.
ACTIONS = {
    "accept": {"km": 302, "zg": 409, "bm": 409, "ld": 409, "admin": 409, "sh": 403, "zg2": 403},
    "recall": {"zg": 302, "km": 409, "bm": 409, "ld": 409, "admin": 409, "sh": 403, "zg2": 403},
    "escalate": {"km": 302, "zg": 302, "bm": 302, "ld": 302, "admin": 302, "sh": 403,
                 "zg2": 403},
    "finish": {"km": 302, "zg": 409, "bm": 409, "ld": 409, "admin": 409, "sh": 403, "zg2": 403},
    "archive": {"zg": 409, "km": 409, "ld": 409, "admin": 409, "sh": 403, "zg2": 403},
}
FIELDS = {"escalate": {"reason": "时限紧"}, "finish": {"result": "已处理"}}


@pytest.mark.parametrize("action, username, status", [
    (a, u, st) for a, who in ACTIONS.items() for u, st in who.items()])
def test_who_may_act(capp: Flask, item: int, action: str, username: str, status: int) -> None:
    response = Actor(capp, username).act(item, action, **FIELDS.get(action, {}))
    assert response.status_code == status, response.get_data(as_text=True)[:500]


def test_department_inbox_any_member_claims_then_only_the_claimant_acts(
        capp: Flask, corg: Org) -> None:
    zg2 = Actor(capp, "zg2")
    item_id = item_id_of(zg2.create(target=f"unit:{corg.unit_a}"))
    km, sh, zg = Actor(capp, "km"), Actor(capp, "sh"), Actor(capp, "zg")
    for member in (km, sh, zg):  # every member of 海宁 sees it in the to-do folder
        assert "疑似销售非渠道卷烟" in member.client.get("/collab/").get_data(as_text=True)
    assert km.act(item_id, "finish", result="x").status_code == 409  # claim first
    assert sh.act(item_id, "accept").status_code == 302
    assert km.act(item_id, "accept").status_code == 409
    assert "疑似销售非渠道卷烟" not in km.client.get("/collab/").get_data(as_text=True)
    assert sh.act(item_id, "finish", result="已处理").status_code == 302


def test_query_is_scoped_to_managed_units(capp: Flask, corg: Org) -> None:
    Actor(capp, "zg").create(subject="海宁的事项", target=f"person:{corg.people['km']}")
    Actor(capp, "zg2").create(subject="桐乡的事项", target=f"unit:{corg.unit_b}")
    head = Actor(capp, "bm").client.get("/collab/query").get_data(as_text=True)
    assert "海宁的事项" in head and "桐乡的事项" not in head
    leader = Actor(capp, "ld").client.get("/collab/query").get_data(as_text=True)
    assert "海宁的事项" in leader and "桐乡的事项" in leader
    clerk = Actor(capp, "bg").client.get("/collab/query").get_data(as_text=True)
    assert "海宁的事项" not in clerk and "桐乡的事项" not in clerk
    # Filtering by a unit outside one's scope finds nothing rather than leaking.
    outside = Actor(capp, "bm").client.get(f"/collab/query?unit={corg.unit_b}")
    assert "桐乡的事项" not in outside.get_data(as_text=True)
