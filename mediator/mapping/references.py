"""Static checks of what templates refer to: every variable a route's templates read must be
one the route provides (declared path/query parameters, allow-listed headers and env)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from jinja2 import Environment, TemplateSyntaxError, meta, nodes

__all__ = ["CONTEXT_NAMES", "RouteVariables", "template_reference_issues"]

CONTEXT_NAMES = ("path", "query", "body", "headers", "env")


@dataclass(frozen=True, slots=True)
class RouteVariables:
    """What a route's templates may read, besides the JSON ``body``."""

    path: Collection[str]
    query: Collection[str]
    headers: Collection[str]
    env: Collection[str]
    extra: Collection[str] = ()


def _listed(names: Collection[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _key(node: nodes.Node) -> str | None:
    """The constant name a ``x.name``, ``x["name"]`` or ``x.get("name")`` reads."""
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        return node.arg.value
    return None


def template_reference_issues(
    source: str, env: Environment, variables: RouteVariables
) -> list[str]:
    """Messages for every reference in ``source`` the route cannot satisfy (empty when fine).

    A template that does not compile yields no messages here (compilation reports it).
    """
    try:
        tree = env.parse(source)
        undeclared = meta.find_undeclared_variables(tree)  # compiles: unknown filters raise
    except TemplateSyntaxError:
        return []
    issues: list[str] = []
    allowed_top = set(CONTEXT_NAMES) | set(variables.extra)
    for name in sorted(undeclared - allowed_top):
        if name in env.globals:
            continue
        hint = (
            " (declare auth: on the route to read the client identity)" if name == "client" else ""
        )
        issues.append(
            f"template reads unknown variable {name!r}; templates see: {_listed(allowed_top)}"
            + hint
        )
    scopes = {
        "path": (variables.path, "path parameters"),
        "query": (variables.query, "query parameters (declare them under params.query)"),
        "headers": (variables.headers, "allow-listed headers (declare them under headers)"),
        "env": (variables.env, "allow-listed environment variables (declare them under env)"),
    }
    seen: set[tuple[str, str]] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Call)):
        target: nodes.Node | None = None
        key: str | None = None
        if (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Getattr)
            and node.node.attr == "get"
        ):
            target = node.node.node
            if (
                node.args
                and isinstance(node.args[0], nodes.Const)
                and isinstance(node.args[0].value, str)
            ):
                key = node.args[0].value
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            target, key = node.node, _key(node)
            if isinstance(node, nodes.Getattr) and node.attr in ("get", "items", "keys", "values"):
                continue
        if not isinstance(target, nodes.Name) or target.name not in scopes or key is None:
            continue
        allowed, what = scopes[target.name]
        normalized = key.lower() if target.name == "headers" else key
        if normalized not in allowed and (target.name, normalized) not in seen:
            seen.add((target.name, normalized))
            issues.append(
                f"template reads {target.name}.{key}, which the route does not provide; {what}: "
                f"{_listed(allowed)}"
            )
    return issues
