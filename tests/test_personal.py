"""The merge rules of the personal layer, as pure functions: a user's diff applied to whatever
post layout version is current."""

from __future__ import annotations

from typing import Any

import pytest

from portal.auth import Principal
from portal.layout import PageSpec, WindowSpec
from portal.personal import Refusal, add, move, remove, reset, resolve, restore, undo
from portal.portlet import Portlet, Size

USER = Principal(person_id=7, username="km", display_name="王经理", org_unit_id=1,
                 posts=("account_manager",), roles=("staff",))


def _portlet(pid: str, **extra: Any) -> Portlet:
    return Portlet(id=pid, title=pid, render=lambda ctx: "", min_size=Size(2, 2),
                   max_size=Size(12, 8), **extra)


PORTLETS = {p: _portlet(p) for p in ("pa", "pb", "pc", "pd")}
PORTLETS["leaders_only"] = _portlet("leaders_only", roles=frozenset({"leader"}))


def _page(*windows: WindowSpec, locked: bool = False) -> PageSpec:
    return PageSpec(key="account_manager.home", post="account_manager", title="工作台",
                    title_en="Home", windows=windows, locked=locked, layout_version=2)


def _w(wid: str, x: int, y: int, w: int = 4, h: int = 2, **locks: bool) -> WindowSpec:
    return WindowSpec(id=wid, portlet_id=f"p{wid}", x=x, y=y, w=w, h=h,
                      **locks)


def _boxes(page: PageSpec) -> dict[str, tuple[int, int, int, int]]:
    return {w.id: (w.x, w.y, w.w, w.h) for w in page.windows}


V1 = _page(_w("a", 0, 0), _w("b", 4, 0), _w("c", 8, 0))


def test_no_diff_is_the_post_layout() -> None:
    assert resolve(V1, None, PORTLETS, USER).page is V1


def test_moves_survive_a_new_version_and_locked_windows_are_forced_in() -> None:
    diff = move(V1, {}, [{"id": "a", "x": 0, "y": 4, "w": 4, "h": 2}], PORTLETS)
    diff = remove(V1, diff, "c")
    # Version 2: "b" is locked in place where it was, "c" must not be removed any more,
    # and a new locked window "d" takes the place the user had moved "a" to.
    v2 = _page(_w("a", 0, 0), _w("b", 4, 0, lock_move=True), _w("c", 8, 0, lock_remove=True),
               _w("d", 0, 4, lock_move=True, lock_remove=True))
    result = resolve(v2, diff, PORTLETS, USER)
    boxes = _boxes(result.page)
    assert boxes["d"] == (0, 4, 4, 2)           # the locked window is where the admin put it
    assert boxes["c"] == (8, 0, 4, 2)           # removal undone: c may not be removed now
    assert boxes["a"][1] >= 4 and boxes["a"] != (0, 4, 4, 2)  # the user's move, moved aside
    assert not any(_overlap(boxes["a"], b) for k, b in boxes.items() if k != "a")


def test_a_window_the_admin_removed_disappears_with_the_users_changes() -> None:
    diff = move(V1, {}, [{"id": "b", "x": 4, "y": 5, "w": 4, "h": 2}], PORTLETS)
    v2 = _page(_w("a", 0, 0), _w("c", 8, 0))
    assert set(_boxes(resolve(v2, diff, PORTLETS, USER).page)) == {"a", "c"}


def test_a_window_the_user_added_is_never_lost_silently() -> None:
    diff, wid = add(V1, {}, "pd", PORTLETS, USER)
    assert wid in _boxes(resolve(V1, diff, PORTLETS, USER).page)
    # The admin locks the page: the user's window cannot stay, and is listed as dropped.
    locked = _page(*V1.windows, locked=True)
    result = resolve(locked, diff, PORTLETS, USER)
    assert wid not in _boxes(result.page)
    assert [(r.id, r.reason) for r in result.removed] == [(wid, "dropped")]
    # Unlocked again, it is back where it was.
    assert wid in _boxes(resolve(V1, diff, PORTLETS, USER).page)


def test_removed_own_window_can_be_restored() -> None:
    diff, wid = add(V1, {}, "pd", PORTLETS, USER)
    page = resolve(V1, diff, PORTLETS, USER).page
    diff = remove(page, diff, wid)
    result = resolve(V1, diff, PORTLETS, USER)
    assert wid not in _boxes(result.page) and result.removed[0].id == wid
    diff = restore(result.page, diff, wid, result.removed)
    assert wid in _boxes(resolve(V1, diff, PORTLETS, USER).page)


@pytest.mark.parametrize("change, status", [
    (lambda: add(V1, {}, "nosuch", PORTLETS, USER), 400),
    (lambda: add(V1, {}, "leaders_only", PORTLETS, USER), 403),
    (lambda: add(_page(*V1.windows, locked=True), {}, "pd", PORTLETS, USER), 403),
    (lambda: remove(_page(_w("a", 0, 0, lock_remove=True)), {}, "a"), 403),
    (lambda: move(_page(_w("a", 0, 0, lock_move=True)), {},
                  [{"id": "a", "x": 1, "y": 0, "w": 4, "h": 2}], PORTLETS), 403),
    (lambda: move(V1, {}, [{"id": "a", "x": 4, "y": 0, "w": 4, "h": 2}], PORTLETS), 400),
    (lambda: move(V1, {}, [{"id": "a", "x": 0, "y": 0, "w": 1, "h": 2}], PORTLETS), 400),
    (lambda: move(V1, {}, [], PORTLETS), 400),
    (lambda: undo({}), 409),
    (lambda: reset({}), 409),
])
def test_refusals(change: Any, status: int) -> None:
    with pytest.raises(Refusal) as refused:
        change()
    assert refused.value.status == status and refused.value.message


def test_reset_and_one_undo() -> None:
    diff = move(V1, {}, [{"id": "a", "x": 0, "y": 4, "w": 4, "h": 2}], PORTLETS)
    cleared = reset(diff)
    assert _boxes(resolve(V1, cleared, PORTLETS, USER).page)["a"] == (0, 0, 4, 2)
    back = undo(cleared)
    assert _boxes(resolve(V1, back, PORTLETS, USER).page)["a"] == (0, 4, 4, 2)
    assert "undo" not in back


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
