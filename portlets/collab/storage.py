"""Where attachment files live: a small interface, and the local-folder default.

A deployment with object storage implements ``AttachmentStorage`` (three methods) and names the
class in ``COLLAB_STORAGE``; the rows in ``collab_attachment`` only keep the opaque key.
"""

from __future__ import annotations

import importlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

from portal.toolkit import setting


class AttachmentStorage(Protocol):
    def save(self, data: bytes) -> str:
        """Store *data*; return the key to find it again."""

    def open(self, key: str) -> BinaryIO:
        """The stored bytes; ``FileNotFoundError`` when gone."""

    def delete(self, key: str) -> None:
        """Remove the file if it exists (used to undo a save whose transaction failed)."""


class LocalFolderStorage:
    """Files under a folder, two levels of sub-folders by key, written atomically."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise FileNotFoundError(key)
        return self.root / key[:2] / key

    def save(self, data: bytes) -> str:
        key = uuid.uuid4().hex
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        return key

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def storage() -> AttachmentStorage:
    """The configured storage: ``COLLAB_STORAGE`` is ``module:Class`` taking the folder, or
    empty for the local folder ``COLLAB_ATTACHMENTS_DIR``."""
    folder = str(setting("COLLAB_ATTACHMENTS_DIR"))
    spec = str(setting("COLLAB_STORAGE") or "")
    if not spec:
        return LocalFolderStorage(folder)
    module, _, name = spec.partition(":")
    cls = getattr(importlib.import_module(module), name)
    box: AttachmentStorage = cls(folder)
    return box
