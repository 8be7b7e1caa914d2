"""Keep the message catalogues in step with the code: extract, update the .po, list gaps.

    python scripts/i18n.py update     # re-extract and merge into every catalogue
    python scripts/i18n.py check      # exit 1 when a message has no zh_CN translation

A catalogue per package (the core, each built-in portlet), as a plugin would ship its own.
"""

from __future__ import annotations

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
    ships its own catalogue (a ``translations`` folder beside its ``plugin.py``)."""
    found = [([ROOT / "portal", ROOT / "sso"], ROOT / "portal" / "translations")]
    for group in ("portlets", "connectors", "sso"):
        folder = ROOT / group
        if not folder.is_dir():
            continue
        if (folder / "plugin.py").exists() and (folder / "translations").is_dir():
            found.append(([folder], folder / "translations"))  # a group that is one plugin
        for pkg in sorted(p for p in folder.iterdir() if p.is_dir()):
            if (pkg / "plugin.py").exists() and (group == "portlets" or
                                                 (pkg / "translations").is_dir()):
                found.append(([pkg], pkg / "translations"))
    return found


def extract(sources: list[Path]) -> Catalog:
    catalog = Catalog(locale="zh_CN", project="portal")
    for src in sources:
        for _file, lineno, message, comments, _ctx in extract_from_dir(
            src, METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {}}
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
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale="zh_CN")
            catalog.update(template, no_fuzzy_matching=True)
        else:
            catalog = template
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, omit_header=False, sort_output=True, ignore_obsolete=True,
                     width=100)
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
