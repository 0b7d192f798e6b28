"""Zero-config: mapping documents generated for a WSDL served without a mapping file.

Each service (its first SOAP port) gets one generic route per operation,
``POST /soap/{service}/{operation}``, whose JSON input is named and typed as the operation's
input elements and whose output derives from the XSD. The documents then load like any
mapping file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mediator.mapping.service_info import DescribeWsdl, WsdlInfo

__all__ = ["ZERO_CONFIG_ARGS", "zero_config_address_variable", "zero_config_documents"]

ZERO_CONFIG_ARGS = "{{ body if body is not none else {} }}"


def zero_config_address_variable(service: str) -> str:
    """The environment variable overriding a zero-config service's address:
    ``MEDIATOR_ADDRESS_`` and the service name upper-cased (``OrderService`` →
    ``MEDIATOR_ADDRESS_ORDERSERVICE``)."""
    return "MEDIATOR_ADDRESS_" + re.sub(r"[^A-Za-z0-9]", "_", service).upper()


def zero_config_documents(
    wsdl: Path, describe: DescribeWsdl, cache: dict[Path, WsdlInfo | str]
) -> list[tuple[str, dict[str, Any]]]:
    """Mapping documents for a WSDL without a mapping file: one per service (first port),
    each with the name its issues are reported under.

    A WSDL that cannot be described yields one document naming just the WSDL, so loading
    it reports why.
    """
    path = wsdl.resolve()
    if path not in cache:
        try:
            cache[path] = describe(path)
        except (OSError, ValueError) as exc:
            cache[path] = str(exc)
    info = cache[path]
    if isinstance(info, str):
        return [
            (f"{wsdl} (zero-config)", {"version": 1, "service": {"wsdl": str(path)}, "routes": []})
        ]
    documents = []
    for service in info.services.values():
        port = next(iter(service.ports.values()))
        routes = [
            {
                "post": f"/soap/{service.name}/{operation}",
                "name": f"{service.name}.{operation}",
                "summary": f"{operation} of {service.name} (zero-config)",
                "operation": operation,
                "request": {"args": ZERO_CONFIG_ARGS},
                "response": {},
            }
            for operation in port.operations
        ]
        document = {
            "version": 1,
            "defaults": {"naming": "keep"},
            "service": {
                "wsdl": str(path),
                "service": service.name,
                "port": port.name,
                "address": f"${{{zero_config_address_variable(service.name)}:-{port.address}}}",
            },
            "routes": routes,
        }
        documents.append((f"{wsdl} (zero-config {service.name})", document))
    return documents
