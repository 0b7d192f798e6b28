"""Loading, validating and compiling mapping files (mediator.mapping.loader)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mediator.errors import MappingError
from mediator.mapping.loader import load_mappings

WSDL_DIR = Path(__file__).resolve().parents[3] / "wsdl"

HEAD = """\
version: 1
service:
  wsdl: orders.wsdl
  namespaces: {o: "urn:example:orders"}
routes:
"""

GET_ORDER = """\
  - get: /orders/{id}
    operation: GetOrder
    params:
      path: {id: integer}
    request:
      args: {OrderId: "{{ path.id }}"}
"""

OPERATIONS = "GetOrder, SearchOrders, CreateOrder, GetCustomer"


def _write(tmp_path: Path, text: str, name: str = "svc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _load(registry, paths, environ=None):
    return load_mappings(
        list(paths), describe=registry.describe, wsdl_dir=WSDL_DIR, environ=environ or {}
    )


def _issues(registry, tmp_path: Path, text: str, environ=None) -> list[str]:
    """Load ``text`` as svc.yaml; return its issues with the directory stripped."""
    path = _write(tmp_path, text)
    with pytest.raises(MappingError) as info:
        _load(registry, [path], environ)
    assert str(info.value) == "\n".join(str(issue) for issue in info.value.issues)
    prefix = f"{tmp_path}/"
    return [str(issue).removeprefix(prefix) for issue in info.value.issues]


# -- a valid file ------------------------------------------------------------------------


def test_valid_file_compiles_routes(registry, tmp_path):
    """A valid file yields its routes bound to the WSDL operation with typed parameters."""
    path = _write(tmp_path, HEAD + GET_ORDER)
    mappings = _load(registry, [path])
    (route,) = mappings.routes
    assert (route.method, route.path, route.name) == ("GET", "/orders/{id}", "GET /orders/{id}")
    assert route.operation.name == "GetOrder"
    assert (route.file, route.line) == (str(path), 6)
    assert [(p.name, p.location, p.kind, p.required) for p in route.params] == [
        ("id", "path", "integer", True)
    ]
    assert route.namespaces == {"o": "urn:example:orders"}
    assert mappings.files == (str(path),)


def test_upstream_defaults_come_from_the_wsdl(registry, tmp_path):
    """Without port/address/timeouts the first SOAP port, its address and the defaults apply."""
    mappings = _load(registry, [_write(tmp_path, HEAD + GET_ORDER)])
    upstream = mappings.routes[0].upstream
    assert upstream.service == "OrderService"
    assert upstream.port.name == "OrderPortSoap11"
    assert upstream.soap_version == "1.1"
    assert upstream.address == "http://127.0.0.1:8081/orders"
    assert (upstream.timeout, upstream.connect_timeout) == (30.0, 3.0)
    assert upstream.max_response_bytes == 10 * 1024 * 1024
    assert upstream.key == "orders.wsdl#OrderService/OrderPortSoap11@http://127.0.0.1:8081/orders"
    assert mappings.upstreams == {upstream.key: upstream}


def test_service_settings_are_parsed(registry, tmp_path):
    """Port, address, timeouts and size limit are read and converted to seconds and bytes."""
    text = """\
        version: 1
        service:
          wsdl: orders.wsdl
          port: OrderPortSoap12
          address: https://soap.example/orders
          timeout: 2m
          connect_timeout: 500ms
          max_response_size: 2MiB
        routes: []
        """
    path = _write(tmp_path, text)
    mappings = _load(registry, [path])
    (upstream,) = mappings.upstreams.values()
    assert upstream.soap_version == "1.2"
    assert upstream.address == "https://soap.example/orders"
    assert (upstream.timeout, upstream.connect_timeout) == (120.0, 0.5)
    assert upstream.max_response_bytes == 2 * 1024 * 1024


def test_connect_timeout_is_capped_by_timeout(registry, tmp_path):
    """A connect timeout longer than the whole timeout is capped to it."""
    text = HEAD.replace("routes:\n", "  timeout: 1s\n  connect_timeout: 5s\nroutes: []\n")
    (upstream,) = _load(registry, [_write(tmp_path, text)]).upstreams.values()
    assert (upstream.timeout, upstream.connect_timeout) == (1.0, 1.0)


def test_the_bundled_example_loads(registry):
    """The example mappings/orders.yaml compiles without issues."""
    mappings = _load(registry, [WSDL_DIR.parent / "mappings"])
    plain = [route for route in mappings.routes if not route.steps]
    assert {route.operation.name for route in plain} == set(OPERATIONS.split(", "))


# -- YAML-level issues -------------------------------------------------------------------


def test_yaml_syntax_error(registry, tmp_path):
    """A YAML syntax error is one positioned issue."""
    text = HEAD + GET_ORDER + "  - get: [/x\n"
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:13:1: invalid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_duplicate_yaml_key(registry, tmp_path):
    """A key given twice in one mapping is reported at the second one."""
    text = HEAD + GET_ORDER + "    operation: GetCustomer\n"
    assert _issues(registry, tmp_path, text) == ["svc.yaml:12:5: duplicate key 'operation'"]


def test_unsupported_yaml_tag_is_an_issue_not_a_crash(registry, tmp_path):
    """A YAML tag the loader cannot construct is reported as an issue with its position."""
    text = HEAD.replace("orders.wsdl", "!custom orders.wsdl") + GET_ORDER
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:3:9: invalid YAML: could not determine a constructor for the tag '!custom'"
    ]


def test_document_that_is_not_a_mapping(registry, tmp_path):
    """A top-level list is rejected with what a mapping file must hold."""
    assert _issues(registry, tmp_path, "- a\n- b\n") == [
        "svc.yaml:1:1: expected a mapping with version, service and routes"
    ]


def test_unreadable_file(registry, tmp_path):
    """A file that is not UTF-8 is reported as unreadable."""
    path = tmp_path / "svc.yaml"
    path.write_bytes(b"version: 1\n\xff\xfe\n")
    with pytest.raises(MappingError) as info:
        _load(registry, [path])
    (issue,) = info.value.issues
    assert (issue.line, issue.column) == (1, 1)
    assert issue.message.startswith("cannot read mapping file: 'utf-8' codec can't decode")


def test_no_mapping_files(registry, tmp_path):
    """A directory without *.yaml files is an error naming it."""
    with pytest.raises(MappingError) as info:
        _load(registry, [tmp_path])
    assert str(info.value) == f"{tmp_path}:1:1: no mapping files found (*.yaml)"


# -- unknown keys --------------------------------------------------------------------------


def _unknown_key(line: str, where: str, known: str) -> None:
    """Assert ``line`` reports an unknown key at ``where``, listing (sorted) the ``known`` keys.

    Only inclusion is checked, so that adding keys to the format does not break the test.
    """
    head, _, listed = line.partition(": unknown key; expected one of: ")
    assert head == where
    choices = listed.split(", ")
    assert choices == sorted(choices)
    assert set(known.split()) <= set(choices)


def test_unknown_top_level_key(registry, tmp_path):
    """An unknown top-level key is reported with the valid top-level keys."""
    text = HEAD + GET_ORDER + "extras: 1\n"
    (line,) = _issues(registry, tmp_path, text)
    _unknown_key(line, "svc.yaml:12:1: extras", "defaults env routes service version")


def test_unknown_service_key(registry, tmp_path):
    """An unknown service key is reported with the valid service keys."""
    text = HEAD.replace("  wsdl:", "  endpoint: x\n  wsdl:") + GET_ORDER
    (line,) = _issues(registry, tmp_path, text)
    known = "address connect_timeout max_response_size namespaces port service timeout wsdl"
    _unknown_key(line, "svc.yaml:3:3: service.endpoint", known)


def test_unknown_route_key(registry, tmp_path):
    """An unknown route key is reported with its key path and the valid route keys."""
    text = HEAD + GET_ORDER + "    summry: One order\n"
    (line,) = _issues(registry, tmp_path, text)
    known = (
        "delete errors get headers name operation params patch post put request response summary"
    )
    _unknown_key(line, "svc.yaml:12:5: routes[0].summry", known)


def test_unknown_field_key(registry, tmp_path):
    """An unknown key in a response field is reported with the valid field keys."""
    text = (
        HEAD
        + GET_ORDER
        + """\
    response:
      root: o:GetOrderResponse/o:Order
      fields:
        id: {xpath: o:Id, typ: integer}
"""
    )
    (line,) = _issues(registry, tmp_path, text)
    _unknown_key(
        line, "svc.yaml:15:27: routes[0].response.fields.id.typ", "absent fields list type xpath"
    )


def test_unknown_request_and_response_keys(registry, tmp_path):
    """Unknown keys under request and response list their valid keys."""
    text = HEAD + GET_ORDER + "      bdy: x\n    response:\n      roots: x\n"
    request, response = _issues(registry, tmp_path, text)
    _unknown_key(request, "svc.yaml:12:7: routes[0].request.bdy", "args body soap_header")
    known = "absent fields root status template"
    _unknown_key(response, "svc.yaml:14:7: routes[0].response.roots", known)


# -- version -------------------------------------------------------------------------------


def test_missing_version(registry, tmp_path):
    """A file without version: is reported, listing the supported versions."""
    text = HEAD.replace("version: 1\n", "") + GET_ORDER
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:1:1: missing key version; expected one of: 1"
    ]


@pytest.mark.parametrize(
    ("value", "shown"), [("2", "2"), ("'1'", "'1'"), ("true", "True"), ("1.5", "1.5")]
)
def test_unknown_version(registry, tmp_path, value, shown):
    """A version other than the integer 1 is reported at the value, listing supported ones."""
    text = HEAD.replace("version: 1", f"version: {value}") + GET_ORDER
    assert _issues(registry, tmp_path, text) == [
        f"svc.yaml:1:10: version: unknown version {shown}; expected one of: 1"
    ]


# -- WSDL, service, port, operation ------------------------------------------------------


def test_missing_wsdl_file(registry, tmp_path):
    """A WSDL that does not exist is reported at service.wsdl with where it was looked for."""
    text = HEAD.replace("orders.wsdl", "nope.wsdl") + GET_ORDER
    assert _issues(registry, tmp_path, text) == [
        f"svc.yaml:3:9: service.wsdl: WSDL file 'nope.wsdl' not found (looked in {WSDL_DIR})"
    ]


def test_missing_wsdl_key(registry, tmp_path):
    """A service without wsdl is reported at service."""
    text = "version: 1\nservice:\n  port: P\nroutes: []\n"
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:2:1: service: missing key wsdl; expected the WSDL file (under wsdl/)"
    ]


def test_missing_service_and_routes(registry, tmp_path):
    """A file with only version: says that service is missing."""
    assert _issues(registry, tmp_path, "version: 1\n") == [
        "svc.yaml:1:1: missing key service; expected a mapping with at least wsdl"
    ]


def test_unknown_service(registry, tmp_path):
    """An unknown WSDL service is reported with the services the WSDL has."""
    text = HEAD.replace("  wsdl: orders.wsdl\n", "  wsdl: orders.wsdl\n  service: Orders\n")
    assert _issues(registry, tmp_path, text + GET_ORDER) == [
        "svc.yaml:4:12: service.service: no service 'Orders' in the WSDL; "
        "expected one of: OrderService"
    ]


def test_unknown_port(registry, tmp_path):
    """An unknown port is reported with the SOAP ports of the service."""
    text = HEAD.replace("  wsdl: orders.wsdl\n", "  wsdl: orders.wsdl\n  port: OrderPort\n")
    assert _issues(registry, tmp_path, text + GET_ORDER) == [
        "svc.yaml:4:9: service.port: no SOAP port 'OrderPort' in service OrderService; "
        "expected one of: OrderPortSoap11, OrderPortSoap12"
    ]


def test_unknown_operation(registry, tmp_path):
    """An unknown operation is reported at its value with the operations of the port."""
    text = HEAD + GET_ORDER.replace("operation: GetOrder", "operation: GetOrders")
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:7:16: routes[0].operation: no operation 'GetOrders' in port "
        f"OrderPortSoap11; expected one of: {OPERATIONS}"
    ]


def test_missing_operation(registry, tmp_path):
    """A route without operation is reported at the route with the available operations."""
    text = HEAD + "  - get: /orders\n    name: x\n"
    assert _issues(registry, tmp_path, text) == [
        f"svc.yaml:6:5: routes[0]: missing key operation; expected one of: {OPERATIONS}"
    ]


def test_route_needs_exactly_one_method(registry, tmp_path):
    """A route with two HTTP methods is reported, naming the methods."""
    text = HEAD + "  - get: /a\n    post: /a\n    operation: SearchOrders\n"
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:6:5: routes[0]: expected exactly one of get, post, put, patch, delete "
        "with the route's path, got 2"
    ]


def test_route_path_must_start_with_slash(registry, tmp_path):
    """A route path not starting with / is reported at the path value."""
    text = HEAD + "  - get: orders\n    operation: SearchOrders\n"
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:6:10: routes[0].get: expected a path starting with /, got 'orders'"
    ]


# -- XPath -------------------------------------------------------------------------------


def _response(fields: str, root: str = "o:GetOrderResponse/o:Order") -> str:
    return HEAD + GET_ORDER + f"    response:\n      root: {root}\n      fields:\n{fields}"


def test_undeclared_xpath_prefix(registry, tmp_path):
    """An XPath using an undeclared prefix is reported with the declared prefixes."""
    text = _response("        id: x:Id\n")
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:15:13: routes[0].response.fields.id.xpath: XPath 'x:Id' uses undeclared prefix x; "
        "declared prefixes: o (add it under service.namespaces)"
    ]


@pytest.mark.parametrize("xpath", ["'@x:id'", "child::x:Id", "o:Line/@x:id"])
def test_undeclared_prefix_after_axis_or_at_is_reported(registry, tmp_path, xpath):
    """Undeclared prefixes on attributes and after an axis are reported like any other."""
    text = _response(f"        id: {xpath}\n")
    assert _issues(registry, tmp_path, text) == [
        f"svc.yaml:15:13: routes[0].response.fields.id.xpath: XPath {xpath.strip(chr(39))!r} uses "
        "undeclared prefix x; declared prefixes: o (add it under service.namespaces)"
    ]


def test_prefix_inside_string_literal_is_not_checked(registry, tmp_path):
    """Text inside XPath string literals is not mistaken for a namespace prefix."""
    text = _response("        paid: {xpath: \"o:Status = 'x:y'\", type: boolean}\n")
    (route,) = _load(registry, [_write(tmp_path, text)]).routes
    assert route.response.fields[0].kind == "boolean"


def test_xpath_syntax_error(registry, tmp_path):
    """An XPath that does not compile is reported with lxml's reason."""
    text = _response("        id: {xpath: 'o:Id['}\n")
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:15:21: routes[0].response.fields.id.xpath: XPath 'o:Id[' does not compile: "
        "Invalid expression"
    ]


def test_xpath_unknown_function_is_caught_at_load(registry, tmp_path):
    """An XPath calling an unknown function fails at load (evaluated once on a probe)."""
    text = _response("        id: {xpath: 'nosuch(o:Id)', type: string}\n")
    (line,) = _issues(registry, tmp_path, text)
    assert line.startswith(
        "svc.yaml:15:21: routes[0].response.fields.id.xpath: XPath 'nosuch(o:Id)' does not compile: "
    )


def test_xpath_step_not_in_schema(registry, tmp_path):
    """A step naming no element the XSD allows is reported with the valid children."""
    text = _response("        id: o:Ident\n")
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:15:13: routes[0].response.fields.id.xpath: step 'o:Ident' matches nothing the "
        "schema allows here; expected one of: o:Id, o:Customer, o:Status, o:OrderDate, o:CreatedAt, "
        "o:ShippedAt, o:Total, o:Paid, o:Note, o:Line"
    ]


def test_xpath_nested_step_not_in_schema(registry, tmp_path):
    """A wrong step inside a nested object lists the children of that nested type."""
    text = _response(
        "        customer:\n          xpath: o:Customer\n          fields: {n: o:Nam}\n"
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:17:23: routes[0].response.fields.customer.fields.n.xpath: step 'o:Nam' matches "
        "nothing the schema allows here; expected one of: o:Id, o:Name, o:Email, o:Vip"
    ]


def test_root_step_not_in_schema(registry, tmp_path):
    """A response root naming a wrong element lists what the Body may hold."""
    text = _response("        id: o:Id\n", root="o:GetOrderReply")
    (first, *_rest) = _issues(registry, tmp_path, text)
    assert first == (
        "svc.yaml:13:13: routes[0].response.root: step 'o:GetOrderReply' matches nothing the "
        "schema allows here; expected one of: o:GetOrderResponse"
    )


def test_unknown_field_type(registry, tmp_path):
    """An unknown explicit field type lists the valid types."""
    text = _response("        id: {xpath: o:Id, type: int}\n")
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:15:33: routes[0].response.fields.id.type: unknown type 'int'; expected one of: "
        "string, integer, number, decimal, boolean, date, datetime, time, base64, xml"
    ]


# -- templates and args -----------------------------------------------------------------


def test_template_syntax_error_points_inside_the_body_block(registry, tmp_path):
    """A Jinja syntax error in a body block is reported at the line inside the block."""
    text = (
        HEAD
        + """\
  - post: /orders
    operation: CreateOrder
    request:
      body: |
        <o:CreateOrder>
          <o:CustomerId>{{ body.customerId }}</o:CustomerId>
          {% for line in body.lines %}
          <o:Line>{{ line.sku }</o:Line>
          {% endfor %}
        </o:CreateOrder>
"""
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:13:1: routes[0].request.body: template does not compile: unexpected '}'"
    ]


def test_template_syntax_error_on_first_block_line(registry, tmp_path):
    """An error on the block's first line is reported at that line."""
    text = HEAD + "  - post: /orders\n    operation: CreateOrder\n    request:\n"
    text += "      body: |\n        <o:CreateOrder>{% if %}</o:CreateOrder>\n"
    (line,) = _issues(registry, tmp_path, text)
    assert line.startswith("svc.yaml:10:1: routes[0].request.body: template does not compile: ")


def test_template_syntax_error_in_args_leaf(registry, tmp_path):
    """A Jinja syntax error in an args leaf is reported at that value."""
    text = HEAD + GET_ORDER.replace('"{{ path.id }}"', '"{{ path.id | }}"')
    (line,) = _issues(registry, tmp_path, text)
    assert line.startswith(
        "svc.yaml:11:23: routes[0].request.args.OrderId: template does not compile: "
    )


def test_unknown_args_element(registry, tmp_path):
    """An args key naming no element of the input lists the valid element names."""
    text = HEAD + GET_ORDER.replace("OrderId:", "OrderNo:")
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:11:7: routes[0].request.args: missing required element 'OrderId' of GetOrder",
        "svc.yaml:11:14: routes[0].request.args.OrderNo: no element 'OrderNo' in GetOrder; "
        "expected one of: OrderId",
    ]


def test_nested_unknown_args_element(registry, tmp_path):
    """Unknown keys are checked in nested args objects too, against the nested type."""
    text = (
        HEAD
        + """\
  - post: /orders
    operation: CreateOrder
    request:
      args:
        CustomerId: "{{ body.c }}"
        Line:
          - {Sku: a, Quantity: 1, Price: 2}
"""
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:12:13: routes[0].request.args.Line[0]: missing required element 'UnitPrice' "
        "of Line",
        "svc.yaml:12:35: routes[0].request.args.Line[0].Price: no element 'Price' in Line; "
        "expected one of: Sku, Quantity, UnitPrice",
    ]


def test_args_and_body_together(registry, tmp_path):
    """A request with both args and body is reported at body."""
    text = HEAD + GET_ORDER + "      body: <o:GetOrder/>\n"
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:12:7: routes[0].request.body: give either args (serialized against the WSDL) "
        "or body (raw XML), not both"
    ]


def test_errors_rules_are_validated(registry, tmp_path):
    """Error rules need a compiling when and a 4xx/5xx status."""
    text = (
        HEAD
        + GET_ORDER
        + """\
    errors:
      - when: fault.code ==
        status: 404
      - when: "true"
        status: 302
      - status: 500
"""
    )
    lines = _issues(registry, tmp_path, text)
    assert lines[0].startswith(
        "svc.yaml:13:15: routes[0].errors[0].when: expression does not compile: "
    )
    assert lines[1:] == [
        "svc.yaml:16:17: routes[0].errors[1].status: expected an HTTP error status 400-599, got 302",
        "svc.yaml:17:9: routes[0].errors[2]: missing key when; "
        "expected a Jinja expression over fault (code, string, detail…)",
    ]


def test_error_rules_compile(registry, tmp_path):
    """A valid error rule is compiled into a callable condition with its status and title."""
    text = (
        HEAD
        + GET_ORDER
        + '    errors:\n      - {when: fault.code == "Client", status: 404, title: Gone}\n'
    )
    (route,) = _load(registry, [_write(tmp_path, text)]).routes
    (rule,) = route.errors
    assert (rule.status, rule.title, rule.source) == (404, "Gone", 'fault.code == "Client"')
    assert rule.when(fault={"code": "Client"}) is True
    assert rule.when(fault={"code": "Server"}) is False


# -- params ------------------------------------------------------------------------------


def test_param_issues(registry, tmp_path):
    """Unknown param types list the valid ones; stray and optional path params are reported."""
    text = (
        HEAD
        + """\
  - get: /orders/{id}
    operation: GetOrder
    params:
      path:
        id: {type: integer, required: false}
        other: string
      query:
        q: float
    request:
      args: {OrderId: "{{ path.id }}"}
"""
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:10:39: routes[0].params.path.id.required: path parameters are always required",
        "svc.yaml:11:9: routes[0].params.path.other: path parameter 'other' is not in the "
        "route path; path parameters: id",
        "svc.yaml:13:12: routes[0].params.query.q: unknown type 'float'; "
        "expected one of: string, integer, number, boolean, date, datetime",
    ]


def test_undeclared_path_params_are_strings(registry, tmp_path):
    """A path parameter without a declaration is a required string."""
    text = HEAD + GET_ORDER.replace("    params:\n      path: {id: integer}\n", "")
    (route,) = _load(registry, [_write(tmp_path, text)]).routes
    assert [(p.name, p.kind, p.required) for p in route.params] == [("id", "string", True)]


def test_query_param_spec(registry, tmp_path):
    """Query parameters keep their type, default, requiredness and enumeration."""
    text = HEAD + GET_ORDER.replace(
        "      path: {id: integer}\n",
        "      path: {id: integer}\n      query:\n"
        "        limit: {type: integer, default: 10}\n"
        "        state: {enum: [open, shipped], required: true}\n",
    )
    (route,) = _load(registry, [_write(tmp_path, text)]).routes
    limit, state = route.params[1:]
    assert (limit.kind, limit.default, limit.required, limit.enum) == ("integer", 10, False, None)
    assert (state.kind, state.default, state.required, state.enum) == (
        "string",
        None,
        True,
        ("open", "shipped"),
    )


# -- duplicates --------------------------------------------------------------------------


def test_duplicate_route_with_different_param_names(registry, tmp_path):
    """Two routes with the same method and path shape clash, even with other param names."""
    second = GET_ORDER.replace("{id}", "{key}").replace("path.id", "path.key")
    second = second.replace("{id: integer}", "{key: integer}")
    path = _write(tmp_path, HEAD + GET_ORDER + second)
    assert _issues(registry, tmp_path, HEAD + GET_ORDER + second) == [
        f"svc.yaml:12:5: routes[1].get: GET /orders/{{key}} is already mapped at {path}:6"
    ]


def test_same_path_with_another_method_is_not_a_duplicate(registry, tmp_path):
    """The same path under two methods gives two routes."""
    other = GET_ORDER.replace("- get:", "- delete:")
    mappings = _load(registry, [_write(tmp_path, HEAD + GET_ORDER + other)])
    assert [(r.method, r.path) for r in mappings.routes] == [
        ("GET", "/orders/{id}"),
        ("DELETE", "/orders/{id}"),
    ]


def test_duplicate_route_across_files(registry, tmp_path):
    """A route mapped in two files is reported in the second file, pointing at the first."""
    first = _write(tmp_path, HEAD + GET_ORDER, "a.yaml")
    _write(tmp_path, HEAD + GET_ORDER, "b.yaml")
    with pytest.raises(MappingError) as info:
        _load(registry, [tmp_path])
    assert str(info.value) == (
        f"{tmp_path}/b.yaml:6:5: routes[0].get: GET /orders/{{id}} is already mapped at {first}:6"
    )


# -- values, environment -----------------------------------------------------------------


def test_bad_duration_and_size(registry, tmp_path):
    """Bad durations and sizes are each reported at their value."""
    text = HEAD.replace(
        "routes:\n",
        "  timeout: 5 parsecs\n  connect_timeout: 0s\n  max_response_size: 10 megs\nroutes:\n",
    )
    assert _issues(registry, tmp_path, text + GET_ORDER) == [
        "svc.yaml:5:12: service.timeout: expected a duration such as 500ms, 5s or 2m, "
        "got '5 parsecs'",
        "svc.yaml:6:20: service.connect_timeout: expected a positive duration, got '0s'",
        "svc.yaml:7:22: service.max_response_size: expected a size such as 512KiB or 10MiB, "
        "got '10 megs'",
    ]


def test_unset_variable_without_default(registry, tmp_path):
    """${VAR} with VAR unset and no default is reported, suggesting the default syntax."""
    text = HEAD.replace("routes:\n", "  address: ${ORDERS_URL}\nroutes:\n") + GET_ORDER
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:5:12: service.address: environment variable ORDERS_URL is not set and has "
        "no default (use ${ORDERS_URL:-default})"
    ]


def test_variable_default_is_used_when_unset(registry, tmp_path):
    """${VAR:-default} takes the default when VAR is unset."""
    text = HEAD.replace("routes:\n", "  address: ${ORDERS_URL:-http://h:1/o}\nroutes:\n")
    (upstream,) = _load(registry, [_write(tmp_path, text + GET_ORDER)]).upstreams.values()
    assert upstream.address == "http://h:1/o"


def test_variable_value_is_used_when_set(registry, tmp_path):
    """${VAR:-default} takes the environment's value when VAR is set."""
    text = HEAD.replace("routes:\n", "  address: ${ORDERS_URL:-http://h:1/o}\nroutes:\n")
    path = _write(tmp_path, text + GET_ORDER)
    (upstream,) = _load(registry, [path], {"ORDERS_URL": "https://x/y"}).upstreams.values()
    assert upstream.address == "https://x/y"


def test_interpolated_port_and_durations(registry, tmp_path):
    """Interpolation applies to port names and durations too."""
    text = HEAD.replace("routes:\n", "  port: ${PORT}\n  timeout: ${T:-7s}\nroutes:\n")
    path = _write(tmp_path, text + GET_ORDER)
    (upstream,) = _load(registry, [path], {"PORT": "OrderPortSoap12"}).upstreams.values()
    assert (upstream.port.name, upstream.timeout) == ("OrderPortSoap12", 7.0)


def test_address_must_be_http(registry, tmp_path):
    """An address that is not http(s) is reported with the value given."""
    text = HEAD.replace("routes:\n", "  address: ftp://x\nroutes:\n") + GET_ORDER
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:5:12: service.address: expected an http:// or https:// URL, got 'ftp://x'"
    ]


def test_env_list(registry, tmp_path):
    """env: names variables templates may read; unset ones and bad names are reported."""
    text = "env: [TOKEN, MISSING, 1BAD]\n" + HEAD + GET_ORDER
    assert _issues(registry, tmp_path, text, {"TOKEN": "t"}) == [
        "svc.yaml:1:14: env[1]: environment variable MISSING is not set",
        "svc.yaml:1:23: env[2]: expected an environment variable name, got '1BAD'",
    ]
    path = _write(tmp_path, "env: [TOKEN]\n" + HEAD + GET_ORDER)
    (route,) = _load(registry, [path], {"TOKEN": "t", "OTHER": "o"}).routes
    assert route.env == {"TOKEN": "t"}


def test_defaults_are_validated(registry, tmp_path):
    """defaults.absent and defaults.naming accept only their listed values."""
    text = "defaults: {absent: drop, naming: snake}\n" + HEAD + GET_ORDER
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:1:20: defaults.absent: expected omit or null, got 'drop'",
        "svc.yaml:1:34: defaults.naming: expected camel or keep, got 'snake'",
    ]


def test_invalid_namespace_prefix(registry, tmp_path):
    """A namespace prefix starting with xml is rejected."""
    text = HEAD.replace('{o: "urn:example:orders"}', '{o: "urn:example:orders", xmlfoo: "urn:x"}')
    assert _issues(registry, tmp_path, text + GET_ORDER) == [
        "svc.yaml:4:41: service.namespaces.xmlfoo: invalid prefix 'xmlfoo'; "
        "expected an XML name not starting with xml"
    ]


# -- collecting --------------------------------------------------------------------------


def test_several_issues_in_one_file_are_reported_together(registry, tmp_path):
    """Every issue of a file is collected, sorted by position, into MappingError.issues."""
    text = (
        HEAD.replace("routes:\n", "  timeout: soon\nroutes:\n")
        + """\
  - get: /orders/{id}
    operation: GetOrder
    request:
      args: {OrderNo: "{{ path.id }}"}
  - get: /customers/{id}
    operation: FetchCustomer
  - post: /orders
    operation: CreateOrder
    request:
      body: "{{ body.x "
    bogus: true
"""
    )
    path = _write(tmp_path, text)
    with pytest.raises(MappingError) as info:
        _load(registry, [path])
    issues = info.value.issues
    assert [(i.line, i.key) for i in issues] == [
        (5, "service.timeout"),
        (10, "routes[0].request.args"),
        (10, "routes[0].request.args.OrderNo"),
        (12, "routes[1].operation"),
        (16, "routes[2].request.body"),
        (17, "routes[2].bogus"),
    ]
    assert all(i.file == str(path) for i in issues)
    assert len(str(info.value).splitlines()) == 6


def test_issues_of_several_files_are_reported_together(registry, tmp_path):
    """Issues from every file are collected before failing."""
    _write(tmp_path, HEAD.replace("version: 1", "version: 3") + GET_ORDER, "a.yaml")
    _write(tmp_path, HEAD + GET_ORDER.replace("GetOrder\n", "Nope\n"), "b.yaml")
    with pytest.raises(MappingError) as info:
        _load(registry, [tmp_path])
    assert [(Path(i.file).name, i.line, i.key) for i in info.value.issues] == [
        ("a.yaml", 1, "version"),
        ("b.yaml", 7, "routes[0].operation"),
    ]
