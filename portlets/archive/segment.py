"""Chinese word segmentation for the full-text index: jieba, loaded once per process.

Indexing uses jieba's search mode (every dictionary word inside a long word as well), so a
document holding 卷烟市场专项整治 is found by 专项整治, by 专项 and by 卷烟. A query is cut in
precise mode; each of its words matches either itself or all of its own sub-words.
"""

from __future__ import annotations

import logging
import re
import threading

import jieba

#: A token worth indexing: letters, digits or CJK ideographs (no punctuation, no spaces).
_WORD = re.compile(r"^\w+$")
_lock = threading.Lock()
_ready = False


def load() -> None:
    """Build jieba's prefix dictionary now (about half a second, cached on disk by jieba), so
    that no request pays for it. Called at start-up; safe to call again."""
    global _ready
    if _ready:
        return
    with _lock:
        if not _ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _ready = True


def tokens(text: str) -> list[str]:
    """The search-mode words of *text*, lower-cased, punctuation dropped."""
    load()
    return [w.lower() for w in jieba.cut_for_search(text or "") if _WORD.match(w)]


def index_text(text: str) -> str:
    """*text* as the index stores it: its words separated by spaces."""
    return " ".join(tokens(text))


def query_words(query: str) -> list[tuple[str, list[str]]]:
    """Each precise-mode word of *query* with its smaller search-mode words (maybe none).
    Duplicates are dropped, order kept."""
    load()
    seen: set[str] = set()
    out: list[tuple[str, list[str]]] = []
    for raw in jieba.cut(query):
        word = raw.lower()
        if not _WORD.match(word) or word in seen:
            continue
        seen.add(word)
        parts = [p.lower() for p in jieba.cut_for_search(word)
                 if _WORD.match(p) and p.lower() != word]
        out.append((word, parts))
    return out
