"""XML text → JSON values (convert) and rendered args → XSD-typed args (coerce)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from mediator.errors import ClientError
from mediator.mapping.service_info import AttributeInfo, ElementInfo, TypeInfo
from mediator.translate.coerce import coerce_args, ensure_xml_safe
from mediator.translate.convert import convert_text

# -- convert_text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), (" 42\n", 42), ("+7", 7), ("-0", 0), ("-12", -12), ("007", 7), ("0", 0)],
)
def test_convert_integer(text, value):
    """xsd:int text becomes a Python int."""
    result = convert_text("integer", text)
    assert result == value
    assert type(result) is int


@pytest.mark.parametrize("text", ["4.0", "1e3", "abc", "", "0x10", "1 000", "1_000", "²"])
def test_convert_integer_rejects(text):
    """Non-integer text is rejected."""
    with pytest.raises(ValueError, match="not an integer"):
        convert_text("integer", text)


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("1234.50", "1234.50"),
        ("0.10", "0.10"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-3", "-3"),
        ("+1.000", "1.000"),
    ],
)
def test_convert_decimal_keeps_exact_digits(text, digits):
    """xsd:decimal text becomes a Decimal with exactly the digits given."""
    result = convert_text("decimal", text)
    assert isinstance(result, Decimal)
    assert str(result) == digits


@pytest.mark.parametrize("text", ["1e3", "NaN", "INF", "1,5", "", "."])
def test_convert_decimal_rejects(text):
    """Exponents, NaN, INF and other text are not xsd:decimal."""
    with pytest.raises(ValueError, match="not a decimal"):
        convert_text("decimal", text)


def test_convert_number():
    """xsd:double text becomes an int when integral in form, else an exact Decimal."""
    assert convert_text("number", "7") == 7
    assert type(convert_text("number", "7")) is int
    assert str(convert_text("number", "1.5E3")) == "1.5E+3"
    assert str(convert_text("number", "0.1")) == "0.1"


@pytest.mark.parametrize("text", ["INF", "-INF", "NaN", "abc"])
def test_convert_number_rejects_non_finite(text):
    """INF and NaN cannot be JSON numbers and are rejected."""
    with pytest.raises(ValueError, match="not a finite number"):
        convert_text("number", text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("1", True), ("false", False), ("0", False), (" true ", True)],
)
def test_convert_boolean(text, value):
    """xsd:boolean true/1/false/0 become booleans."""
    assert convert_text("boolean", text) is value


@pytest.mark.parametrize("text", ["True", "yes", "2", ""])
def test_convert_boolean_rejects(text):
    """Other spellings of booleans are rejected."""
    with pytest.raises(ValueError, match="not a boolean"):
        convert_text("boolean", text)


@pytest.mark.parametrize("text", ["2024-01-31", "2024-01-31Z", "2024-01-31+02:00", "2024-02-29"])
def test_convert_date(text):
    """xsd:date text stays an ISO string, validated."""
    assert convert_text("date", text) == text


@pytest.mark.parametrize(
    "text", ["2024-02-30", "2023-02-29", "20240131", "2024-1-31", "2024-01-31T00:00:00"]
)
def test_convert_date_rejects(text):
    """Impossible dates and non-XSD forms are rejected."""
    with pytest.raises(ValueError):  # noqa: PT011 - the converter's message varies by cause
        convert_text("date", text)


@pytest.mark.parametrize(
    "text", ["2024-01-31T10:00:00", "2024-01-31T10:00:00Z", "2024-01-31T10:00:00.123+01:00"]
)
def test_convert_datetime(text):
    """xsd:dateTime text stays an ISO string, validated."""
    assert convert_text("datetime", text) == text


@pytest.mark.parametrize(
    "text", ["2024-01-31", "2024-01-31 10:00:00", "2024-13-01T00:00:00", "2024-01-31T25:00:00", "x"]
)
def test_convert_datetime_rejects(text):
    """Date-only, space-separated and out-of-range dateTimes are rejected."""
    with pytest.raises(ValueError):  # noqa: PT011 - the converter's message varies by cause
        convert_text("datetime", text)


def test_convert_time():
    """xsd:time text stays an ISO string; other forms are rejected."""
    assert convert_text("time", "10:00:00.5Z") == "10:00:00.5Z"
    with pytest.raises(ValueError, match="not a time"):
        convert_text("time", "10:00")


def test_convert_base64_removes_whitespace():
    """xsd:base64Binary text is validated and its whitespace removed."""
    assert convert_text("base64", " aGVs\n bG8=\n") == "aGVsbG8="
    with pytest.raises(ValueError, match="not base64"):
        convert_text("base64", "***")


def test_convert_string_is_unchanged():
    """Strings keep their whitespace."""
    assert convert_text("string", "  a b \n") == "  a b \n"


# -- coerce_args ---------------------------------------------------------------------------

ORD = "urn:example:orders"
INT = TypeInfo("xs:int", scalar="integer")
STR = TypeInfo("xs:string", scalar="string")
DEC = TypeInfo("xs:decimal", scalar="decimal")
BOOL = TypeInfo("xs:boolean", scalar="boolean")
STATUS = TypeInfo("OrderStatus", scalar="string", enumeration=("open", "shipped"))
LINE = TypeInfo(
    "NewOrderLine",
    children=(
        ElementInfo("Sku", ORD, STR),
        ElementInfo("Quantity", ORD, INT),
        ElementInfo("UnitPrice", ORD, DEC),
    ),
)
CREATE = ElementInfo(
    "CreateOrder",
    ORD,
    TypeInfo(
        "CreateOrder",
        children=(
            ElementInfo("CustomerId", ORD, INT),
            ElementInfo("Line", ORD, LINE, max_occurs=None),
            ElementInfo("Note", ORD, STR, min_occurs=0),
            ElementInfo("Rush", ORD, BOOL, min_occurs=0),
            ElementInfo("Status", ORD, STATUS, min_occurs=0),
            ElementInfo("Due", ORD, TypeInfo("xs:date", scalar="date"), min_occurs=0),
            ElementInfo("At", ORD, TypeInfo("xs:dateTime", scalar="datetime"), min_occurs=0),
            ElementInfo("Blob", ORD, TypeInfo("xs:base64Binary", scalar="base64"), min_occurs=0),
            ElementInfo("Tag", ORD, STR, min_occurs=0, max_occurs=2),
            ElementInfo("Ext", ORD, TypeInfo("anyType", open=True), min_occurs=0),
            ElementInfo("Shipped", ORD, INT, nillable=True),
        ),
        attributes=(AttributeInfo("channel", None, "string"),),
    ),
)
LINE1 = {"Sku": "A-1", "Quantity": 2, "UnitPrice": Decimal("1234.50")}


def _coerce(**extra):
    return coerce_args(CREATE, {"CustomerId": 7, "Line": [LINE1], "Shipped": None, **extra})


def _client_error(**extra) -> str:
    with pytest.raises(ClientError) as info:
        _coerce(**extra)
    assert info.value.status == 400
    return info.value.detail


def test_coerce_keeps_types_and_exact_decimals():
    """Valid args come back XSD-typed; decimals keep their exact digits."""
    args = _coerce()
    assert args == {"CustomerId": 7, "Line": [LINE1], "Shipped": None}
    assert str(args["Line"][0]["UnitPrice"]) == "1234.50"


@pytest.mark.parametrize(
    ("given", "value"), [("42", 42), (" 42 ", 42), (Decimal("2.0"), 2), (3.0, 3)]
)
def test_coerce_integer_from_integral_values(given, value):
    """Integral strings, Decimals and floats become ints."""
    result = _coerce(CustomerId=given)["CustomerId"]
    assert result == value
    assert type(result) is int


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("abc", "'abc'"),
        ("4.5", "'4.5'"),
        (Decimal("2.5"), "Decimal('2.5')"),
        (True, "True"),
        ([1], "list"),
    ],
)
def test_coerce_string_for_int_names_the_element(given, shown):
    """A value that is not an integer for xsd:int is a client error naming the element path."""
    detail = _client_error(CustomerId=given)
    if isinstance(given, list):
        assert detail == "CreateOrder/CustomerId: expected a single value, got list"
    else:
        assert detail == f"CreateOrder/CustomerId: expected an integer, got {shown}"


def test_coerce_huge_decimal_for_int_fails_fast():
    """A huge exponent for an integer is rejected quickly, not expanded digit by digit."""
    started = time.perf_counter()
    detail = _client_error(CustomerId=Decimal("1E+999999"))
    assert time.perf_counter() - started < 1.0
    assert detail.startswith("CreateOrder/CustomerId: expected an integer, got ")


def test_coerce_error_path_into_lists():
    """Errors in repeated elements name the index."""
    line = {**LINE1, "Quantity": "two"}
    assert (
        _client_error(Line=[LINE1, line])
        == "CreateOrder/Line[1]/Quantity: expected an integer, got 'two'"
    )


@pytest.mark.parametrize(
    ("given", "digits"),
    [(Decimal("0.10"), "0.10"), ("1234.50", "1234.50"), (0.1, "0.1"), (5, "5"), ("1e3", "1E+3")],
)
def test_coerce_decimal(given, digits):
    """Decimals, numeric strings, floats and ints become exact Decimals."""
    result = _coerce(Line=[{**LINE1, "UnitPrice": given}])["Line"][0]["UnitPrice"]
    assert isinstance(result, Decimal)
    assert str(result) == digits


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("NaN", "a finite number"),
        ("Infinity", "a finite number"),
        ("x", "a number"),
        (True, "a number"),
    ],
)
def test_coerce_decimal_rejects(given, expected):
    """NaN, infinities, text and booleans are not decimals."""
    detail = _client_error(Line=[{**LINE1, "UnitPrice": given}])
    assert detail.startswith(f"CreateOrder/Line[0]/UnitPrice: expected {expected}, got ")


def test_coerce_repeated_element_wraps_a_single_value():
    """A single object for a repeated element becomes a one-item list."""
    assert _coerce(Line=LINE1)["Line"] == [LINE1]


def test_coerce_repeated_element_accepts_empty_list():
    """An empty list for a repeated element stays empty."""
    assert coerce_args(CREATE, {"CustomerId": 1, "Line": [], "Shipped": 1})["Line"] == []


def test_coerce_max_occurs_is_enforced():
    """More items than maxOccurs is a client error."""
    assert _coerce(Tag=["a", "b"])["Tag"] == ["a", "b"]
    assert _client_error(Tag=["a", "b", "c"]) == "CreateOrder/Tag: at most 2 items allowed, got 3"


def test_coerce_unknown_element_lists_valid_names():
    """An unknown key is a client error listing the element's children."""
    assert _client_error(Colour="red") == (
        "CreateOrder: unexpected element 'Colour'; expected one of: CustomerId, Line, Note, "
        "Rush, Status, Due, At, Blob, Tag, Ext, Shipped"
    )


def test_coerce_unknown_nested_element_lists_nested_names():
    """An unknown key in a nested object lists that object's children."""
    assert _client_error(Line=[{**LINE1, "Price": 1}]) == (
        "CreateOrder/Line[0]: unexpected element 'Price'; expected one of: Sku, Quantity, UnitPrice"
    )


def test_coerce_attributes_and_underscore_keys_pass_through():
    """Declared attributes and _-prefixed keys (zeep specials) pass through unchanged."""
    args = _coerce(channel="web", _soapheaders={"a": "b"})
    assert (args["channel"], args["_soapheaders"]) == ("web", {"a": "b"})


def test_coerce_missing_required_element():
    """A required element left out is a client error."""
    with pytest.raises(ClientError) as info:
        coerce_args(CREATE, {"Line": [LINE1], "Shipped": None})
    assert info.value.detail == "CreateOrder: missing required element 'CustomerId'"


def test_coerce_required_nillable_may_be_none():
    """A required but nillable element may be None; a required non-nillable one may not."""
    assert _coerce(Shipped=None)["Shipped"] is None
    assert _client_error(CustomerId=None) == "CreateOrder: missing required element 'CustomerId'"


def test_coerce_optional_none_is_kept_as_none():
    """None for an optional element stays None (zeep omits it)."""
    assert _coerce(Note=None)["Note"] is None


@pytest.mark.parametrize(
    ("given", "value"),
    [("plain", "plain"), (5, "5"), (Decimal("1.50"), "1.50"), (True, "true"), (False, "false")],
)
def test_coerce_string(given, value):
    """Scalars for xsd:string become their text; booleans become true/false."""
    assert _coerce(Note=given)["Note"] == value


def test_coerce_string_rejects_objects():
    """An object for xsd:string is a client error."""
    assert _client_error(Note={"a": 1}) == "CreateOrder/Note: expected a string, got dict"


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[31m", "\ud800", "\uffff"])
def test_coerce_string_rejects_characters_xml_cannot_carry(text):
    """Characters XML 1.0 cannot carry are a client error, not invalid XML upstream."""
    assert _client_error(Note=text) == "CreateOrder/Note: contains characters XML cannot carry"


def test_coerce_nested_string_rejects_characters_xml_cannot_carry():
    """XML-unsafe characters are found in nested elements too."""
    assert (
        _client_error(Line=[{**LINE1, "Sku": "A\x00"}])
        == "CreateOrder/Line[0]/Sku: contains characters XML cannot carry"
    )


@pytest.mark.parametrize(
    ("given", "value"),
    [
        (True, True),
        ("true", True),
        ("1", True),
        (1, True),
        (False, False),
        ("0", False),
        (0, False),
    ],
)
def test_coerce_boolean(given, value):
    """XSD boolean spellings and bools become bools."""
    assert _coerce(Rush=given)["Rush"] is value


def test_coerce_boolean_rejects():
    """Other values are not booleans."""
    assert _client_error(Rush="yes") == "CreateOrder/Rush: expected a boolean, got 'yes'"


def test_coerce_enumeration():
    """Values outside the XSD enumeration are rejected with the allowed values."""
    assert _coerce(Status="open")["Status"] == "open"
    assert (
        _client_error(Status="lost")
        == "CreateOrder/Status: expected one of open, shipped, got 'lost'"
    )


@pytest.mark.parametrize(
    ("name", "good"),
    [("Due", "2024-01-31"), ("Due", "2024-01-31Z"), ("At", "2024-01-31T10:00:00+01:00")],
)
def test_coerce_dates_stay_strings(name, good):
    """Valid xsd:date/xsd:dateTime strings pass unchanged."""
    assert _coerce(**{name: good})[name] == good


@pytest.mark.parametrize(
    ("name", "bad", "kind"),
    [
        ("Due", "2024-02-30", "date"),
        ("Due", "20240131", "date"),
        ("Due", "2024-W05-3", "date"),
        ("At", "2024-01-31", "datetime"),
        ("At", "2024-01-31 10:00:00", "datetime"),
        ("At", "2024-01-31T10", "datetime"),
    ],
)
def test_coerce_dates_must_be_xsd_lexical_forms(name, bad, kind):
    """Dates XSD would not accept (impossible, basic or week forms, date-only) are rejected."""
    assert (
        _client_error(**{name: bad})
        == f"CreateOrder/{name}: expected an ISO 8601 {kind}, got {bad!r}"
    )


def test_coerce_date_needs_a_string():
    """A number for a date is rejected."""
    assert (
        _client_error(Due=20240131)
        == "CreateOrder/Due: expected an ISO 8601 date string, got 20240131"
    )


def test_coerce_base64():
    """Valid base64 passes; anything else is rejected."""
    assert _coerce(Blob="aGVsbG8=")["Blob"] == "aGVsbG8="
    assert (
        _client_error(Blob="not base64!")
        == "CreateOrder/Blob: expected a base64 string, got 'not base64!'"
    )


def test_coerce_open_content_is_checked_for_xml_safety_only():
    """Open (anyType) content passes as given, but its strings must be XML-safe."""
    assert _coerce(Ext={"any": ["thing", 1]})["Ext"] == {"any": ["thing", 1]}
    assert (
        _client_error(Ext={"any": ["ok", "bad\x00"]})
        == "CreateOrder/Ext/any[1]: contains characters XML cannot carry"
    )


def test_coerce_object_expected():
    """A scalar where a complex element is expected is a client error."""
    assert _client_error(Line=["A-1"]) == "CreateOrder/Line[0]: expected an object, got 'A-1'"


def test_coerce_top_level_must_be_an_object():
    """Args that are not an object are rejected, naming the input element."""
    with pytest.raises(ClientError) as info:
        coerce_args(CREATE, ["x"])
    assert info.value.detail == "CreateOrder: expected an object, got list"


def test_coerce_without_input_element():
    """An operation without input accepts no args."""
    assert coerce_args(None, {}) == {}
    with pytest.raises(ClientError) as info:
        coerce_args(None, {"x": 1})
    assert info.value.detail == "this operation takes no input"


def test_coerce_input_without_children_passes_args_through():
    """An input element without children passes args through as a dict."""
    empty = ElementInfo("Ping", ORD, TypeInfo("Ping"))
    assert coerce_args(empty, {"a": 1}) == {"a": 1}


def test_coerce_bounds_nesting():
    """Deeply nested open content is rejected rather than recursed into without bound."""
    deep: object = "x"
    for _ in range(100):
        deep = {"a": deep}
    with pytest.raises(ClientError, match="nested too deeply"):
        _coerce(Ext=deep)


def test_ensure_xml_safe_returns_the_value_or_names_the_path():
    """ensure_xml_safe returns its argument unchanged, or names where the bad text is."""
    value = {"a": ["x", {"b": "y"}], "n": 1}
    assert ensure_xml_safe(value, "body") is value
    with pytest.raises(ClientError) as info:
        ensure_xml_safe({"a": ["x", {"b": "y\x07"}]}, "body")
    assert info.value.detail == "body/a[1]/b: contains characters XML cannot carry"
