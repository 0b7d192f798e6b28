"""Compiled child-step extraction (mediator.translate.child_plan) against the generic walk.

With a trace, :func:`extract_response` takes the generic per-field path; without one it
takes the compiled plan wherever every field is a plain child step. Both must give the same
JSON, and the same error, for every document.
"""

from __future__ import annotations

from typing import Any

import pytest

from mediator.errors import ExtractError
from mediator.mapping.model import ResponseSpec
from mediator.translate import child_plan
from mediator.translate.response import extract_response
from tests.unit.translate.fields import body_of, spec_of

NS = "urn:test:plan"

FIELDS: dict[str, Any] = {
    "id": {"xpath": "t:Id", "type": "integer"},
    "name": {"xpath": "t:Name", "type": "string"},
    "amount": {"xpath": "t:Amount", "type": "decimal"},
    "when": {"xpath": "t:When", "type": "datetime"},
    "ok": {"xpath": "t:Ok", "type": "boolean"},
    "raw": {"xpath": "t:Raw", "type": "xml"},
    "note": {"xpath": "t:Note", "type": "string", "absent": "null"},
    "tags": {"xpath": "t:Tag", "type": "string", "list": True},
    "address": {
        "xpath": "t:Address",
        "fields": {"city": {"xpath": "t:City", "type": "string"}, "zip": {"xpath": "t:Zip"}},
    },
    "lines": {
        "xpath": "t:Line",
        "list": True,
        "fields": {
            "sku": {"xpath": "t:Sku", "type": "string"},
            "qty": {"xpath": "t:Qty", "type": "integer"},
        },
    },
}


def _spec(fields: dict[str, Any] = FIELDS) -> ResponseSpec:
    return spec_of(fields, {"t": NS})


def _body(content: str) -> Any:
    return body_of(content, NS)


DOCUMENTS = {
    "full": "<Id>7</Id><Name>Ann &amp; Co</Name><Amount>-1.50</Amount>"
    "<When>2024-02-29T10:00:00Z</When><Ok>1</Ok><Raw><x a='1'>y</x></Raw><Note>n</Note>"
    "<Tag>a</Tag><Tag>b</Tag><Address><City>Oslo</City><Zip>0150</Zip></Address>"
    "<Line><Sku>S</Sku><Qty>2</Qty></Line><Line><Sku>T</Sku><Qty>3</Qty></Line>",
    "empty": "",
    "nils": '<Id xsi:nil="true"/><Name xsi:nil="1"/><Address xsi:nil="true"/>'
    '<Line xsi:nil="true"/><Line><Sku xsi:nil="true"/><Qty>1</Qty></Line><Raw xsi:nil="true"/>',
    "nil-false": '<Id xsi:nil="false">5</Id><Name xsi:nil="0">x</Name>',
    "blank-typed": "<Id> </Id><Amount/><Ok></Ok><Name/>",
    "duplicates-first-wins": "<Id>1</Id><Id>2</Id><Name>a</Name><Name>b</Name>",
    "mixed-content": "<Name>ab<i>cd</i>ef</Name><Id>1<!-- c -->2</Id>",
    "comments-and-pis": "<!-- a --><Id>3</Id><?pi x?><Tag>t</Tag><!-- b -->",
    "foreign-elements": '<Other>1</Other><x:Id xmlns:x="urn:other">9</x:Id><Id>4</Id>',
    "whitespace-kept-in-strings": "<Name>  padded  </Name><Id> 12 </Id>",
    "cdata": "<Name><![CDATA[<not markup>]]></Name>",
    "nested-lists-empty": "<Address/><Line/><Line></Line>",
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_compiled_plan_matches_the_generic_walk(name: str) -> None:
    """The compiled plan and the generic per-field walk give the same JSON."""
    spec = _spec()
    body = _body(DOCUMENTS[name])
    assert child_plan.plan_for(spec.fields) is not None
    assert extract_response(spec, body) == extract_response(spec, body, trace=[])


BAD = {
    "integer": ("<Id>x</Id>", "field 'id' (t:Id): not an integer"),
    "decimal": ("<Amount>1e5</Amount>", "field 'amount' (t:Amount): not a decimal"),
    "datetime": ("<When>2024-02-30T10:00:00Z</When>", "field 'when' (t:When): day is out"),
    "boolean": ("<Ok>yes</Ok>", "field 'ok' (t:Ok): not a boolean"),
    "nested": ("<Line><Qty>two</Qty></Line>", "field 'qty' (t:Qty): not an integer"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_names_its_field(name: str) -> None:
    """A value that does not fit its type is the same ExtractError on both paths."""
    document, message = BAD[name]
    spec = _spec()
    with pytest.raises(ExtractError) as fast:
        extract_response(spec, _body(document))
    with pytest.raises(ExtractError) as generic:
        extract_response(spec, _body(document), trace=[])
    assert str(fast.value) == str(generic.value)
    assert str(fast.value).startswith(message)


def test_objects_with_xpath_fields_are_not_compiled() -> None:
    """A field that needs XPath (here, two steps) keeps its object on the generic walk,
    while nested objects of plain child steps are still compiled."""
    spec = _spec({"city": "t:Address/t:City", "lines": FIELDS["lines"]})
    assert child_plan.plan_for(spec.fields) is None
    body = _body(DOCUMENTS["full"])
    assert extract_response(spec, body) == {
        "city": "Oslo",
        "lines": [{"sku": "S", "qty": 2}, {"sku": "T", "qty": 3}],
    }


def test_two_fields_reading_one_tag_use_the_generic_walk() -> None:
    """Two fields on the same child tag are not compiled, and both get the value."""
    spec = _spec({"a": {"xpath": "t:Id", "type": "integer"}, "b": "t:Id"})
    assert child_plan.plan_for(spec.fields) is None
    assert extract_response(spec, _body("<Id>5</Id>")) == {"a": 5, "b": "5"}


def test_plans_are_compiled_once_per_field_tuple() -> None:
    """The same fields give the same plan object; equal but distinct tuples do not mix."""
    spec = _spec()
    assert child_plan.plan_for(spec.fields) is child_plan.plan_for(spec.fields)
    other = _spec()
    assert child_plan.plan_for(other.fields) is not child_plan.plan_for(spec.fields)


def test_deep_nesting_is_refused() -> None:
    """Objects nested beyond the bound are an ExtractError, as on the generic walk."""
    fields: dict[str, Any] = {"v": "t:V"}
    for _ in range(child_plan.MAX_DEPTH + 1):
        fields = {"n": {"xpath": "t:N", "fields": fields}}
    spec = _spec(fields)
    content = "<N>" * (child_plan.MAX_DEPTH + 1) + "<V>1</V>" + "</N>" * (child_plan.MAX_DEPTH + 1)
    with pytest.raises(ExtractError, match="nested too deeply"):
        extract_response(spec, _body(content))


def test_has_nil_sees_nil_anywhere_below() -> None:
    """The document-wide nil check finds a nil at any depth, and only xsi:nil."""
    assert child_plan.has_nil(_body('<A><B><C xsi:nil="true"/></B></A>')[0])
    assert not child_plan.has_nil(_body('<A nil="true"><B/></A>')[0])
