"""Every UI string comes from a catalogue, every message has its zh_CN translation, and the
compiled catalogues are up to date with their sources."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
assert spec and spec.loader
i18n = importlib.util.module_from_spec(spec)
spec.loader.exec_module(i18n)


def test_every_message_has_a_chinese_translation() -> None:
    assert i18n.missing() == []


def test_compiled_catalogues_match_their_sources() -> None:
    for _sources, translations in i18n.packages():
        po = i18n.po_path(translations)
        with po.open("rb") as fh:
            source = {_key(m.id): _key(m.string) for m in read_po(fh) if m.id}
        with po.with_suffix(".mo").open("rb") as fh:
            compiled = {_key(m.id): _key(m.string) for m in read_mo(fh) if m.id}
        assert source == compiled, f"{po}: run `make translations`"


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, (list, tuple)) else value


#: A language is named in its own language, and the logo is a glyph, not a message.
NOT_MESSAGES = {"中文", "烟"}
TEXT_OUTSIDE_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
HAN = re.compile(r"[\u4e00-\u9fff]+")


def test_templates_have_no_hard_coded_chinese() -> None:
    """Chinese in a template outside ``{{ }}`` would not switch to English."""
    offenders = []
    for template in [*ROOT.glob("portal/templates/**/*.html"),
                     *ROOT.glob("portlets/*/templates/**/*.html"),
                     *ROOT.glob("sso/*/templates/**/*.html")]:
        text = TEXT_OUTSIDE_TAGS.sub("", template.read_text(encoding="utf-8"))
        offenders += [f"{template.relative_to(ROOT)}: {m}" for m in HAN.findall(text)
                      if m not in NOT_MESSAGES]
    assert offenders == []


def _shown(app, source: str, locale: str) -> str:  # type: ignore[no-untyped-def]
    from flask import render_template_string, session

    with app.test_request_context("/"):
        session["locale"] = locale
        return render_template_string(source)


def test_templates_translate_escape_and_format_as_jinja_new_style(app) -> None:  # type: ignore[no-untyped-def]
    """The memoized template gettext (portal.i18n.install) keeps Jinja's new-style rules:
    variables are escaped, ``%%`` reads as ``%`` even without variables, plural forms follow
    the number, and a message kept for one language is not shown in the other."""
    assert _shown(app, '{{ _("Target") }}', "zh_CN") == "目标"
    assert _shown(app, '{{ _("Target") }}', "en") == "Target"
    assert _shown(app, '{{ _("Target") }}', "zh_CN") == "目标"
    month = '{{ _("%(month)s, month to date", month="<b>") }}'
    assert _shown(app, month, "en") == "&lt;b&gt;, month to date"
    percent = '{{ _("100%% done") }}|{{ gettext("100%% done") }}'
    assert _shown(app, percent, "en") == "100% done|100% done"
    plural = '{{ ngettext("%(num)d item", "%(num)d items", n) }}'
    assert _shown(app, "{% set n = 1 %}" + plural, "en") == "1 item"
    assert _shown(app, "{% set n = 3 %}" + plural, "en") == "3 items"
    # Outside autoescape the text is plain: variables are not escaped.
    raw = ('{% autoescape false %}{{ _("%(month)s, month to date", month="<b>") }}'
           '{% endautoescape %}')
    assert _shown(app, raw, "en") == "<b>, month to date"
    # In a loop (where Jinja passes loop variables to every call) as outside one.
    assert _shown(app, '{% for i in [1, 2] %}{{ _("Target") }}{% endfor %}', "zh_CN") == "目标目标"
