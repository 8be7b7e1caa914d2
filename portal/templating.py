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
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any

from flask import Flask
from jinja2 import Template
from jinja2.runtime import Context, Macro, new_context
from jinja2.utils import _PassArg, internalcode

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


class PortalTemplate(Template):
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
