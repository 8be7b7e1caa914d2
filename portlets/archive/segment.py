"""Chinese word segmentation for the full-text index: jieba, loaded once per process.

Indexing uses jieba's search mode (every dictionary word inside a long word as well), so a
document holding 卷烟市场专项整治 is found by 专项整治, by 专项 and by 卷烟. A query is cut in
precise mode; each of its words matches either itself or all of its own sub-words.

jieba's HMM guess of unknown words is off on both sides: in context it cuts an unknown word
differently than alone (烟草专卖品准运证 became 品准 / 运证, the query 准运证 one word), so a
document would never be found by it. Without the HMM an unknown word falls into single
characters the same way in a document and in a query. The office's own terms are added to the
dictionary (``DOMAIN_WORDS``) so they stay whole. Changing the dictionary changes the tokens:
run ``portal archive reindex`` afterwards.
"""

from __future__ import annotations

import logging
import re
import threading

import jieba

#: A token worth indexing: letters, digits or CJK ideographs (no punctuation, no spaces).
_WORD = re.compile(r"^\w+$")
#: Terms of the tobacco office that jieba's dictionary lacks or cuts apart.
DOMAIN_WORDS = ("准运证", "专卖品", "零售户", "零售客户", "真烟外流", "专项整治", "专管员",
                "送货员", "客户经理", "三员协同", "订单供货", "涉烟", "假烟", "非渠道卷烟",
                "现代终端", "网格化", "案卷评查", "打假破网", "许可证", "稽查", "货源投放",
                "品牌培育", "督查督办", "收文", "发文", "签发", "会签", "核稿")
_lock = threading.Lock()
_ready = False


def load() -> None:
    """Build jieba's prefix dictionary (about half a second, cached on disk by jieba).

    On first use, not at start-up: the dictionary is about 70 MB per process, and most web
    workers never segment anything (indexing runs in the dispatcher, searches are rare next
    to page views). The first archive search of a worker pays the half second once."""
    global _ready
    if _ready:
        return
    with _lock:
        if not _ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            for word in DOMAIN_WORDS:
                jieba.add_word(word)
            _ready = True


def tokens(text: str) -> list[str]:
    """The search-mode words of *text*, lower-cased, punctuation dropped."""
    load()
    return [w.lower() for w in jieba.cut_for_search(text or "", HMM=False) if _WORD.match(w)]


def index_text(text: str) -> str:
    """*text* as the index stores it: its words separated by spaces."""
    return " ".join(tokens(text))


def query_words(query: str) -> list[tuple[str, list[str]]]:
    """Each precise-mode word of *query* with its smaller search-mode words (maybe none).
    Duplicates are dropped, order kept."""
    load()
    seen: set[str] = set()
    out: list[tuple[str, list[str]]] = []
    for raw in jieba.cut(query, HMM=False):
        word = raw.lower()
        if not _WORD.match(word) or word in seen:
            continue
        seen.add(word)
        parts = [p.lower() for p in jieba.cut_for_search(word, HMM=False)
                 if _WORD.match(p) and p.lower() != word]
        out.append((word, parts))
    return out
