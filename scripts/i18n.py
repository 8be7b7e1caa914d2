"""Keep the message catalogues in step with the code: extract, update the .po, list gaps.

    python scripts/i18n.py update     # re-extract and merge into every catalogue
    python scripts/i18n.py check      # exit 1 when a message has no zh_CN translation

A catalogue per package (the core, each built-in portlet), as a plugin would ship its own.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "_l": None}


def packages() -> list[tuple[list[Path], Path]]:
    """(source folders, translations folder) for the core and every built-in plugin that
    ships its own catalogue (a ``translations`` folder beside its ``plugin.py``); every
    portlet has one. Sign-in plugins without one keep their messages in the core's."""
    own: list[Path] = []
    for group in ("portlets", "connectors", "sso"):
        folder = ROOT / group
        if not folder.is_dir():
            continue
        if (folder / "plugin.py").exists() and (folder / "translations").is_dir():
            own.append(folder)  # a group that is one plugin (connectors/)
        own += [pkg for pkg in sorted(p for p in folder.iterdir() if p.is_dir())
                if (pkg / "plugin.py").exists() and (group == "portlets" or
                                                     (pkg / "translations").is_dir())]
    core_sources = [ROOT / "portal", *(pkg for pkg in sorted((ROOT / "sso").iterdir())
                                       if pkg.is_dir() and pkg not in own)]
    found = [(core_sources, ROOT / "portal" / "translations")]
    found += [([pkg], pkg / "translations") for pkg in own]
    return found


def extract(sources: list[Path]) -> Catalog:
    catalog = Catalog(locale="zh_CN", project="portal")
    owners = {pkg for _sources, translations in packages() for pkg in [translations.parent]}
    for src in sources:
        # A package inside *src* with a catalogue of its own (connectors/sms inside
        # connectors/) keeps its messages there.
        def outside_others(path: str, src: Path = src) -> bool:
            here = Path(path).resolve()
            return not any(o != src and (here == o or o in here.parents) for o in owners)

        for _file, lineno, message, comments, _ctx in extract_from_dir(
            src, METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {}},
            directory_filter=outside_others,
        ):
            catalog.add(message, None, [(str(_file), lineno)], auto_comments=comments)
    return catalog


def po_path(translations: Path) -> Path:
    # "zh", not "zh_CN": Babel parses zh_CN as zh_Hans_CN, whose gettext fallbacks are
    # zh_Hans_CN and zh only.
    return translations / "zh" / "LC_MESSAGES" / "messages.po"


def update() -> None:
    for sources, translations in packages():
        template = extract(sources)
        path = po_path(translations)
        before = path.read_bytes() if path.exists() else b""
        if before:
            with path.open("rb") as fh:
                catalog = read_po(fh, locale="zh_CN")
            created = catalog.creation_date
            catalog.update(template, no_fuzzy_matching=True)
            catalog.creation_date = created  # no change of date without a change of text
        else:
            catalog = template
        path.parent.mkdir(parents=True, exist_ok=True)
        # Without line numbers: moving code around must not rewrite every catalogue (and make
        # every merge of two branches conflict).
        buffer = io.BytesIO()
        write_po(buffer, catalog, omit_header=False, sort_output=True, ignore_obsolete=True,
                 width=100, include_lineno=False)
        if buffer.getvalue() != before:
            path.write_bytes(buffer.getvalue())
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages")


def missing() -> list[str]:
    gaps = []
    for sources, translations in packages():
        template = extract(sources)
        path = po_path(translations)
        known: dict[object, object] = {}
        if path.exists():
            with path.open("rb") as fh:
                known = {m.id: m.string for m in read_po(fh, locale="zh_CN") if m.id}
        for message in template:
            if not message.id:
                continue
            translated = known.get(message.id)
            empty = not translated or (isinstance(translated, tuple) and not all(translated))
            if empty:
                gaps.append(f"{path.relative_to(ROOT)}: {message.id!r}")
    return gaps


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    elif sys.argv[1:] == ["check"]:
        gaps = missing()
        print("\n".join(gaps) or "every message is translated")
        sys.exit(1 if gaps else 0)
    else:
        sys.exit(__doc__)
