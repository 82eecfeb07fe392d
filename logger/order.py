"""MLflow's `order_by` for runs: "metrics.f1 DESC", parsed and applied to the rows of `logger.filter`.

The browser sorts with the twin in `reporter/static/filter.js` (`sortRows`), tested for the same order.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .filter import NUMBER_ATTRIBUTES, Parser, field_getter

__all__ = ["DEFAULT_ORDER", "OrderKey", "parse_order_by", "sort_rows"]


@dataclass(frozen=True)
class OrderKey:
    entity: str  # metrics, params, tags or attributes
    key: str
    ascending: bool = True


DEFAULT_ORDER = (OrderKey("attributes", "start_time", False), OrderKey("attributes", "run_id", True))


def _order_key(item: Any, index: int) -> OrderKey:
    if isinstance(item, OrderKey):
        return item
    what = f"order_by item {index}"
    if not isinstance(item, str):
        raise ValueError(f"{what}: expected a string such as 'metrics.f1 DESC', found {type(item).__name__}")
    parser = Parser(item, what)
    entity, key = parser.field()
    ascending = True
    if parser.is_word(parser.peek(), "ASC", "DESC"):
        ascending = parser.take().value.upper() == "ASC"
    parser.expect_end("ASC, DESC or the end of the item")
    return OrderKey(entity, key, ascending)


def parse_order_by(items: Iterable[str | OrderKey] | None) -> list[OrderKey]:
    """["metrics.f1 DESC", "start_time"] -> OrderKeys; ValueError on a malformed item."""
    return [_order_key(item, index) for index, item in enumerate(items or (), start=1)]


def _sort_values(rows: list[dict], key: OrderKey) -> list[Any]:
    """Per row: a sortable value, NaN, or None when missing."""
    if key.entity in ("metrics", "attributes") and (key.entity == "metrics" or key.key in NUMBER_ATTRIBUTES):
        return [field_getter(key.entity, key.key, True)(row) for row in rows]
    if key.entity == "attributes":
        return [field_getter("attributes", key.key, False)(row) for row in rows]
    texts = [field_getter(key.entity, key.key, False)(row) for row in rows]
    if key.entity == "params":
        # An extension over MLflow's text order: a param whose values are all numbers sorts by number.
        numbers = [field_getter("params", key.key, True)(row) for row in rows]
        if all((n is None) == (t is None) for n, t in zip(numbers, texts)):
            return numbers
    return texts


def sort_rows(rows: list[dict], order_by: Iterable[str | OrderKey] | None = None) -> list[dict]:
    """Rows sorted by the keys in turn; missing values last and NaN just before them whatever the
    direction (as MLflow does). Ties go by start_time DESC, then run_id (MLflow's order with no keys),
    so the order never depends on the order rows came in."""
    keys = parse_order_by(order_by) + list(DEFAULT_ORDER)
    rows = list(rows)
    for key in reversed(keys):  # successive stable sorts, least significant key first
        present, nans, missing = [], [], []
        for value, row in zip(_sort_values(rows, key), rows):
            if value is None:
                missing.append(row)
            elif value != value:
                nans.append(row)
            else:
                present.append((value, row))
        present.sort(key=operator.itemgetter(0), reverse=not key.ascending)
        rows = [row for _, row in present] + nans + missing
    return rows
