"""Compiling composed routes (mediator.mapping.steps): steps, needs, fan-out, services,
the composed response, and every issue at its file:line."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from mediator.errors import MappingError
from mediator.mapping.loader import load_mappings
from mediator.mapping.model import Route
from mediator.mapping.steps import COMPOSED_RESPONSE_KEYS, STEP_KEYS, step_references
from tests.conftest import REPO

WSDL_DIR = REPO / "wsdl"
INVENTORY_WSDL = REPO / "tests" / "wsdl" / "inventory_rpc.wsdl"

HEAD = """\
version: 1
service:
  wsdl: orders.wsdl
  namespaces: {o: "urn:example:orders"}
routes:
"""

OVERVIEW = """\
  - get: /customers/{id}/overview
    params:
      path: {id: integer}
    timeout: 8s
    steps:
      customer:
        operation: GetCustomer
        request:
          args: {CustomerId: "{{ path.id }}"}
        response:
          root: o:GetCustomerResponse/o:Customer
          fields: {name: o:Name}
      orders:
        operation: SearchOrders
        request:
          args: {CustomerId: "{{ path.id }}"}
        response:
          root: o:SearchOrdersResponse
          fields:
            ids: {xpath: o:Order/o:Id, list: true}
      details:
        operation: GetOrder
        for_each: steps.orders.ids
        as: order_id
        concurrency: 3
        optional: true
        timeout: 2s
        request:
          args: {OrderId: "{{ order_id }}"}
    response:
      template: '{"name": steps.customer.name, "details": steps.details}'
"""


def _write(tmp_path: Path, text: str, name: str = "svc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _load(registry, paths, zero_config=()):
    return load_mappings(
        list(paths),
        describe=registry.describe,
        wsdl_dir=WSDL_DIR,
        environ={},
        zero_config=zero_config,
    )


def _route(registry, tmp_path: Path, routes: str) -> Route:
    (route,) = _load(registry, [_write(tmp_path, HEAD + routes)]).routes
    return route


def _issues(registry, tmp_path: Path, routes: str, *others: tuple[str, str]) -> list[str]:
    """Load ``HEAD + routes`` as svc.yaml (and ``others`` as name → text); the issues, with
    the directory stripped."""
    paths = [_write(tmp_path, HEAD + routes)]
    paths += [_write(tmp_path, text, name) for name, text in others]
    with pytest.raises(MappingError) as info:
        _load(registry, paths)
    return [str(issue).removeprefix(f"{tmp_path}/") for issue in info.value.issues]


def _steps_route(steps: str, response: str = "") -> str:
    """A composed GET /x/{id} route with the given steps block (indented as in a file)."""
    text = "  - get: /x/{id}\n    params: {path: {id: integer}}\n    steps:\n"
    text += textwrap.indent(textwrap.dedent(steps), "      ")
    if response:
        text += "    response:\n" + textwrap.indent(textwrap.dedent(response), "      ")
    return text


GET_CUSTOMER = """\
operation: GetCustomer
request: {args: {CustomerId: "{{ path.id }}"}}
"""


# -- a valid composed route ---------------------------------------------------------------


def test_composed_route_compiles_each_step_as_a_call(registry, tmp_path):
    """Each step is a call of its own: the operation, request, extraction and deadlines it
    declares, on the route's method, path, parameters and service."""
    route = _route(registry, tmp_path, OVERVIEW)
    assert [step.name for step in route.steps] == ["customer", "orders", "details"]
    customer, _, details = route.steps
    assert customer.call.operation.name == "GetCustomer"
    assert customer.call.upstream is route.upstream
    assert customer.call.params == route.params
    assert customer.call.response.root_source == "o:GetCustomerResponse/o:Customer"
    assert [f.name for f in customer.call.response.fields] == ["name"]
    assert customer.line == 11 and customer.call.line == 11
    assert details.call.timeout == 2.0 and customer.call.timeout is None
    assert route.call_timeout == 8.0
    assert route.operation.name == "GetCustomer+SearchOrders+GetOrder"
    assert route.response.template is not None and route.response.status == 200


def test_needs_are_inferred_from_template_references(registry, tmp_path):
    """A step reading steps.<name> (in for_each or its request) needs that step; steps
    reading none need nothing and may run at once."""
    customer, orders, details = _route(registry, tmp_path, OVERVIEW).steps
    assert customer.needs == () and orders.needs == ()
    assert details.needs == ("orders",)


def test_fan_out_settings(registry, tmp_path):
    """for_each compiles to an expression; as, concurrency, optional are kept; defaults
    are item, 4 at a time, at most 100 items, required."""
    customer, _, details = _route(registry, tmp_path, OVERVIEW).steps
    assert details.for_each is not None and details.for_each_source == "steps.orders.ids"
    assert details.for_each(steps={"orders": {"ids": [1, 2]}}) == [1, 2]
    assert (details.item, details.concurrency, details.optional) == ("order_id", 3, True)
    assert (customer.item, customer.concurrency, customer.max_items) == ("item", 4, 100)
    assert customer.optional is False and customer.for_each is None


def test_steps_are_ordered_dependencies_first(registry, tmp_path):
    """A step declared before the step it needs still comes after it."""
    route = _route(
        registry,
        tmp_path,
        _steps_route(
            """\
            later:
              operation: GetOrder
              request: {args: {OrderId: "{{ steps.first.id }}"}}
            first:
              operation: GetCustomer
              request: {args: {CustomerId: "{{ path.id }}"}}
              response: {root: o:GetCustomerResponse/o:Customer, fields: {id: o:Id}}
            """
        ),
    )
    assert [step.name for step in route.steps] == ["first", "later"]


def test_declared_needs_add_to_inferred_ones(registry, tmp_path):
    """needs: orders a step after others it does not read (e.g. a write before a read)."""
    route = _route(
        registry,
        tmp_path,
        _steps_route(
            """\
            a: {operation: GetCustomer, request: {args: {CustomerId: "{{ path.id }}"}}}
            b:
              operation: GetCustomer
              needs: [a]
              request: {args: {CustomerId: "{{ path.id }}"}}
            """
        ),
    )
    assert route.steps[1].needs == ("a",)


def test_default_response_has_every_step_by_name(registry, tmp_path):
    """Without response.template the answer is an object with each step's result by name."""
    route = _route(registry, tmp_path, _steps_route("a:\n" + textwrap.indent(GET_CUSTOMER, "  ")))
    assert route.response.template is not None
    assert route.response.template(steps={"a": {"x": 1}}, errors=[]) == {"a": {"x": 1}}


def test_step_fault_rules_come_before_the_routes(registry, tmp_path):
    """A step's own errors rules are tried first, then the route's."""
    text = _steps_route(
        """\
        a:
          operation: GetCustomer
          request: {args: {CustomerId: "{{ path.id }}"}}
          errors: [{when: 'fault.code == "Client"', status: 404}]
        """
    )
    text += "    errors: [{when: 'true', status: 503}]\n"
    (step,) = _route(registry, tmp_path, text).steps
    assert [rule.status for rule in step.call.errors] == [404, 503]


def test_step_policy_inherits_the_routes(registry, tmp_path):
    """connect_timeout and idempotent default to the route's; a step may set its own."""
    text = _steps_route(
        """\
        a: {operation: GetCustomer, request: {args: {CustomerId: "{{ path.id }}"}}}
        b:
          operation: GetCustomer
          idempotent: false
          connect_timeout: 1s
          request: {args: {CustomerId: "{{ path.id }}"}}
        """
    )
    text += "    idempotent: true\n    connect_timeout: 2s\n"
    a, b = _route(registry, tmp_path, text).steps
    assert (a.call.idempotent, a.call.connect_timeout) == (True, 2.0)
    assert (b.call.idempotent, b.call.connect_timeout) == (False, 1.0)


def test_steps_of_an_authenticated_route_may_read_the_client(registry, tmp_path):
    """With auth, step templates and the answer may read client (the caller's identity), as
    a plain route's templates may; without auth they may not."""
    steps = """\
        a:
          operation: GetCustomer
          request: {args: {CustomerId: "{{ client.subject | length }}"}}
        """
    text = _steps_route(steps, 'template: \'{"a": steps.a, "who": client.subject}\'\n')
    route = _route(registry, tmp_path, text + "    auth: true\n")
    assert route.auth is not None and route.steps[0].name == "a"
    issues = _issues(registry, tmp_path, text)
    assert [issue.split(": ", 2)[1] for issue in issues] == [
        "routes[0].steps.a.request.args.CustomerId",
        "routes[0].response.template",
    ]
    assert all("unknown variable 'client'" in issue for issue in issues)


# -- services of other files ----------------------------------------------------------------

INVENTORY = f"""\
version: 1
service:
  wsdl: {INVENTORY_WSDL}
  address: http://127.0.0.1:9/inventory
  namespaces: {{i: "urn:example:inventory"}}
routes: []
"""

STOCK_STEP = """\
stock:
  service: {service}
  operation: GetStock
  request: {{args: {{sku: "{{{{ path.id }}}}", warehouse: 1}}}}
  response: {{root: i:GetStockResponse, fields: {{quantity: quantity}}}}
"""


def test_step_calls_a_service_of_another_file_by_its_wsdl_name(registry, tmp_path):
    """service: the WSDL service name of another mapping file; that file's upstream is
    called and its namespace prefixes are usable besides the route file's own."""
    text = _steps_route(STOCK_STEP.format(service="InventoryService"))
    paths = [_write(tmp_path, HEAD + text), _write(tmp_path, INVENTORY, "inventory.yaml")]
    (route,) = _load(registry, paths).routes
    (step,) = route.steps
    assert step.call.upstream.service == "InventoryService"
    assert step.call.upstream.address == "http://127.0.0.1:9/inventory"
    assert route.upstream.service == "OrderService"
    assert step.call.namespaces == {"i": "urn:example:inventory", "o": "urn:example:orders"}


def test_service_name_key_names_a_service(registry, tmp_path):
    """service.name gives a file's service the name steps use for it."""
    inventory = INVENTORY.replace("service:\n", "service:\n  name: stock\n")
    text = _steps_route(STOCK_STEP.format(service="stock"))
    paths = [_write(tmp_path, HEAD + text), _write(tmp_path, inventory, "inventory.yaml")]
    (route,) = _load(registry, paths).routes
    assert route.steps[0].call.upstream.service == "InventoryService"


def test_mapping_file_wins_over_zero_config_of_the_same_service(registry, tmp_path):
    """With --zero-config the WSDL's generic routes do not make its name ambiguous."""
    text = _steps_route(STOCK_STEP.format(service="InventoryService"))
    paths = [_write(tmp_path, HEAD + text), _write(tmp_path, INVENTORY, "inventory.yaml")]
    mappings = _load(registry, paths, zero_config=[INVENTORY_WSDL])
    (composed,) = [route for route in mappings.routes if route.steps]
    assert composed.steps[0].call.upstream.address == "http://127.0.0.1:9/inventory"


def test_unknown_service_lists_the_services(registry, tmp_path):
    """An unknown service: names the services there are."""
    text = _steps_route(STOCK_STEP.format(service="Stock"))
    issues = _issues(registry, tmp_path, text, ("inventory.yaml", INVENTORY))
    assert issues == [
        "svc.yaml:10:18: routes[0].steps.stock.service: no service 'Stock'; "
        "services: InventoryService, OrderService"
    ]


def test_ambiguous_service_asks_for_service_name(registry, tmp_path):
    """Two files serving the same WSDL service: a step naming it must be told which."""
    text = _steps_route(STOCK_STEP.format(service="InventoryService"))
    issues = _issues(
        registry,
        tmp_path,
        text,
        ("inventory.yaml", INVENTORY),
        ("inventory2.yaml", INVENTORY),
    )
    assert len(issues) == 1
    assert issues[0].startswith("svc.yaml:10:18: routes[0].steps.stock.service: service ")
    assert "is ambiguous" in issues[0] and "give each a distinct service.name" in issues[0]


def test_duplicate_service_name(registry, tmp_path):
    """Two files declaring the same service.name is an issue at the second."""
    inventory = INVENTORY.replace("service:\n", "service:\n  name: stock\n")
    issues = _issues(
        registry,
        tmp_path,
        "  []\n",
        ("a.yaml", inventory),
        ("b.yaml", inventory),
    )
    assert issues == [
        "b.yaml:3:9: service.name: service name 'stock' is already used by "
        f"{tmp_path}/a.yaml; each service.name must be unique"
    ]


def test_invalid_service_name(registry, tmp_path):
    """service.name is a plain name."""
    issues = _issues(registry, tmp_path, "  []\n", ("a.yaml", INVENTORY.replace(
        "service:\n", "service:\n  name: 'two words'\n"
    )))  # fmt: skip
    assert issues == ["a.yaml:3:9: service.name: expected a name such as orders, got 'two words'"]


def test_unknown_operation_of_another_service_lists_its_operations(registry, tmp_path):
    """The operations listed are those of the step's service, not the route's."""
    text = _steps_route(STOCK_STEP.format(service="InventoryService").replace("GetStock", "X"))
    issues = _issues(registry, tmp_path, text, ("inventory.yaml", INVENTORY))
    assert issues == [
        "svc.yaml:11:20: routes[0].steps.stock.operation: no operation 'X' in service "
        "InventoryService (port InventoryRpcPort); expected one of: GetStock"
    ]


# -- issues ---------------------------------------------------------------------------------


def test_route_with_steps_has_no_operation_or_request_of_its_own(registry, tmp_path):
    """operation and request belong in steps."""
    text = _steps_route("a:\n" + textwrap.indent(GET_CUSTOMER, "  "))
    text += "    operation: GetOrder\n    request: {args: {OrderId: 1}}\n"
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:12:5: routes[0].operation: a route with steps has no operation of its own; "
        "put it in a step",
        "svc.yaml:13:5: routes[0].request: a route with steps has no request of its own; "
        "put it in a step",
    ]


def test_step_issues_point_at_their_lines(registry, tmp_path):
    """Unknown keys, a missing operation, an unknown one, bad fan-out settings."""
    text = _steps_route(
        """\
        a: {operation: GetCustomer, colour: red, request: {args: {CustomerId: 1}}}
        b: {request: {args: {}}}
        c: {operation: Nope}
        d: {operation: GetCustomer, as: x, request: {args: {CustomerId: 1}}}
        e:
          operation: GetCustomer
          for_each: "[1]"
          concurrency: 0
          optional: "yes"
          request: {args: {CustomerId: 1}}
        "not-a-name": {operation: GetCustomer}
        """
    )
    issues = _issues(registry, tmp_path, text)
    assert issues == [
        f"svc.yaml:9:35: routes[0].steps.a.colour: unknown key; expected one of: "
        f"{', '.join(sorted(STEP_KEYS))}",
        "svc.yaml:10:7: routes[0].steps.b: missing key operation; expected one of: "
        "GetOrder, SearchOrders, CreateOrder, GetCustomer",
        "svc.yaml:11:22: routes[0].steps.c.operation: no operation 'Nope' in service "
        "OrderService (port OrderPortSoap11); expected one of: GetOrder, SearchOrders, "
        "CreateOrder, GetCustomer",
        "svc.yaml:12:35: routes[0].steps.d.as: as applies only to a step with for_each",
        "svc.yaml:16:22: routes[0].steps.e.concurrency: expected a whole number 1-64, got 0",
        "svc.yaml:17:19: routes[0].steps.e.optional: expected true or false, got 'yes'",
        "svc.yaml:19:7: routes[0].steps.not-a-name: invalid step name 'not-a-name'; expected "
        "a name such as customer or order_lines (letters, digits, _), not one of: body, env, "
        "errors, headers, path, query, steps",
    ]


def test_unknown_and_self_step_references(registry, tmp_path):
    """A template reading a step that does not exist, or its own result; needs naming one."""
    text = _steps_route(
        """\
        a:
          operation: GetOrder
          request: {args: {OrderId: "{{ steps.nope.id }}"}}
        b:
          operation: GetOrder
          needs: [a, ghost]
          request: {args: {OrderId: "{{ steps.b.id }}"}}
        """
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:11:35: routes[0].steps.a.request.args.OrderId: template reads steps.nope, "
        "which is not a step of this route; steps: a, b",
        "svc.yaml:14:20: routes[0].steps.b.needs[1]: needs 'ghost', which is not a step of "
        "this route; steps: a, b",
        "svc.yaml:15:35: routes[0].steps.b.request.args.OrderId: template reads steps.b: a "
        "step cannot need its own result",
    ]


def test_cycle_is_an_issue(registry, tmp_path):
    """Steps needing each other in a ring are reported once, with the ring."""
    text = _steps_route(
        """\
        a: {operation: GetOrder, request: {args: {OrderId: "{{ steps.c.id }}"}}}
        b: {operation: GetOrder, request: {args: {OrderId: "{{ steps.a.id }}"}}}
        c: {operation: GetOrder, request: {args: {OrderId: "{{ steps.b.id }}"}}}
        d: {operation: GetOrder, request: {args: {OrderId: "{{ steps.c.id }}"}}}
        """
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:9:7: routes[0].steps.a: steps form a cycle: a → c → b → a"
    ]


def test_required_step_cannot_need_an_optional_one(registry, tmp_path):
    """A required step after an optional one could never run when it fails."""
    text = _steps_route(
        """\
        a: {operation: GetCustomer, optional: true, request: {args: {CustomerId: 1}}}
        b: {operation: GetOrder, request: {args: {OrderId: "{{ steps.a.id }}"}}}
        """
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:10:7: routes[0].steps.b: required step 'b' needs optional step 'a'; make 'b' "
        "optional too (it is skipped when 'a' fails) or 'a' required"
    ]


def test_step_timeout_beyond_the_route_deadline(registry, tmp_path):
    """A step's timeout cannot exceed the route's (else its service's) deadline."""
    text = _steps_route(
        """\
        a: {operation: GetCustomer, timeout: 31s, request: {args: {CustomerId: 1}}}
        """
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:9:44: routes[0].steps.a.timeout: step timeout 31s is beyond the route's "
        "deadline 30s (the route's timeout, else its service's)"
    ]


def test_dynamic_steps_access_needs_declared_needs(registry, tmp_path):
    """steps[variable] cannot be followed, so needs: must say what the step waits for."""
    text = _steps_route(
        """\
        a: {operation: GetCustomer, request: {args: {CustomerId: 1}}}
        b: {operation: GetOrder, request: {args: {OrderId: "{{ (steps | first) }}"}}}
        c:
          operation: GetOrder
          needs: [a]
          request: {args: {OrderId: "{{ (steps | first) }}"}}
        """
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:10:58: routes[0].steps.b.request.args.OrderId: template reads steps without "
        "naming a step (steps.<name>), so what it needs cannot be inferred; declare needs: [..]"
    ]


def test_step_templates_read_only_what_the_route_provides(registry, tmp_path):
    """Step templates see the route's parameters, steps and (with for_each) the item."""
    text = _steps_route(
        """\
        a:
          operation: GetOrder
          request: {args: {OrderId: "{{ query.id + item }}"}}
        """
    )
    issues = _issues(registry, tmp_path, text)
    assert issues == [
        "svc.yaml:11:35: routes[0].steps.a.request.args.OrderId: template reads unknown "
        "variable 'item'; templates see: body, env, headers, path, query, steps",
        "svc.yaml:11:35: routes[0].steps.a.request.args.OrderId: template reads query.id, which "
        "the route does not provide; query parameters (declare them under params.query): none",
    ]


def test_for_each_issues(registry, tmp_path):
    """for_each must compile and read what the route provides."""
    text = _steps_route(
        """\
        a: {operation: GetOrder, for_each: "steps.(", request: {args: {OrderId: 1}}}
        b: {operation: GetOrder, for_each: "query.ids", request: {args: {OrderId: 1}}}
        """
    )
    issues = _issues(registry, tmp_path, text)
    assert [re.sub(r": expression does not compile: .*", "", i) for i in issues] == [
        "svc.yaml:9:42: routes[0].steps.a.for_each",
        "svc.yaml:10:42: routes[0].steps.b.for_each: template reads query.ids, which the route "
        "does not provide; query parameters (declare them under params.query): none",
    ]


def test_step_response_and_request_are_checked_against_the_schema(registry, tmp_path):
    """A step's args and fields are checked against its operation, as a route's are."""
    text = _steps_route(
        """\
        a:
          operation: GetCustomer
          request: {args: {OrderId: 1}}
          response: {root: o:GetCustomerResponse/o:Customer, fields: {x: o:Nope}}
        """
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:11:19: routes[0].steps.a.request.args: missing required element 'CustomerId' "
        "of GetCustomer",
        "svc.yaml:11:26: routes[0].steps.a.request.args.OrderId: no element 'OrderId' in "
        "GetCustomer; expected one of: CustomerId",
        "svc.yaml:12:72: routes[0].steps.a.response.fields.x.xpath: step 'o:Nope' matches "
        "nothing the schema allows here; expected one of: o:Id, o:Name, o:Email, o:Vip",
    ]


def test_composed_response_takes_template_and_status_only(registry, tmp_path):
    """root/fields belong in a step; the template may read only steps that exist."""
    text = _steps_route(
        "a:\n" + textwrap.indent(GET_CUSTOMER, "  "),
        """\
        root: o:X
        status: 302
        template: '{"a": steps.a, "b": steps.b, "p": path.nope}'
        """,
    )
    assert _issues(registry, tmp_path, text) == [
        "svc.yaml:13:7: routes[0].response.root: a route with steps builds its answer from the "
        f"steps' results; expected one of: {', '.join(COMPOSED_RESPONSE_KEYS)} (extract fields "
        "in each step)",
        "svc.yaml:14:15: routes[0].response.status: expected a 2xx status code, got 302",
        "svc.yaml:15:17: routes[0].response.template: template reads path.nope, which the route "
        "does not provide; path parameters: id",
        "svc.yaml:15:17: routes[0].response.template: template reads steps.b, which is not a "
        "step of this route; steps: a",
    ]


def test_unknown_filter_in_composed_template_is_an_issue(registry, tmp_path):
    """Filters are resolved at load: a misspelt one is a check error, not a 500 later."""
    text = _steps_route(
        "a:\n" + textwrap.indent(GET_CUSTOMER, "  "),
        "template: 'steps.a | join_on(steps.a, \"id\")'\n",
    )
    (issue,) = _issues(registry, tmp_path, text)
    assert issue.startswith("svc.yaml:13:17: routes[0].response.template: template does not")
    assert "join_on" in issue


def test_empty_steps(registry, tmp_path):
    """steps must name at least one step."""
    assert _issues(registry, tmp_path, "  - get: /x\n    steps: {}\n") == [
        "svc.yaml:7:12: routes[0].steps: expected a mapping of step name to step "
        "{operation, request, response}"
    ]


# -- references -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "named", "dynamic"),
    [
        ("{{ steps.a.b }}", {"a"}, False),
        ('{{ steps["a"] + steps.get("b") }}', {"a", "b"}, False),
        ("{{ steps.a | join_by(steps.b, 'id') }}", {"a", "b"}, False),
        ("{{ steps | length }}", set(), True),
        ("{{ steps[name] }}", set(), True),
        ("{{ steps.items() }}", {"items"}, False),
        ("{{ path.id }}", set(), False),
        ("{{ steps.(", set(), False),
    ],
)
def test_step_references(source, named, dynamic):
    """Named reads are found in every form; any other read of steps is dynamic."""
    assert step_references(source) == (named, dynamic)


def test_every_step_key_is_documented():
    """Each step key and composed response key appears, as code, in the README."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert [key for key in sorted(STEP_KEYS) if f"`{key}`" not in readme] == []
    assert "### `steps`" in readme
