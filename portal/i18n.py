"""Fast message lookup, for templates and for Python code in requests.

Flask-Babel's ``gettext`` finds the request, the locale and the catalogue on every call, which
costs more than the rest of a small portlet's template. Here a message is looked up once per
language and process: catalogues do not change while the portal runs. ``gettext`` and
``lazy_gettext`` (exported by ``portal.toolkit``) behave as Flask-Babel's; outside a request
they are Flask-Babel's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask_babel
from flask import Flask, g, has_request_context
from flask_babel import LazyString, get_locale, get_translations
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

#: (language, message) → translated text. Bounded: a caller translating text it made up at
#: run time would otherwise grow it without end.
_singular: dict[tuple[str, str], str] = {}
_plural: dict[tuple[str, str, str, int], str] = {}
#: language → its plural rule (a number → the index of its plural form).
_plural_rules: dict[str, Callable[[int], int]] = {}
#: (language, message, escaped) → what a template shows for a message without variables.
_shown: dict[tuple[str, str, bool], str] = {}
_MAX = 50_000


def _locale_code() -> str:
    code: str | None = g.get("_portal_locale")
    if code is None:
        code = g._portal_locale = str(get_locale())
    return code


def _lookup(message: str) -> str:
    key = (_locale_code(), message)
    text = _singular.get(key)
    if text is None:
        if len(_singular) >= _MAX:
            _singular.clear()
        text = _singular[key] = get_translations().ugettext(message)
    return text


def gettext(message: str, **variables: Any) -> str:
    """The translation of *message* in the request's language, ``%``-formatted with
    *variables* like Flask-Babel's."""
    if not has_request_context():
        return flask_babel.gettext(message, **variables)
    text = _lookup(message)
    return text % variables if variables else text


def lazy_gettext(message: str, **variables: Any) -> LazyString:
    """A message translated when it is shown (portlet titles, labels declared at import)."""
    return LazyString(gettext, message, **variables)


def _germanic_plural(num: int) -> int:
    return int(num != 1)


def install(app: Flask) -> None:
    """Give templates memoized ``_``/``gettext`` and ``ngettext``, in Jinja's new style.

    They behave as Jinja's own new-style wrappers (the text is escaped-formatted with the
    variables, ``%%`` always reads as ``%``), with three calls a message fewer: ``_`` is the
    wrapper itself rather than an alias that looks it up, the wrapper reads the catalogue
    directly, and it asks only for the evaluation context (whether to escape), which spares
    Jinja from deriving a context for a call inside a loop. Without variables the finished
    text is kept too, so a label costs one dictionary lookup.
    """

    def ngettext(one: str, many: str, num: int) -> str:
        # Which plural form applies depends on the number and the language's rule; the rule
        # maps a number to its form index, so memoize by the index.
        code = _locale_code()
        rule = _plural_rules.get(code)
        if rule is None:
            translations = get_translations()
            rule = _plural_rules[code] = getattr(translations, "plural", _germanic_plural)
        key = (code, one, many, rule(num))
        text = _plural.get(key)
        if text is None:
            if len(_plural) >= _MAX:
                _plural.clear()
            text = _plural[key] = get_translations().ungettext(one, many, num)
        return text

    @pass_eval_context
    def template_gettext(eval_ctx: EvalContext, message: str, **variables: Any) -> str:
        if variables:
            text = _lookup(message)
            return (Markup(text) if eval_ctx.autoescape else text) % variables
        key = (_locale_code(), message, eval_ctx.autoescape)
        shown = _shown.get(key)
        if shown is None:
            if len(_shown) >= _MAX:
                _shown.clear()
            text = _lookup(message)
            shown = _shown[key] = (Markup(text) if eval_ctx.autoescape else text) % {}
        return shown

    @pass_eval_context
    def template_ngettext(eval_ctx: EvalContext, one: str, many: str, num: int,
                          **variables: Any) -> str:
        variables.setdefault("num", num)
        text = ngettext(one, many, num)
        return (Markup(text) if eval_ctx.autoescape else text) % variables

    env = app.jinja_env
    env.install_gettext_callables(_lookup, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
