"""check: templates may read only what their route provides."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediator.errors import MappingError
from mediator.mapping.loader import load_mappings
from mediator.mapping.references import RouteVariables, template_reference_issues
from mediator.mapping.templating import DATA_ENV, XML_ENV
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import WSDL_DIR

VARIABLES = RouteVariables(path=["id"], query=["status"], headers=["x-tenant"], env=["TENANT"])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ path.id }} {{ query.status }} {{ body.anything.deep }}", []),
        ('{{ headers["x-tenant"] }} {{ headers.get("X-Tenant") }} {{ env.TENANT }}', []),
        ("{% for line in body.lines %}{{ line.sku }}{% endfor %}", []),
        (
            "{{ path.idd }}",
            ["template reads path.idd, which the route does not provide; path parameters: id"],
        ),
        (
            "{{ query.q }}",
            [
                "template reads query.q, which the route does not provide; query parameters (declare them under params.query): status"
            ],
        ),
        (
            '{{ headers.get("authorization") }}',
            [
                "template reads headers.authorization, which the route does not provide; allow-listed headers (declare them under headers): x-tenant"
            ],
        ),
        (
            "{{ env.HOME }}",
            [
                "template reads env.HOME, which the route does not provide; allow-listed environment variables (declare them under env): TENANT"
            ],
        ),
        (
            "{{ bdy.x }}",
            [
                "template reads unknown variable 'bdy'; templates see: body, env, headers, path, query"
            ],
        ),
    ],
)
def test_reference_issues(source: str, expected: list[str]) -> None:
    """Undeclared parameters, headers, env variables and unknown names are each reported."""
    assert template_reference_issues(source, DATA_ENV, VARIABLES) == expected


def test_syntax_errors_are_left_to_compilation() -> None:
    """A template that does not parse yields no reference issue (the compiler reports it)."""
    assert template_reference_issues("{{ path.id ", XML_ENV, VARIABLES) == []


def test_loader_reports_references_at_the_template(tmp_path: Path, registry: WsdlRegistry) -> None:
    """The loader reports a bad reference with file:line:col of the template."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "version: 1\nservice:\n  wsdl: orders.wsdl\nroutes:\n  - get: /o/{id}\n    operation: GetOrder\n"
        "    request:\n      args:\n        OrderId: '{{ path.order_id }}'\n"
    )
    with pytest.raises(MappingError) as caught:
        load_mappings([mapping], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
    assert [str(i) for i in caught.value.issues] == [
        f"{mapping}:9:18: routes[0].request.args.OrderId: template reads path.order_id, which the route does not provide; path parameters: id"
    ]
