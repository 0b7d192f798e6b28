"""check renders every request from sample data and validates it against the input schema."""

from __future__ import annotations

from pathlib import Path

from mediator.mapping.loader import load_mappings
from mediator.translate.sample import Placeholder, sample_request_issues
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import MAPPINGS_DIR, WSDL_DIR

CASES = Path(__file__).parent / "sample_cases.yaml"


def test_bundled_example_renders_valid_requests(registry: WsdlRegistry) -> None:
    """Every route of the bundled example renders a request that fits its operation."""
    mappings = load_mappings(
        [MAPPINGS_DIR], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={}
    )
    assert {route.name: sample_request_issues(route) for route in mappings.routes} == {
        "get-order": [],
        "search-orders": [],
        "create-order": [],
        "get-customer": [],
        "customer-overview": [],
    }


def test_schema_mismatches_are_reported(registry: WsdlRegistry) -> None:
    """Unknown elements, missing required ones, ill-formed XML and a wrong root are each found."""
    mappings = load_mappings([CASES], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
    found = {route.path: sample_request_issues(route) for route in mappings.routes}
    assert found["/a"] == [
        "CreateOrder/Lne: not an element of CreateOrder; expected one of: CustomerId, Line, Note",
        "CreateOrder: required element Line is missing",
    ]
    assert len(found["/b"]) == 1
    assert found["/b"][0].startswith(
        "request body renders ill-formed XML: ill-formed XML (line 1): Opening and ending tag mismatch"
    )
    assert found["/c"] == [
        "GetOrder: rendered element {urn:example:orders}GetOrderX where the schema expects {urn:example:orders}GetOrder"
    ]


def test_placeholder_is_permissive() -> None:
    """The placeholder for untyped JSON answers any attribute, item or iteration."""
    value = Placeholder()
    assert value == "1"
    assert value.anything.deeper["x"] == "1"
    assert list(value) == ["1"]
    assert value.get("k") == "1"


def test_composed_steps_are_checked_like_routes(registry: WsdlRegistry) -> None:
    """Each step of a composed route renders from sample data and is checked on its own."""
    mappings = load_mappings([CASES], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
    composed = next(route for route in mappings.routes if route.steps)
    found = {step.name: sample_request_issues(step.call) for step in composed.steps}
    assert found == {
        "good": [],
        "broken": [
            "GetOrder/Order: not an element of GetOrder; expected one of: OrderId",
            "GetOrder: required element OrderId is missing",
        ],
    }
