"""The portal's Jinja context (portal.templating) calls what templates call as Jinja does."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import DictLoader, Environment, pass_context, pass_environment, pass_eval_context
from jinja2.runtime import Context

from portal.templating import PortalContext


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
