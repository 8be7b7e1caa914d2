"""The hello portlet on its own: its declaration and its render function, without a portal."""

from __future__ import annotations

from flask import Flask
from portal.toolkit import Mode, Principal, RenderContext, Variance

from portal_hello_portlet import plugin


def _principal(display_name: str) -> Principal:
    return Principal(
        person_id=1,
        username="zhangsan",
        display_name=display_name,
        org_unit_id=None,
        posts=("inspector",),
    )


def _render(preferences: dict[str, str], display_name: str = "张三") -> str:
    # A bare Flask app with the portlet's blueprint is all render_template needs.
    app = Flask(__name__)
    app.register_blueprint(plugin.bp)
    ctx = RenderContext(principal=_principal(display_name), window_id="w1", preferences=preferences)
    with app.test_request_context("/"):
        return plugin.render(ctx)


def test_declaration() -> None:
    [portlet] = plugin.portal_portlets()
    assert portlet.id == "hello"
    assert portlet.category == "information"
    assert Mode.EDIT in portlet.modes
    assert portlet.cache.vary is Variance.USER
    assert portlet.preferences.defaults() == {"greeting": "你好"}


def test_render_uses_default_greeting() -> None:
    prefs = plugin.PORTLET.preferences.merge()
    assert "你好, 张三!" in _render(prefs)


def test_render_uses_preference_and_escapes_name() -> None:
    html = _render({"greeting": "早上好"}, display_name="<b>李四</b>")
    assert "早上好, &lt;b&gt;李四&lt;/b&gt;!" in html


def test_preference_validation() -> None:
    schema = plugin.PORTLET.preferences
    clean, errors = schema.validate({"greeting": "  Hi  "})
    assert clean == {"greeting": "Hi"} and errors == {}
