"""A tiny, safe expression language for workflow conditions (``amount > 5000 and urgent``).

Parsed once at start-up into a tree and evaluated over the instance data; there is no
``eval``: only names (dotted paths into the data), numbers, quoted strings, ``true``/``false``/
``null``, comparisons (``== != < <= > >= in``), ``and``, ``or``, ``not`` and parentheses. A
bare name is true when its value is truthy (a non-empty list, a non-zero number...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TOKEN = re.compile(r"""\s*(?:
    (?P<num>\d+(?:\.\d+)?)
  | (?P<str>"[^"]*"|'[^']*')
  | (?P<op>==|!=|<=|>=|<|>|\(|\))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
)""", re.VERBOSE)
KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
}


class ExpressionError(ValueError):
    """The condition text is not an expression of the language."""


@dataclass(frozen=True)
class Expression:
    """A parsed condition; call :meth:`evaluate` with the instance data."""

    source: str
    tree: Any

    def evaluate(self, data: Mapping[str, Any]) -> bool:
        """True or false; a comparison of values that cannot be compared is false, not an
        error, so a missing field never stops a workflow."""
        return bool(_eval(self.tree, data))


def parse(source: str) -> Expression:
    tokens = _tokenize(source)
    parser = _Parser(tokens, source)
    tree = parser.expr()
    if parser.pos != len(tokens):
        raise ExpressionError(f"unexpected {tokens[parser.pos][1]!r} in {source!r}")
    return Expression(source, tree)


def _tokenize(source: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = source.rstrip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:pos + 10]!r} in {source!r}")
        pos = m.end()
        if m.group("num"):
            raw = m.group("num")
            tokens.append(("lit", float(raw) if "." in raw else int(raw)))
        elif m.group("str"):
            tokens.append(("lit", m.group("str")[1:-1]))
        elif m.group("op"):
            tokens.append(("op", m.group("op")))
        else:
            name = m.group("name")
            if name in ("true", "false", "null"):
                tokens.append(("lit", {"true": True, "false": False, "null": None}[name]))
            elif name in KEYWORDS:
                tokens.append(("op", name))
            else:
                tokens.append(("name", name))
    if not tokens:
        raise ExpressionError("an empty condition")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], source: str) -> None:
        self.tokens, self.source, self.pos = tokens, source, 0

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _accept(self, op: str) -> bool:
        tok = self._peek()
        if tok == ("op", op):
            self.pos += 1
            return True
        return False

    def expr(self) -> Any:
        left = self.conj()
        while self._accept("or"):
            left = ("or", left, self.conj())
        return left

    def conj(self) -> Any:
        left = self.neg()
        while self._accept("and"):
            left = ("and", left, self.neg())
        return left

    def neg(self) -> Any:
        if self._accept("not"):
            return ("not", self.neg())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.atom()
        tok = self._peek()
        if tok and tok[0] == "op" and tok[1] in COMPARE:
            self.pos += 1
            return ("cmp", tok[1], left, self.atom())
        return left

    def atom(self) -> Any:
        tok = self._peek()
        if tok is None:
            raise ExpressionError(f"the condition {self.source!r} ends too early")
        self.pos += 1
        if tok == ("op", "("):
            inner = self.expr()
            if not self._accept(")"):
                raise ExpressionError(f"missing ')' in {self.source!r}")
            return inner
        if tok[0] == "lit":
            return ("lit", tok[1])
        if tok[0] == "name":
            return ("name", tok[1])
        raise ExpressionError(f"unexpected {tok[1]!r} in {self.source!r}")


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _eval(node: Any, data: Mapping[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "name":
        return _lookup(data, node[1])
    if kind == "not":
        return not _eval(node[1], data)
    if kind == "and":
        return _eval(node[1], data) and _eval(node[2], data)
    if kind == "or":
        return _eval(node[1], data) or _eval(node[2], data)
    _cmp, op, left, right = node
    try:
        return COMPARE[op](_eval(left, data), _eval(right, data))
    except TypeError:
        return False
