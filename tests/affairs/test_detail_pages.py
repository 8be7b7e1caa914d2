"""The pages of one vehicle request and one business trip: fields, state, history, the actions
the viewer may take (and only those), links from the lists; 403 for someone who may not see
it, 404 for an unknown id; acting from the page answers on the page."""

from __future__ import annotations

import re

from flask import Flask

from portlets.affairs.models import Trip, VehicleRequest
from tests.affairs.conftest import client_for
from tests.affairs.test_vehicles_and_trips import DAY, _act, _ids, _request, _version


def _forms(html: str) -> set[str]:
    """The actions offered on a page (``data-action`` of its forms)."""
    return set(re.findall(r'<form[^>]*data-action="([a-z]+)"', html))


def test_vehicle_request_page(aapp: Flask) -> None:
    zg, km, bg = (client_for(aapp, u) for u in ("zg", "km", "bg"))
    assert _request(zg).status_code == 302
    [rid] = _ids(aapp, VehicleRequest)
    url = f"/affairs/vehicles/{rid}"
    assert f'href="{url}"' in zg.get("/affairs/vehicles").get_data(as_text=True)
    assert f'href="{url}"' in bg.get("/affairs/vehicles").get_data(as_text=True)
    page = zg.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "海宁市局" in html and "市场检查" in html and "张专管" in html
    assert "Pending" in html and 'data-action="requested"' in html
    assert _forms(html) == {"cancel"}  # the requester may only call it off
    assert _forms(bg.get(url).get_data(as_text=True)) == {"decide"}  # the office decides
    # others: 403 with a readable reason; unknown: 404
    refused = km.get(url)
    assert refused.status_code == 403
    assert "Only the requester and the office" in refused.get_data(as_text=True)
    assert zg.get("/affairs/vehicles/9999").status_code == 404
    # acting from the page comes back to the page, with the history
    done = _act(bg, aapp, "vehicles", rid, "approve", comment="注意安全", back="detail")
    assert done.status_code == 302 and done.headers["Location"].endswith(url)
    html = bg.get(url).get_data(as_text=True)
    assert _forms(html) == {"dispatch"} and "Approved" in html and "注意安全" in html
    car = str(aapp.config["TEST_IDS"]["car"])
    assert _act(bg, aapp, "vehicles", rid, "dispatch", vehicle=car, back="detail"
                ).status_code == 302
    html = zg.get(url).get_data(as_text=True)
    assert "浙F·A1234" in html and "陈师傅" in html and "Dispatched" in html
    assert re.findall(r'data-action="(requested|approved|dispatched)"', html) == [
        "requested", "approved", "dispatched"]
    # a refusal from the page is shown on the page, with its status
    stale = _act(bg, aapp, "vehicles", rid, "dispatch", vehicle=car, back="detail",
                 version="1")
    assert stale.status_code == 409 and "after you opened it" in stale.get_data(as_text=True)
    assert 'class="form-error"' in stale.get_data(as_text=True)
    assert "Vehicle request" in stale.get_data(as_text=True)


def test_trip_page(aapp: Flask) -> None:
    zg, bm, ld, km = (client_for(aapp, u) for u in ("zg", "bm", "ld", "km"))
    assert zg.post("/affairs/trips", data={
        "destination": "杭州", "purpose": "省局培训", "start": DAY.isoformat(),
        "end": DAY.isoformat()}).status_code == 302
    [tid] = _ids(aapp, Trip)
    url = f"/affairs/trips/{tid}"
    assert f'href="{url}"' in zg.get("/affairs/trips").get_data(as_text=True)
    assert f'href="{url}"' in bm.get("/affairs/trips").get_data(as_text=True)
    html = zg.get(url).get_data(as_text=True)
    assert "杭州" in html and "省局培训" in html and "海宁市局" in html
    assert re.search(r"<dt>Days</dt><dd>1</dd>", html)
    assert _forms(html) == set()  # not one's own
    assert _forms(bm.get(url).get_data(as_text=True)) == {"decide"}
    for outsider in (km, ld):  # a colleague; a leader who is not this unit's head
        assert outsider.get(url).status_code == 403
    assert bm.get("/affairs/trips/9999").status_code == 404
    refused = _act(bm, aapp, "trips", tid, "reject", back="detail")  # no reason: 422 here
    assert refused.status_code == 422 and "is required" in refused.get_data(as_text=True)
    assert _version(aapp, Trip, tid) == "1"
    done = _act(bm, aapp, "trips", tid, "reject", comment="时间冲突", back="detail")
    assert done.status_code == 302 and done.headers["Location"].endswith(url)
    html = zg.get(url).get_data(as_text=True)
    assert "Rejected" in html and "时间冲突" in html and "吴部长" in html
    assert _forms(bm.get(url).get_data(as_text=True)) == set()  # decided


def test_chinese_first(aapp: Flask) -> None:
    zg = client_for(aapp, "zg")
    zg.post("/locale", data={"locale": "zh_CN", "next": "/"})
    assert _request(zg).status_code == 302
    [rid] = _ids(aapp, VehicleRequest)
    html = zg.get(f"/affairs/vehicles/{rid}").get_data(as_text=True)
    assert "用车申请" in html and "处理记录" in html and "提交申请" in html
    other = client_for(aapp, "km")
    other.post("/locale", data={"locale": "zh_CN", "next": "/"})
    assert "只有申请人和办公室" in other.get(f"/affairs/vehicles/{rid}").get_data(as_text=True)
