"""MLflow's `search_runs` filter grammar (plus OR and parentheses), over plain row dicts.

The same grammar runs in the browser (`reporter/static/filter.js`); both are tested against
`tests/fixtures/filter_cases.json`, and both give the same error messages.

A row is a plain dict, the same in Python and in JavaScript::

    {"attributes": {"run_id", "run_name", "status", "start_time", "end_time", "experiment_id",
                    "user", "artifact_uri", "parent_run_id"},   # times: int ms or None
     "params": {key: any JSON value}, "metrics": {key: latest float, NaN allowed},
     "tags": {key: value}}

Grammar::

    filter     := [or_expr]                 (empty text matches every run)
    or_expr    := and_expr (OR and_expr)*   (AND binds tighter than OR; keywords any case)
    and_expr   := primary (AND primary)*
    primary    := "(" or_expr ")" | comparison
    comparison := field op value | field [NOT] IN "(" value ("," value)* ")"
    field      := entity "." key | attribute
    entity     := metrics|metric | params|param|parameters|parameter | tags|tag
                  | attributes|attribute|attr|run                      (any case)
    key        := [A-Za-z0-9_.-/]+ | "quoted" | 'quoted' | `quoted`    (tags.mlflow.runName works)
    attribute  := run_id run_name status experiment_id user artifact_uri parent_run_id
                  start_time end_time (aliases: user_id -> user, created -> start_time)
    op         := = != < <= > >= LIKE ILIKE
    value      := number (-1, 2.5e-3, .5) | 'string' | "string"

In a string, a backslash before the quote character or before a backslash escapes it; any other
backslash is kept as it is (so 'C:\\tmp' needs no doubling).

Meaning:
- metrics compare as numbers; LIKE is an error. A run without the metric never matches, not even
  for `!=`. NaN matches only `!=` and `NOT IN`.
- params compare as MLflow compares them, by their text (`param_text`): `params.alpha = '0.1'`
  matches a param logged as the number 0.1. Extension: against a bare number (`params.lr < 0.01`,
  `params.n IN (1, 2)`) a param compares as a number when it is a number or a numeric string
  (`[+-]digits[.digits][e[+-]digits]`, no spaces), and otherwise does not match.
- tags and string attributes compare as text: = != LIKE ILIKE IN NOT IN, quoted values only.
- start_time / end_time compare as numbers (ms). A missing (None) attribute never matches.
- LIKE: `%` is any run of characters, `_` one character; case-sensitive. ILIKE: case-insensitive
  (both sides lower-cased).

Values become text and numbers as `logger/values.py` says; rows are sorted by `logger/order.py`.

Errors are ValueError("filter: expected <what> at position <1-based character>, found <token>").
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .values import NUMERIC_TEXT, param_number, param_text

__all__ = ["Filter", "parse_filter"]

ENTITIES = {
    "metrics": "metrics", "metric": "metrics",
    "params": "params", "param": "params", "parameters": "params", "parameter": "params",
    "tags": "tags", "tag": "tags",
    "attributes": "attributes", "attribute": "attributes", "attr": "attributes", "run": "attributes",
}
STRING_ATTRIBUTES = ("run_id", "run_name", "status", "experiment_id", "user", "artifact_uri", "parent_run_id")
NUMBER_ATTRIBUTES = ("start_time", "end_time")
_ATTRIBUTES = {name: name for name in STRING_ATTRIBUTES + NUMBER_ATTRIBUTES}
_ATTRIBUTES.update(user_id="user", created="start_time")
_ATTRIBUTE_LIST = ", ".join(STRING_ATTRIBUTES + NUMBER_ATTRIBUTES)

_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN")
_TEXT_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}
_MAX_DEPTH = 100  # nested parentheses; deeper input is an error, not a RecursionError
_EMPTY: dict = {}

# ---------------------------------------------------------------- tokens


class _Token(NamedTuple):
    kind: str  # ident, number, string, op, "(", ")", ",", end
    value: Any  # float for numbers, unescaped text for strings, the text otherwise
    pos: int  # 1-based character position
    raw: str
    quote: str = ""


_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
_OP = re.compile(r"<=|>=|!=|=|<|>")


def _found(token: _Token) -> str:
    if token.kind == "end":
        return "end of input"
    return token.raw if token.kind == "string" else f"'{token.raw}'"


def _tokenize(text: str, what: str) -> list[_Token]:
    tokens, i, n = [], 0, len(text)
    while i < n:
        match = _SPACE.match(text, i)
        if match:
            i = match.end()
            continue
        char = text[i]
        if char in "'\"`":
            j, parts = i + 1, []
            while j < n and text[j] != char:
                if text[j] == "\\" and j + 1 < n and text[j + 1] in (char, "\\"):
                    j += 1
                parts.append(text[j])
                j += 1
            if j >= n:
                raise ValueError(f"{what}: expected a closing {char} for the string at position {i + 1}, "
                                 "found end of input")
            tokens.append(_Token("string", "".join(parts), i + 1, text[i : j + 1], char))
            i = j + 1
            continue
        for kind, pattern in (("number", NUMERIC_TEXT), ("ident", _IDENT), ("op", _OP)):
            match = pattern.match(text, i)
            if match:
                raw = match.group()
                tokens.append(_Token(kind, float(raw) if kind == "number" else raw, i + 1, raw))
                i = match.end()
                break
        else:
            if char not in "(),":
                raise ValueError(f"{what}: expected a field, operator or value at position {i + 1}, found '{char}'")
            tokens.append(_Token(char, char, i + 1, char))
            i += 1
    tokens.append(_Token("end", None, n + 1, ""))
    return tokens


# ---------------------------------------------------------------- parser


class Parser:
    def __init__(self, text: str, what: str):
        self.what = what
        self.tokens = _tokenize(text, what)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, expected: str, token: _Token, note: str = "") -> ValueError:
        note = f" ({note})" if note else ""
        return ValueError(f"{self.what}: expected {expected} at position {token.pos}, found {_found(token)}{note}")

    def is_word(self, token: _Token, *words: str) -> bool:
        return token.kind == "ident" and token.value.upper() in words

    def field(self) -> tuple[str, str]:
        """(entity, key) with the entity one of metrics, params, tags, attributes."""
        token = self.take()
        if token.kind != "ident":
            raise self.fail("a field such as metrics.<key>, params.<key>, tags.<key> or an attribute", token)
        name = token.value
        if "." not in name:
            attribute = _ATTRIBUTES.get(name.lower())
            if attribute is None:
                raise self.fail(f"metrics.<key>, params.<key>, tags.<key> or an attribute ({_ATTRIBUTE_LIST})", token)
            return "attributes", attribute
        prefix, _, key = name.partition(".")
        entity = ENTITIES.get(prefix.lower())
        if entity is None:
            raise self.fail("an entity (metrics, params, tags, attributes)", token)
        if not key:
            quoted = self.peek()
            if quoted.kind != "string" or not quoted.value:
                raise self.fail(f"a key after '{prefix}.'", quoted)
            key = self.take().value
        if entity == "attributes":
            attribute = _ATTRIBUTES.get(key.lower())
            if attribute is None:
                raise self.fail("an attribute (" + _ATTRIBUTE_LIST + ")", token)
            return entity, attribute
        return entity, key

    def operator(self) -> tuple[str, _Token]:
        token = self.take()
        if token.kind == "op":
            return token.value, token
        if self.is_word(token, "LIKE", "ILIKE", "IN"):
            return token.value.upper(), token
        if self.is_word(token, "NOT"):
            if not self.is_word(self.peek(), "IN"):
                raise self.fail("IN after NOT", self.peek())
            self.take()
            return "NOT IN", token
        raise self.fail("a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)", token)

    def value(self) -> _Token:
        token = self.take()
        if token.kind == "number" or (token.kind == "string" and token.quote != "`"):
            return token
        raise self.fail("a value (a number or a quoted string)", token)

    def values(self) -> list[_Token]:
        if self.peek().kind != "(":
            raise self.fail("'(' to open the IN list", self.peek())
        self.take()
        items = [self.value()]
        while self.peek().kind == ",":
            self.take()
            items.append(self.value())
        if self.peek().kind != ")":
            raise self.fail("',' or ')' in the IN list", self.peek())
        self.take()
        return items

    def comparison(self) -> Callable[[dict], bool]:
        entity, key = self.field()
        op, op_token = self.operator()
        label = key if entity == "attributes" else f"{entity}.{key}"
        allowed: tuple[str, ...]
        if entity == "metrics" or (entity == "attributes" and key in NUMBER_ATTRIBUTES):
            allowed = _NUMBER_OPS
        elif entity == "params":
            allowed = _NUMBER_OPS + ("LIKE", "ILIKE")
        else:
            allowed = _TEXT_OPS
        if op not in allowed:
            raise self.fail(f"one of {', '.join(allowed)} for {label}", op_token)
        values = self.values() if op in ("IN", "NOT IN") else [self.value()]
        if entity == "params":
            # Text comparison by default, numeric against a bare number (an extension over MLflow).
            numeric = op in ("<", "<=", ">", ">=") or (op not in ("LIKE", "ILIKE") and values[0].kind == "number")
        else:
            numeric = allowed is _NUMBER_OPS
        kind = "a number" if numeric else "a quoted string"
        for token in values:
            if (token.kind == "number") != (kind == "a number"):
                raise self.fail(f"{kind} after '{label} {op}'", token)
        return _compile(entity, key, op, [token.value for token in values], numeric)

    def primary(self, depth: int) -> Callable[[dict], bool]:
        token = self.peek()
        if token.kind != "(":
            return self.comparison()
        if depth >= _MAX_DEPTH:
            raise self.fail(f"at most {_MAX_DEPTH} nested parentheses", token)
        self.take()
        inner = self.or_expr(depth + 1)
        if self.peek().kind != ")":
            raise self.fail("')'", self.peek(), f"unbalanced '(' at position {token.pos}")
        self.take()
        return inner

    def and_expr(self, depth: int) -> Callable[[dict], bool]:
        parts = [self.primary(depth)]
        while self.is_word(self.peek(), "AND"):
            self.take()
            parts.append(self.primary(depth))
        return _all(parts)

    def or_expr(self, depth: int = 0) -> Callable[[dict], bool]:
        parts = [self.and_expr(depth)]
        while self.is_word(self.peek(), "OR"):
            self.take()
            parts.append(self.and_expr(depth))
        return _any(parts)

    def expect_end(self, expected: str) -> None:
        if self.peek().kind != "end":
            raise self.fail(expected, self.peek())


# ---------------------------------------------------------------- evaluation: closures built once


def _all(parts):
    if len(parts) == 1:
        return parts[0]

    def every(row):
        for part in parts:
            if not part(row):
                return False
        return True

    return every


def _any(parts):
    if len(parts) == 1:
        return parts[0]

    def some(row):
        for part in parts:
            if part(row):
                return True
        return False

    return some


def _like(pattern: str, fold: bool) -> re.Pattern:
    if fold:
        pattern = pattern.lower()
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.S)


def field_getter(entity: str, key: str, numeric: bool) -> Callable[[dict], Any]:
    """row -> the compared value (a float when numeric, else text), or None when the run has none."""
    if entity == "metrics" or (entity == "attributes" and numeric):

        def number(row):
            value = (row.get(entity) or _EMPTY).get(key)
            return value if type(value) in (float, int) else None

        return number
    if entity == "attributes":

        def text(row):
            value = (row.get("attributes") or _EMPTY).get(key)
            return value if value is None or type(value) is str else param_text(value)

        return text
    convert = param_number if numeric else param_text

    def converted(row):
        mapping = row.get(entity) or _EMPTY
        return convert(mapping[key]) if key in mapping else None

    return converted


def _test(op: str, values: list) -> Callable[[Any], bool]:
    target = values[0]
    if op == "IN":
        wanted = frozenset(values)
        return wanted.__contains__
    if op == "NOT IN":
        unwanted = frozenset(values)
        return lambda value: value not in unwanted
    if op in ("LIKE", "ILIKE"):
        fold = op == "ILIKE"
        match = _like(target, fold).fullmatch
        return (lambda value: match(value.lower()) is not None) if fold else (lambda value: match(value) is not None)
    compare = _COMPARE[op]
    return lambda value: compare(value, target)


def _compile(entity: str, key: str, op: str, values: list, numeric: bool) -> Callable[[dict], bool]:
    get, test = field_getter(entity, key, numeric), _test(op, values)

    def comparison(row):
        value = get(row)
        return value is not None and test(value)

    return comparison


# ---------------------------------------------------------------- public API


class Filter:
    """A parsed filter string; `matches(row)` says whether a run passes it."""

    def __init__(self, text: str, predicate: Callable[[dict], bool] | None):
        self.text = text
        self._predicate = predicate

    def matches(self, row: dict) -> bool:
        return self._predicate is None or self._predicate(row)

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"


def parse_filter(text: str | None) -> Filter:
    """Parse a search_runs filter string; raises ValueError naming the position of the problem."""
    text = text or ""
    parser = Parser(text, "filter")
    if parser.peek().kind == "end":
        return Filter(text, None)
    predicate = parser.or_expr()
    if parser.peek().kind == ")":
        raise parser.fail("AND, OR or the end of the filter", parser.peek(), "unbalanced ')'")
    parser.expect_end("AND, OR or the end of the filter")
    return Filter(text, predicate)
