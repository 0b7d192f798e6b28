"""Walking simple XPaths through XSD descriptions (mediator.mapping.xpathtypes)."""

from __future__ import annotations

import pytest

from mediator.mapping.service_info import AttributeInfo, ElementInfo, TypeInfo
from mediator.mapping.xpathtypes import UnknownStep, resolve_path

ORD = "urn:example:orders"
X = "urn:example:extra"
NS = {"o": ORD}

INT = TypeInfo("xs:int", scalar="integer")
STR = TypeInfo("xs:string", scalar="string")
DEC = TypeInfo("xs:decimal", scalar="decimal")

LINE = TypeInfo(
    "OrderLine",
    children=(
        ElementInfo("Sku", ORD, STR),
        ElementInfo("Qty", ORD, INT),
        ElementInfo("Tag", ORD, STR, min_occurs=0, max_occurs=3),
    ),
)
CUSTOMER = TypeInfo(
    "Customer",
    children=(ElementInfo("Name", ORD, STR),),
    attributes=(AttributeInfo("vip", None, "boolean"), AttributeInfo("rank", X, "integer")),
)
PRICE = TypeInfo("Price", scalar="decimal", attributes=(AttributeInfo("currency", None, "string"),))
ORDER = TypeInfo(
    "Order",
    children=(
        ElementInfo("Id", ORD, INT),
        ElementInfo("Customer", ORD, CUSTOMER),
        ElementInfo("Line", ORD, LINE, min_occurs=0, max_occurs=None),
        ElementInfo("Price", ORD, PRICE),
        ElementInfo("ShippedAt", ORD, TypeInfo("xs:dateTime", scalar="datetime"), nillable=True),
        ElementInfo("Extra", X, STR),
        ElementInfo("Any", ORD, TypeInfo("anyType", open=True)),
    ),
)
BODY = TypeInfo("Body", children=(ElementInfo("Order", ORD, ORDER),))


def test_scalar_child():
    """A child element resolves to its element, type and scalar kind."""
    result = resolve_path("o:Id", ORDER, NS)
    assert result is not None
    assert (result.scalar, result.repeated, result.nillable) == ("integer", False, False)
    assert result.type is INT
    assert result.element is ORDER.children[0]


def test_repeated_child():
    """A child with maxOccurs unbounded is repeated."""
    result = resolve_path("o:Line", ORDER, NS)
    assert result is not None
    assert (result.repeated, result.type, result.scalar) == (True, LINE, None)


def test_bounded_max_occurs_is_repeated():
    """A child with maxOccurs greater than one is repeated."""
    result = resolve_path("o:Tag", LINE, NS)
    assert result is not None
    assert result.repeated is True


def test_repeated_flag_carries_through_nested_steps():
    """A single element below a repeated one is repeated too (one per parent)."""
    result = resolve_path("o:Order/o:Line/o:Qty", BODY, NS)
    assert result is not None
    assert (result.scalar, result.repeated) == ("integer", True)


def test_nested_non_repeated_path():
    """A path through single elements only is not repeated."""
    result = resolve_path("o:Order/o:Customer/o:Name", BODY, NS)
    assert result is not None
    assert (result.scalar, result.repeated) == ("string", False)


@pytest.mark.parametrize("step", ["o:Line[1]", "o:Line[ 2 ]", "o:Line[10]"])
def test_numeric_predicate_selects_one(step):
    """A numeric predicate on a repeated step selects a single item."""
    result = resolve_path(f"{step}/o:Qty", ORDER, NS)
    assert result is not None
    assert (result.scalar, result.repeated) == ("integer", False)


@pytest.mark.parametrize("step", ["o:Line[last()]", "o:Line[o:Qty > 1]", "o:Line[position() < 3]"])
def test_other_predicates_keep_repeated(step):
    """A non-numeric predicate may select many items: still repeated."""
    result = resolve_path(step, ORDER, NS)
    assert result is not None
    assert result.repeated is True


def test_attribute_step():
    """An attribute step resolves to the attribute's scalar kind, no element."""
    result = resolve_path("o:Customer/@vip", ORDER, NS)
    assert result is not None
    assert (result.scalar, result.type, result.element, result.repeated) == (
        "boolean",
        None,
        None,
        False,
    )


def test_namespaced_attribute_step():
    """A prefixed attribute step matches the attribute in that namespace."""
    result = resolve_path("o:Customer/@x:rank", ORDER, {"o": ORD, "x": X})
    assert result is not None
    assert result.scalar == "integer"


def test_attribute_below_repeated_is_repeated():
    """An attribute of a repeated element is repeated."""
    line = TypeInfo("L", attributes=(AttributeInfo("no", None, "integer"),))
    start = TypeInfo("S", children=(ElementInfo("L", ORD, line, max_occurs=None),))
    result = resolve_path("o:L/@no", start, NS)
    assert result is not None
    assert (result.scalar, result.repeated) == ("integer", True)


def test_unknown_attribute_lists_the_attributes():
    """An attribute the type does not declare raises UnknownStep listing the declared ones."""
    with pytest.raises(UnknownStep) as info:
        resolve_path("o:Customer/@gold", ORDER, {"o": ORD, "x": X})
    assert info.value.step == "@gold"
    assert info.value.choices == ["@vip", "@x:rank"]


def test_attribute_not_last_is_not_simple():
    """An attribute step followed by more steps is not walked."""
    assert resolve_path("o:Customer/@vip/o:Name", ORDER, NS) is None


def test_text_step_gives_the_scalar_of_simple_content():
    """text() of a simple-content element gives the element's scalar kind."""
    result = resolve_path("o:Price/text()", ORDER, NS)
    assert result is not None
    assert (result.scalar, result.type, result.element) == ("decimal", None, None)


def test_text_step_of_element_only_type_is_string():
    """text() of an element-only type is a string."""
    result = resolve_path("o:Customer/text()", ORDER, NS)
    assert result is not None
    assert result.scalar == "string"


def test_text_step_keeps_repeated():
    """text() below a repeated step is repeated."""
    result = resolve_path("o:Line/o:Sku/text()", ORDER, NS)
    assert result is not None
    assert (result.scalar, result.repeated) == ("string", True)


def test_simple_content_with_attributes():
    """An element with simple content and attributes keeps both in its type."""
    result = resolve_path("o:Price", ORDER, NS)
    assert result is not None
    assert result.scalar == "decimal"
    assert [a.local for a in result.type.attributes] == ["currency"]


def test_nillable_is_reported():
    """A nillable element is reported as nillable."""
    result = resolve_path("o:ShippedAt", ORDER, NS)
    assert result is not None
    assert (result.nillable, result.scalar) == (True, "datetime")


def test_dot_steps_are_ignored():
    """'.' steps stay on the current element."""
    result = resolve_path("./o:Id", ORDER, NS)
    assert result is not None
    assert result.scalar == "integer"


def test_dot_alone_is_the_start_type():
    """'.' resolves to the start type without an element."""
    result = resolve_path(".", PRICE, NS)
    assert result is not None
    assert (result.type, result.scalar, result.element, result.repeated) == (
        PRICE,
        "decimal",
        None,
        False,
    )


def test_whitespace_around_steps_is_ignored():
    """Whitespace around the path and its steps does not matter."""
    result = resolve_path("  o:Line / o:Qty ", ORDER, NS)
    assert result is not None
    assert (result.scalar, result.repeated) == ("integer", True)


@pytest.mark.parametrize(
    "xpath",
    [
        "",
        "   ",
        "/o:Order",
        "//o:Id",
        "o:Order//o:Id",
        "o:Id | o:Line",
        "count(o:Line)",
        "string(o:Id)",
        "o:*",
        "*",
        "..",
        "o:Line/text()/o:Sku",
        "child::o:Id",
        "o:Line[o:Sku='a/b']",
    ],
)
def test_non_simple_paths_return_none(xpath):
    """Paths with functions, axes, wildcards, unions or absolute steps are not walked."""
    assert resolve_path(xpath, ORDER, NS) is None


def test_undeclared_prefix_returns_none():
    """A prefix missing from the namespaces is left to the prefix check."""
    assert resolve_path("q:Id", ORDER, NS) is None


def test_unknown_step_lists_valid_children():
    """A step naming no child raises UnknownStep listing the children, prefixed."""
    with pytest.raises(UnknownStep) as info:
        resolve_path("o:Ident", ORDER, NS)
    assert info.value.step == "o:Ident"
    assert info.value.choices == [
        "o:Id",
        "o:Customer",
        "o:Line",
        "o:Price",
        "o:ShippedAt",
        f"{{{X}}}Extra",
        "o:Any",
    ]
    assert str(info.value).startswith(
        "step 'o:Ident' matches nothing the schema allows here; expected one of: o:Id, o:Customer"
    )


def test_unknown_step_in_nested_type_lists_that_types_children():
    """An unknown step deeper in the path lists the children of the type reached there."""
    with pytest.raises(UnknownStep) as info:
        resolve_path("o:Order/o:Line/o:Price", BODY, NS)
    assert info.value.choices == ["o:Sku", "o:Qty", "o:Tag"]


def test_wrong_namespace_is_an_unknown_step():
    """The right local name in the wrong namespace does not match."""
    with pytest.raises(UnknownStep):
        resolve_path("x:Id", ORDER, {"o": ORD, "x": X})


def test_unqualified_children_match_unprefixed_steps():
    """Children without a namespace match unprefixed steps and are listed unprefixed."""
    start = TypeInfo("T", children=(ElementInfo("id", None, INT),))
    result = resolve_path("id", start, NS)
    assert result is not None
    assert result.scalar == "integer"
    with pytest.raises(UnknownStep) as info:
        resolve_path("o:id", start, NS)
    assert info.value.choices == ["id"]


def test_leaf_has_no_children():
    """A step below a scalar element says the schema allows nothing there."""
    with pytest.raises(UnknownStep) as info:
        resolve_path("o:Id/o:Value", ORDER, NS)
    assert info.value.choices == []
    assert str(info.value).endswith("expected one of: nothing (no child elements)")


def test_open_content_is_not_checked():
    """Below an open (xsd:any / anyType) element nothing can be checked: None."""
    assert resolve_path("o:Any/o:Whatever", ORDER, NS) is None
    assert resolve_path("o:Any/@whatever", ORDER, NS) is None


def test_open_type_with_known_children_allows_unknown_names():
    """A type with known children and xsd:any resolves known names, None for others."""
    start = TypeInfo("T", children=(ElementInfo("Id", ORD, INT),), open=True)
    result = resolve_path("o:Id", start, NS)
    assert result is not None
    assert result.scalar == "integer"
    assert resolve_path("o:Other", start, NS) is None


def test_recursive_types_resolve():
    """A recursive type (a node containing nodes) can be walked to any depth."""
    node = TypeInfo("Node")
    node.children = (ElementInfo("Value", ORD, INT), ElementInfo("Child", ORD, node, min_occurs=0))
    result = resolve_path("o:Child/o:Child/o:Child/o:Value", node, NS)
    assert result is not None
    assert (result.scalar, result.repeated) == ("integer", False)
