"""The sealed file of a document: its text in a stable byte form, signed by the issuing unit.

The bytes are made once, at 印制用印, and kept: what is downloaded later is exactly what was
signed, whatever happens to the organisation's names afterwards.
"""

from __future__ import annotations

import hashlib

from portlets.documents.models import Document


def render(doc: Document, unit_name: str) -> bytes:
    """Number, title, issuing unit and body as UTF-8 text with ``\\n`` line ends and no
    trailing spaces: the same document always gives the same bytes."""
    body = "\n".join(line.rstrip() for line in doc.body.replace("\r\n", "\n")
                     .replace("\r", "\n").split("\n")).strip("\n")
    text = f"{doc.number or ''}\n{doc.title.strip()}\n{unit_name}\n\n{body}\n"
    return text.encode("utf-8")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def filename(doc: Document) -> str:
    return f"{doc.number or doc.id}.txt"
