"""Column-wise extraction of record lists (mediator.translate.column_plan).

Every case compares three readings of the same document: the compiled plan (which reads
long lists of flat records column by column), and the generic per-field walk (taken with a
trace). They must agree, whether the columns line up or the plan falls back.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from mediator.errors import ExtractError
from mediator.mapping.model import ResponseSpec
from mediator.translate import child_plan, column_plan
from mediator.translate.response import extract_response
from tests.unit.translate.fields import XSI, body_of, spec_of

NS = "urn:test:columns"
N = column_plan.MIN_RECORDS + 3

FIELDS: dict[str, Any] = {
    "total": {"xpath": "t:Total", "type": "integer"},
    "rows": {
        "xpath": "t:Row",
        "list": True,
        "fields": {
            "id": {"xpath": "t:Id", "type": "integer"},
            "amount": {"xpath": "t:Amount", "type": "decimal"},
            "at": {"xpath": "t:At", "type": "datetime"},
            "ok": {"xpath": "t:Ok", "type": "boolean"},
            "label": {"xpath": "t:Label", "type": "string"},
            "day": {"xpath": "t:Day", "type": "date"},
            "clock": {"xpath": "t:Clock", "type": "time"},
            "x": {"xpath": "x:Code", "type": "string"},
        },
    },
}


def _spec(fields: dict[str, Any] = FIELDS) -> ResponseSpec:
    return spec_of(fields, {"t": NS, "x": "urn:other"})


def _row(i: int, **override: str) -> str:
    return "<Row>" + "".join(_children(i, **override).values()) + "</Row>"


def _children(i: int, **override: str) -> dict[str, str]:
    parts = {
        "Id": f"<Id>{i}</Id>",
        "Amount": f"<Amount>{i}.{i % 10}0</Amount>",
        "At": f"<At>2026-01-{1 + i % 28:02d}T10:00:00Z</At>",
        "Ok": f"<Ok>{'true' if i % 2 else '0'}</Ok>",
        "Label": f"<Label>row &amp; {i}</Label>",
        "Day": f"<Day>2026-02-{1 + i % 28:02d}{'Z' if i % 3 else ''}</Day>",
        "Clock": f"<Clock>{i % 24:02d}:30:00{'.5' if i % 2 else ''}</Clock>",
        "Code": f'<x:Code xmlns:x="urn:other">C{i}</x:Code>',
    }
    parts.update(override)
    return parts


def _document(rows: list[str]) -> Any:
    return body_of(f"<Total>{len(rows)}</Total>" + "\n  ".join(rows), NS)


def _rows(change: int | None = None, **override: str) -> list[str]:
    return [_row(i, **(override if i == change else {})) for i in range(N)]


def _reordered(i: int) -> str:
    return _row(i).replace(f"<Id>{i}</Id>", "").replace("</Row>", f"<Id>{i}</Id></Row>")


CASES = {
    "aligned": _rows(),
    "short list": [_row(i) for i in range(3)],
    "empty list": [],
    "every record in another order": [_reordered(i) for i in range(N)],
    "one record in another order": [*_rows()[:-1], _reordered(N - 1)],
    "a record without a field": _rows(5, Ok=""),
    "a record with a field twice": _rows(7, Ok="<Ok>true</Ok><Ok>false</Ok>"),
    "a record with an extra element": _rows(9, Extra="<Extra>1</Extra>"),
    "a record with an extra element first": [
        *_rows()[:9],
        "<Row><Extra>1</Extra>" + _row(9)[len("<Row>") :],
        *_rows()[10:],
    ],
    "a record with an extra element holding elements": _rows(9, Extra="<Extra><x/></Extra>"),
    "an empty field": _rows(3, Label="<Label/>"),
    "a blank typed field": _rows(3, Amount="<Amount> </Amount>"),
    "a field with a comment": _rows(4, Label="<Label>a<!-- c -->b</Label>"),
    "a field with a child": _rows(4, Label="<Label>a<b>c</b>d</Label>"),
    "a field in CDATA": _rows(6, Label="<Label><![CDATA[<x>&]]></Label>"),
    "padded values": _rows(2, Id="<Id> 12 </Id>", Amount="<Amount>\n1.5\n</Amount>"),
    "signed and leading-dot values": _rows(2, Id="<Id>-12</Id>", Amount="<Amount>+.5</Amount>"),
    "a nil somewhere": _rows(8, Label=f'<Label xmlns:xsi="{XSI}" xsi:nil="true"/>'),
    "non-ASCII digits": _rows(17, Id="<Id>١٢</Id>"),
    "comments between records": [f"<!-- {i} -->{_row(i)}" for i in range(N)],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_columns_agree_with_the_generic_walk(name: str) -> None:
    """The plan's answer (column-wise or not) equals the per-field walk's, key order too."""
    spec = _spec()
    body = _document(CASES[name])
    fast = extract_response(spec, body)
    generic = extract_response(spec, body, trace=[])
    assert fast == generic
    assert [list(row) for row in fast["rows"]] == [list(row) for row in generic["rows"]]


def test_aligned_records_are_read_by_columns() -> None:
    """A long list of aligned records takes the column path; shorter ones do not."""
    spec = _spec()
    (column,) = [column_plan.column_list(f) for f in spec.fields if f.name == "rows"]
    assert column is not None
    root = spec.root(_document(_rows()))[0]
    records = column.read(root)
    assert records is not None and len(records) == N
    assert records[1] == {
        "id": 1,
        "amount": column_plan.Decimal("1.10"),
        "at": "2026-01-02T10:00:00Z",
        "ok": True,
        "label": "row & 1",
        "day": "2026-02-02Z",
        "clock": "01:30:00.5",
        "x": "C1",
    }
    assert column.read(spec.root(_document(CASES["short list"]))[0]) is None
    assert column.read(spec.root(_document(CASES["a record without a field"]))[0]) is None


BAD = {
    "integer": (_rows(10, Id="<Id>1.5</Id>"), "field 'id' (t:Id): not an integer"),
    "decimal": (_rows(11, Amount="<Amount>1e3</Amount>"), "field 'amount' (t:Amount): not"),
    "line break": (_rows(12, Amount="<Amount>1.5\n2</Amount>"), "field 'amount' (t:Amount)"),
    "date": (_rows(13, At="<At>2026-02-30T00:00:00Z</At>"), "field 'at' (t:At): day is out"),
    "boolean": (_rows(14, Ok="<Ok>yes</Ok>"), "field 'ok' (t:Ok): not a boolean"),
    "day": (_rows(15, Day="<Day>2026-13-01</Day>"), "field 'day' (t:Day): month must be"),
    "clock": (_rows(16, Clock="<Clock>24:00:61</Clock>"), "field 'clock' (t:Clock): hour must"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_in_a_column_names_its_field(name: str) -> None:
    """A value that does not fit is the same ExtractError as on the generic walk."""
    rows, message = BAD[name]
    spec = _spec()
    with pytest.raises(ExtractError) as fast:
        extract_response(spec, _document(rows))
    with pytest.raises(ExtractError) as generic:
        extract_response(spec, _document(rows), trace=[])
    assert str(fast.value) == str(generic.value)
    assert str(fast.value).startswith(message)


@pytest.mark.parametrize(
    "fields",
    [
        {
            "xpath": "t:Row",
            "fields": {"id": "t:Id", "sub": {"xpath": "t:S", "fields": {"a": "t:A"}}},
        },
        {"xpath": "t:Row", "fields": {"id": "t:Id", "ids": {"xpath": "t:Id", "list": True}}},
        {"xpath": "t:Row", "fields": {"id": "t:Id", "raw": {"xpath": "t:Label", "type": "xml"}}},
        {"xpath": "t:Row", "fields": {"id": "t:Id", "label": "t:Label/text()"}},
        {"xpath": "t:Row", "list": False, "fields": {"id": "t:Id"}},
    ],
    ids=["nested object", "list field", "xml field", "xpath field", "not a list"],
)
def test_only_lists_of_flat_scalar_records_are_columns(fields: dict[str, Any]) -> None:
    """Nested objects, lists, XML or XPath fields, and single objects keep the element path."""
    spec = _spec({"rows": fields})
    assert column_plan.column_list(spec.fields[0]) is None


_VALUES = {
    "Id": ["1", "-2", " 3 ", "x", "", "007", "١٢"],
    "Amount": ["1.5", "-.5", "2.", "1e3", " 4.25 ", ""],
    "At": ["2026-01-02T03:04:05Z", "2026-02-30T00:00:00Z", "2026-01-02T03:04:05.5+01:00", ""],
    "Ok": ["true", "0", "1", "false", "yes", " true "],
    "Label": ["a", "", " b ", "a &amp; b", "<![CDATA[<c>]]>"],
    "Day": ["2026-02-28", "2026-02-28Z", "2026-13-01"],
    "Clock": ["10:00:00", "25:00:00", "10:00:00.5Z"],
}


def _random_row(rng: random.Random, i: int, *, odd: float, deviate: bool) -> str:
    """A regular record, with odd values at rate ``odd``; ``deviate`` breaks its shape."""
    children = [
        f"<{tag}>{rng.choice(values) if rng.random() < odd else _plain_value(tag, i)}</{tag}>"
        for tag, values in _VALUES.items()
    ]
    children.append(f'<x:Code xmlns:x="urn:other">C{i}</x:Code>')
    if deviate:
        change = rng.randrange(5)
        if change == 0:
            children.pop(rng.randrange(len(children)))  # a field missing
        elif change == 1:
            children.insert(rng.randrange(len(children)), children[rng.randrange(len(children))])
        elif change == 2:
            rng.shuffle(children)
        elif change == 3:
            children.insert(rng.randrange(len(children) + 1), "<Extra>e</Extra>")
        else:
            children[rng.randrange(len(children))] = "<Label>a<!-- c -->b</Label>"
    return "<Row>" + "".join(children) + "</Row>"


def _plain_value(tag: str, i: int) -> str:
    return {
        "Id": str(i),
        "Amount": f"{i}.5",
        "At": "2026-01-02T03:04:05Z",
        "Ok": "true",
        "Label": f"L{i}",
        "Day": "2026-02-28",
        "Clock": "10:00:00",
    }[tag]


@pytest.mark.parametrize("seed", range(60))
def test_random_record_lists_agree_with_the_generic_walk(seed: int) -> None:
    """Random lists of records (mostly regular, some with missing, repeated, reordered or
    extra children, odd values) give the same JSON or the same error on both paths."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    count = rng.choice([N, N * 2, N * 4])
    odd = rng.choice([0.0, 0.0, 0.002, 0.02])
    deviant = rng.randrange(count) if rng.random() < 0.4 else -1
    rows = [_random_row(rng, i, odd=odd, deviate=i == deviant) for i in range(count)]
    spec = _spec()
    body = _document(rows)
    try:
        fast: Any = extract_response(spec, body)
    except ExtractError as exc:
        fast = ("error", str(exc))
    try:
        generic: Any = extract_response(spec, body, trace=[])
    except ExtractError as exc:
        generic = ("error", str(exc))
    assert fast == generic


def test_compiled_orders_are_bounded() -> None:
    """An upstream that sends its fields in ever new orders cannot grow the cache of
    compiled columns without bound; every order is still read right."""
    spec = _spec()
    plan = child_plan.plan_for(spec.fields)
    assert plan is not None
    (column,) = plan._columns  # the list the plan reads, with its cache
    rng = random.Random(3)  # noqa: S311 - reproducible test data, not secrets
    seen = 0
    for _ in range(40):
        tags = list(_children(0))
        rng.shuffle(tags)
        rows = ["<Row>" + "".join(_children(i)[tag] for tag in tags) + "</Row>" for i in range(N)]
        body = _document(rows)
        assert extract_response(spec, body) == extract_response(spec, body, trace=[])
        seen = max(seen, len(column._orders))
        assert len(column._orders) <= column_plan._MAX_ORDERS
    assert seen == column_plan._MAX_ORDERS  # the cache filled up and was reset
