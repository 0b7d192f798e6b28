"""Assembling the mapping files of a run: selecting the SOAP ports, naming each file, and
writing its header (``version``, ``defaults``, ``service``) and its routes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePath

from mediator.mapping.scaffold.model import ScaffoldError, ScaffoldFile, ScaffoldOptions
from mediator.mapping.scaffold.names import env_variable, kebab_case
from mediator.mapping.scaffold.routes import emit_route, plan_port
from mediator.mapping.scaffold.vocabulary import Vocabulary
from mediator.mapping.scaffold.yamltext import YamlLines, yaml_str
from mediator.mapping.service_info import ElementInfo, PortInfo, ServiceInfo, WsdlInfo

__all__ = ["scaffold_mappings"]


def _selected(info: WsdlInfo, options: ScaffoldOptions) -> list[tuple[ServiceInfo, PortInfo]]:
    services = list(info.services.values())
    if not services:
        raise ScaffoldError("the WSDL declares no service with a SOAP port")
    if options.service is not None:
        if options.service not in info.services:
            expected = ", ".join(info.services)
            raise ScaffoldError(
                f"no service {options.service!r} in the WSDL; expected one of: {expected}"
            )
        services = [info.services[options.service]]
    pairs = [(s, p) for s in services for p in s.ports.values()]
    if options.port is not None:
        pairs = [(s, p) for s, p in pairs if p.name == options.port]
        if not pairs:
            ports = ", ".join(f"{s.name}/{p.name}" for s in services for p in s.ports.values())
            raise ScaffoldError(f"no SOAP port {options.port!r}; expected one of: {ports}")
    return pairs


def _file_name(stem: str, service: ServiceInfo, port: PortInfo, info: WsdlInfo, many: bool) -> str:
    if not many:
        return f"{stem}.yaml"
    if len(info.services) == 1:
        return f"{stem}-{kebab_case(port.name)}.yaml"
    return f"{stem}-{kebab_case(service.name)}-{kebab_case(port.name)}.yaml"


def _header(
    out: YamlLines,
    options: ScaffoldOptions,
    service: ServiceInfo,
    port: PortInfo,
    vocab: Vocabulary,
    many: bool,
) -> None:
    source = PurePath(options.wsdl).name
    out.note(0, f"Scaffolded by `mediator scaffold` from {source}: service {service.name},")
    out.note(0, f"port {port.name} (SOAP {port.soap_version}), one route per operation.")
    out.note(0, "Review the REST paths, drop the fields you do not need and map faults to")
    out.note(0, "statuses; `mediator check` validates this file offline, `mediator try` dry-runs")
    out.note(0, "a route. Reference: README.md (mapping file) and docs/scaffold.md.")
    out.add(0, "version: 1")
    out.add(0, "defaults:")
    out.add(
        2, f"naming: {vocab.naming}", "JSON names of fields derived from the XSD: camel or keep"
    )
    out.add(0, "service:")
    out.add(2, f"wsdl: {yaml_str(options.wsdl)}")
    out.add(2, f"service: {yaml_str(service.name)}")
    out.add(2, f"port: {yaml_str(port.name)}", f"SOAP {port.soap_version}")
    if options.address is not None:
        out.add(2, f"address: {yaml_str(options.address)}")
    else:
        variable = env_variable(service.name, port.name) if many else env_variable(service.name)
        usable = re.match(r"^https?://\S+$", port.address or "")
        default = port.address if usable else "http://localhost/"
        comment = (
            "" if usable else f"the WSDL's address {port.address!r} is not a URL: set {variable}"
        )
        out.add(2, f"address: {yaml_str(f'${{{variable}:-{default}}}')}", comment)
    if vocab.prefixes:
        out.add(2, "namespaces:")
        for namespace, prefix in vocab.prefixes.items():
            out.add(4, f"{prefix}: {yaml_str(namespace)}")
    out.add(0, "routes:")


def _roots(port: PortInfo) -> Iterator[ElementInfo]:
    for operation in port.operations.values():
        yield from (e for e in (operation.input, operation.output) if e is not None)
        yield from operation.faults


def scaffold_mappings(info: WsdlInfo, options: ScaffoldOptions) -> tuple[ScaffoldFile, ...]:
    """One mapping file per selected SOAP port, with a route for each of its operations.

    REST paths are unique across the files returned, so they load together: a path already
    taken (the same operations on a SOAP 1.2 port, say) is prefixed with the port's name.

    Raises:
        ScaffoldError: no SOAP port, or no such service or port (the choices are listed).
    """
    pairs = _selected(info, options)
    many = len(pairs) > 1
    stem = PurePath(options.wsdl).stem or "mapping"
    used: set[tuple[str, str]] = set()
    files = []
    for service, port in pairs:
        vocab = Vocabulary(options.naming, list(_roots(port)))
        out = YamlLines()
        _header(out, options, service, port, vocab, many)
        routes = []
        for plan in plan_port(service, port, vocab, used):
            suffix = f"-{kebab_case(port.name)}" if many else ""
            plan.name = kebab_case(plan.operation.name) + suffix
            routes.append(emit_route(out, plan, vocab))
        if not routes:
            out.lines[out.lines.index("routes:")] = "routes: []  # the port has no operations"
        files.append(
            ScaffoldFile(
                name=_file_name(stem, service, port, info, many),
                service=service.name,
                port=port.name,
                text=out.text(),
                routes=tuple(routes),
            )
        )
    return tuple(files)
