"""The app remembers relative URLs it built (portal.app.PortalFlask.url_for); each must be
the URL Flask builds, whatever the script root, the blueprint or the values."""

from __future__ import annotations

from flask import Flask, url_for
from flask.app import Flask as PlainFlask


def _flask_url(app: Flask, endpoint: str, **values: object) -> str:
    return PlainFlask.url_for(app, endpoint, **values)


def test_remembered_urls_are_the_urls_flask_builds(app) -> None:
    cases = [("notices.inbox", {}), ("notices.edit", {"notice_id": 7}),
             ("notices.edit", {"notice_id": 8}), ("notices.inbox", {"page": 2, "q": "卷烟"}),
             ("pages.home", {})]
    for script_root in ("", "/portal"):
        for _ in range(2):  # built, then remembered
            with app.test_request_context("/", base_url=f"http://portal.test{script_root}"):
                for endpoint, values in cases:
                    assert url_for(endpoint, **values) == _flask_url(app, endpoint, **values)
    assert app._url_memo  # type: ignore[attr-defined]
    with app.test_request_context("/", base_url="http://portal.test/portal"):
        assert url_for("notices.edit", notice_id=7) == "/portal/p/notices/7/edit"


def test_relative_endpoints_resolve_against_the_request_blueprint(app) -> None:
    # ".index" is a page of several blueprints: the same call, a different URL in each.
    for _ in range(2):
        for path, expected in (("/admin/", "/admin/"), ("/todo/", "/todo/"),
                               ("/admin/layouts/", "/admin/layouts/")):
            with app.test_request_context(path):
                assert url_for(".index") == expected
        with app.test_request_context("/"):  # outside a blueprint: the app's own endpoint
            assert url_for(".home") == _flask_url(app, ".home") == "/"


def test_what_is_not_remembered_still_works(app) -> None:
    with app.test_request_context("/"):
        assert url_for("notices.inbox", _anchor="top").endswith("/p/notices/#top")
        assert url_for("notices.inbox", _external=True).startswith("http://")
        assert url_for("notices.inbox", ids=[1, 2]) == "/p/notices/?ids=1&ids=2"  # unhashable
    size = len(app._url_memo)  # type: ignore[attr-defined]
    with app.test_request_context("/"):
        url_for("notices.inbox", _anchor="top")
    assert len(app._url_memo) == size  # type: ignore[attr-defined]


def test_ensure_sync_answers_as_flask_does(app) -> None:  # type: ignore[no-untyped-def]
    """PortalFlask keeps ensure_sync's answer per function: a plain function comes back as it
    is, every time; a coroutine function is still handed to Flask (wrapped, or refused when
    Flask's async extra is not installed), not mistaken for a plain one."""

    def plain() -> str:
        return "plain"

    async def coroutine() -> str:
        return "coroutine"

    assert app.ensure_sync(plain) is plain and app.ensure_sync(plain) is plain
    for _ in range(2):
        try:
            wrapped = app.ensure_sync(coroutine)
        except RuntimeError as exc:  # Flask without asgiref says so, as without the memo
            assert "async" in str(exc)
        else:
            assert wrapped is not coroutine and wrapped() == "coroutine"
