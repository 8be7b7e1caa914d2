"""The portal's Jinja context (portal.templating) calls what templates call as Jinja does."""

from __future__ import annotations

from typing import Any

import pytest
from flask_babel import LazyString
from jinja2 import (
    DictLoader,
    Environment,
    Template,
    pass_context,
    pass_environment,
    pass_eval_context,
)
from jinja2.runtime import Context
from markupsafe import Markup, escape

from portal import templating
from portal.templating import PortalContext, PortalTemplate, escape_text


class Greeter:
    def hello(self, name: str) -> str:
        return f"hello {name}"


class ContextCallable:
    """A callable object that asks for the context on its ``__call__``."""

    @pass_context
    def __call__(self, context: Context) -> str:
        return f"in {context.name}"


def _stop() -> None:
    raise StopIteration


@pass_context
def loop_var(context: Context, name: str) -> Any:
    return context.resolve(name)


@pass_eval_context
def escaping(eval_ctx: Any) -> str:
    return "escaped" if eval_ctx.autoescape else "raw"


@pass_environment
def env_name(environment: Environment) -> str:
    return type(environment).__name__


SOURCE = """\
{%- macro twice(x) %}{{ x }}{{ x }}{% endmacro -%}
{{ twice("a") }}|{{ greeter.hello("b") }}|{{ "x,y".split(",") | join("+") }}|{{ obj() }}
|{{ stop() is undefined }}|{{ escaping() }}|{{ env_name() }}|{{ len([1, 2]) }}
{%- for item in ["p", "q"] %}{% set v = item ~ "!" -%}
|{{ loop_var("v") }}{{ twice(item) }}{% endfor -%}
{%- autoescape false %}|{{ escaping() }}{% endautoescape %}|{{ dict(a=1).get("a") }}
"""


@pytest.mark.parametrize("context_class", [Context, PortalContext])
def test_calls_render_as_with_jinjas_own_context(context_class: type[Context]) -> None:
    env = Environment(autoescape=True, loader=DictLoader({"t.html": SOURCE}))
    env.context_class = context_class
    out = env.get_template("t.html").render(
        greeter=Greeter(), obj=ContextCallable(), stop=_stop, loop_var=loop_var,
        escaping=escaping, env_name=env_name, len=len)
    assert out == ("aa|hello b|x+y|in t.html\n|True|escaped|Environment|2"
                   "|p!pp|q!qq|raw|1")


def test_the_portal_renders_its_templates_with_it(app) -> None:  # type: ignore[no-untyped-def]
    assert app.jinja_env.context_class is PortalContext
    page = app.jinja_env.get_template("portal/window_error.html")
    assert page.root_render_func.__globals__["escape"] is escape_text


def test_template_globals_layer_as_in_jinja_and_stay_live(app) -> None:  # type: ignore[no-untyped-def]
    """PortalTemplate flattens a template's globals for each render: its own globals win over
    the environment's, and a global the environment gains after the template was loaded is
    seen, as with Jinja's ChainMap."""
    from portal.templating import PortalTemplate

    env = app.jinja_env
    template = env.from_string("{{ who }} {{ late is defined }}", globals={"who": "template"})
    assert isinstance(template, PortalTemplate)
    env.globals["who"] = "environment"
    try:
        assert template.render() == "template False"
        env.globals["late"] = 1
        assert template.render() == "template True"
        assert template.render(who="caller") == "caller True"
    finally:
        env.globals.pop("who")
        env.globals.pop("late", None)


def test_context_processors_run_once_a_request(app) -> None:  # type: ignore[no-untyped-def]
    """A page renders ten templates; the context processors' values hold for the whole
    request, so they are worked out once. What render_template is given still wins, and
    each request (and each render outside one) gets its own."""
    from flask import render_template_string

    calls: list[int] = []

    @app.context_processor
    def counted() -> dict[str, Any]:
        calls.append(1)
        return {"shade": f"processor {len(calls)}"}

    with app.test_request_context("/"):
        first = render_template_string("{{ shade }}|{{ request.path }}")
        second = render_template_string("{{ shade }}")
        own = render_template_string("{{ shade }}", shade="caller")
        assert (first, second, own) == ("processor 1|/", "processor 1", "caller")
    assert len(calls) == 1
    with app.test_request_context("/other"):
        assert render_template_string("{{ shade }}|{{ request.path }}") == "processor 2|/other"
    with app.app_context():
        assert render_template_string("{{ shade }}") == "processor 3"
        assert render_template_string("{{ shade }}") == "processor 4"


class Html:
    def __html__(self) -> str:
        return "<i>safe</i>"


TEXTS = ["", "plain", "嘉兴市南湖区烟酒店", "<a href=\"x\">&amp;'q'</a>", "&&<<>>\"\"''", "a" * 300]
VALUES = [*TEXTS, 7, 2.5, None, True, Markup("<b>ok</b>"), Html(), ["<li>"],
          LazyString(lambda: "<lazy>"), type("Sub", (str,), {})("<sub>")]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_escape_text_is_markupsafes_escape_as_plain_text(value: Any) -> None:
    shown = escape_text(value)
    assert shown == str(escape(value))
    assert isinstance(shown, str)


@pytest.mark.parametrize("text", TEXTS)
def test_escaping_without_markupsafes_c_extension_is_the_same(text: str) -> None:
    assert templating._replace_escape(text) == str(escape(text))


ESCAPING = """\
{%- macro row(v) %}<td title="{{ v }}">{{ v }}</td>{% endmacro -%}
{%- macro wrap() %}<div>{{ caller() }}</div>{% endmacro -%}
{%- set block %}<p>{{ values[3] }}</p>{% endset -%}
{% for v in values %}{{ row(v) }}|{{ v }}|{{ v ~ "&" }}{% endfor %}
{{ block }}|{{ block|length }}|{{ row(values[3])|length }}|{{ "<x>"|safe }}|{{ values[3]|e }}
{% call wrap() %}{{ values[3] }}{% endcall %}{% filter upper %}{{ values[3] }}{% endfilter %}
{% autoescape false %}{{ values[3] }}{% endautoescape %}{{ _("<i>%(n)s</i>", n=values[3]) }}
"""


def _render_escaping(template_class: type[Template]) -> tuple[str, Template]:
    env = Environment(autoescape=True, loader=DictLoader({"t.html": ESCAPING}),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda m: m, lambda s, p, n: s if n == 1 else p, newstyle=True)
    env.template_class = template_class
    template = env.get_template("t.html")
    return template.render(values=VALUES), template


def test_templates_escape_as_with_markupsafe() -> None:
    """The same output, escaped the same, through macros, blocks, calls, filters and the
    i18n extension, whether the template's code escapes with markupsafe or escape_text."""
    ours, template = _render_escaping(PortalTemplate)
    jinjas, plain = _render_escaping(Template)
    assert template.root_render_func.__globals__["escape"] is escape_text  # type: ignore[attr-defined]
    assert plain.root_render_func.__globals__["escape"] is escape  # type: ignore[attr-defined]
    assert ours == jinjas
    quoted = "&lt;a href=&#34;x&#34;&gt;&amp;amp;&#39;q&#39;&lt;/a&gt;"
    assert f'<td title="{quoted}">{quoted}</td>|{quoted}|{quoted}&amp;' in ours
    assert "<td title=\"&lt;i&gt;safe&lt;/i&gt;\">" not in ours  # __html__ is trusted
    assert '<td title="<i>safe</i>"><i>safe</i></td>|<i>safe</i>' in ours
    assert f"<p>{quoted}</p>|{len(quoted) + 7}|" in ours  # a {% set %} block is Markup
    assert f"|<x>|{quoted}\n<div>{quoted}</div>{quoted.upper()}" in ours
    assert "<i>&lt;a href=" in ours  # _() escapes its variables, not its message
