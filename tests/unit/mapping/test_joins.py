"""The join filters of composed routes (mediator.mapping.joins)."""

from __future__ import annotations

import pytest

from mediator.mapping.joins import COMPOSE_ENV, index_by, join_by, omit, pick, rename
from mediator.mapping.templating import DATA_ENV

ORDERS = [{"id": 1, "total": 5}, {"id": 2, "total": 7}, {"id": None}]
DETAILS = [{"id": "2", "lines": ["b"]}, {"id": "1", "lines": ["a"]}, {"id": 1, "lines": ["c"]}]


def test_join_by_merges_the_first_match():
    """Without into the first match's fields are merged in (its values win); keys compare
    as text; an item without a match (or key) is kept as it is."""
    assert join_by(ORDERS, DETAILS, "id") == [
        {"id": "1", "total": 5, "lines": ["a"]},
        {"id": "2", "total": 7, "lines": ["b"]},
        {"id": None},
    ]


def test_join_by_nests_under_into():
    """With into the match is nested (null without one); many nests every match."""
    assert join_by(ORDERS[:2], DETAILS, "id", into="detail") == [
        {"id": 1, "total": 5, "detail": {"id": "1", "lines": ["a"]}},
        {"id": 2, "total": 7, "detail": {"id": "2", "lines": ["b"]}},
    ]
    many = join_by(ORDERS, DETAILS, "id", into="details", many=True)
    assert [len(item["details"]) for item in many] == [2, 1, 0]


def test_join_by_other_key_and_missing_sides():
    """right_key names the right side's key; a null right (a failed optional step) matches
    nothing; a null left stays null."""
    right = [{"orderId": 2, "x": 1}]
    assert join_by(ORDERS[:2], right, "id", right_key="orderId", into="r")[1]["r"] == right[0]
    assert join_by(ORDERS[:1], None, "id", into="r") == [{"id": 1, "total": 5, "r": None}]
    assert join_by(None, DETAILS, "id") is None


def test_join_by_rejects_what_it_cannot_join():
    """Lists of objects only; many needs into."""
    with pytest.raises(TypeError, match="expected a list of objects"):
        join_by({"id": 1}, DETAILS, "id")
    with pytest.raises(TypeError, match="many=true needs into"):
        join_by(ORDERS, DETAILS, "id", many=True)


def test_index_rename_pick_omit():
    """Objects by key (first wins); renamed, picked and omitted keys, on objects or lists."""
    assert index_by(DETAILS, "id") == {"2": DETAILS[0], "1": DETAILS[1], 1: DETAILS[2]}
    assert rename(ORDERS[0], {"id": "orderId"}) == {"orderId": 1, "total": 5}
    assert rename(ORDERS[:2], {"total": "sum"}) == [{"id": 1, "sum": 5}, {"id": 2, "sum": 7}]
    assert pick(ORDERS[:2], "id") == [{"id": 1}, {"id": 2}]
    assert omit(ORDERS[0], "id") == {"total": 5}
    assert pick(None, "id") is None


def test_compose_environment_is_separate():
    """The join filters exist only where composed templates compile."""
    assert "join_by" in COMPOSE_ENV.filters
    assert "join_by" not in DATA_ENV.filters
    assert COMPOSE_ENV.filters["int"] is DATA_ENV.filters["int"]
