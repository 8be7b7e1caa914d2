"""Jinja, made cheap where every portlet template pays: its calls and its context.

Every call written in a template (``{{ url_for(...) }}``, a macro, ``f.text()``) goes through
``Context.call``, which asks twice whether the callee wants the context passed in: once of the
object's ``__call__`` (a method wrapper allocated for the purpose), once of the object. A cold
homepage makes a few hundred such calls and that question was the largest single item of its
profile. For the callables templates really call (functions, bound methods, built-ins and
macros) one attribute lookup answers it; anything else, and every function that wants the
context itself (which may need a context derived for loop variables), goes to Jinja's own.

Each render (and each import "with context") also starts a context from the template's
globals, a ``ChainMap`` over the environment's, which ``dict()`` copies through Python-level
``__getitem__`` calls, one per global: 9 µs of a 13 µs render of a one-character template.
``PortalTemplate`` flattens the chain with C-level dict copies instead, still reading the maps
at every render, so a global added to the environment later is seen as before.

Every ``{{ value }}`` of an autoescaped template is ``escape(value)``: markupsafe's, which is a
Python function that wraps its C escaping in a ``Markup`` built by a second Python function
(``Markup.__new__``), about 0.4 µs a value and three hundred values a cold homepage. What a
template's output is made of is only ever joined into one string (the template's, a macro's or a
``{% set %}`` block's, which Jinja marks safe itself), so it need not be ``Markup``: the
templates' code gets ``escape_text``, the same text as a plain ``str`` for a fifth of the cost.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any

from flask import Flask
from jinja2 import Environment, Template
from jinja2.runtime import Context, Macro, new_context
from jinja2.utils import _PassArg, internalcode


def _replace_escape(text: str) -> str:
    """markupsafe's escaping, character for character, with ``str.replace``."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


try:  # markupsafe's C escaping of a str, before it is wrapped in Markup: twice as fast again
    from markupsafe._speedups import _escape_inner as _escape_str
except ImportError:  # pragma: no cover - markupsafe without its C extension, or it changed
    _escape_str = _replace_escape

#: Types whose ``__call__`` never carries a ``pass_context`` mark of its own.
_PLAIN_CALLABLES = frozenset({FunctionType, MethodType, BuiltinFunctionType, Macro})


class PortalContext(Context):
    @internalcode
    def call(self, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if type(obj) not in _PLAIN_CALLABLES:
            return Context.call(self, obj, *args, **kwargs)
        pass_arg = getattr(obj, "jinja_pass_arg", None)
        if pass_arg is _PassArg.context:
            return Context.call(self, obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        if pass_arg is _PassArg.eval_context:
            args = (self.eval_ctx, *args)
        elif pass_arg is _PassArg.environment:
            args = (self.environment, *args)
        try:
            return obj(*args, **kwargs)
        except StopIteration:
            return self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


def escape_text(value: Any) -> str:
    """``str(markupsafe.escape(value))``: the text of *value* safe in HTML (an object with
    ``__html__`` says itself what that is)."""
    if type(value) is str:
        return _escape_str(value)
    html = getattr(value, "__html__", None)
    if html is not None:
        text = html()
        return text if isinstance(text, str) else str(text)
    return _escape_str(str(value))


class PortalTemplate(Template):
    @classmethod
    def from_code(cls, environment: Environment, code: Any, globals: MutableMapping[str, Any],
                  uptodate: Any = None) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The compiled module's functions (root, blocks, macros) share its namespace, where
        # Jinja's code imported ``escape`` from jinja2.runtime; only its output calls it.
        template.root_render_func.__globals__["escape"] = escape_text
        return template

    def new_context(self, vars: dict[str, Any] | None = None, shared: bool = False,
                    locals: Mapping[str, Any] | None = None) -> Context:
        return new_context(self.environment, self.name, self.blocks, vars, shared,
                           _flat(self.globals), locals)


def _flat(scope: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """*scope* as one dict, the first map of a chain winning as in the chain."""
    if type(scope) is not ChainMap:
        return scope
    flat: dict[str, Any] = {}
    for layer in reversed(scope.maps):
        flat.update(layer)
    return flat


def install(app: Flask) -> None:
    app.jinja_env.context_class = PortalContext
    app.jinja_env.template_class = PortalTemplate
