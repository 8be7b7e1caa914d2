"""Fast message lookup for templates.

Flask-Babel's ``gettext`` finds the request, the locale and the catalogue on every call, which
costs more than the rest of a small portlet's template. Templates here look a message up once
per language and process: catalogues do not change while the portal runs.
"""

from __future__ import annotations

from flask import Flask, g
from flask_babel import get_locale, get_translations


def _locale_code() -> str:
    code: str | None = g.get("_portal_locale")
    if code is None:
        code = g._portal_locale = str(get_locale())
    return code


def install(app: Flask) -> None:
    """Replace the Jinja gettext callables installed by Flask-Babel with memoized ones.

    Jinja's new-style wrappers format the result (``%`` with the variables) and escape it;
    these return the raw catalogue text.
    """
    singular: dict[tuple[str, str], str] = {}
    plural: dict[tuple[str, str, str, int], str] = {}

    def gettext(message: str) -> str:
        key = (_locale_code(), message)
        text = singular.get(key)
        if text is None:
            text = singular[key] = get_translations().ugettext(message)
        return text

    def ngettext(one: str, many: str, num: int) -> str:
        # Which plural form applies depends on the number and the language's rule; the rule
        # maps a number to its form index, so memoize by the index.
        translations = get_translations()
        form = translations.plural(num) if hasattr(translations, "plural") else int(num != 1)
        key = (_locale_code(), one, many, form)
        text = plural.get(key)
        if text is None:
            text = plural[key] = translations.ungettext(one, many, num)
        return text

    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
