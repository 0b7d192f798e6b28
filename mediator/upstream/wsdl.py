"""WSDL loading through zeep, and plain descriptions of what a WSDL offers.

WSDLs are read from local files only: imports and includes are resolved relative to the
file, and anything remote is refused (a WSDL is never fetched at run time). DTDs and
entities are forbidden. Each WSDL is loaded once per registry.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

import zeep
import zeep.exceptions
from lxml import etree
from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding, SoapBinding
from zeep.xsd import types as xsd_types
from zeep.xsd.elements import Any as XsdAny
from zeep.xsd.elements import Element as XsdElement
from zeep.xsd.elements.indicators import Indicator
from zeep.xsd.types import builtins as xsd_builtins

from mediator.mapping.service_info import (
    AttributeInfo,
    ElementInfo,
    OperationInfo,
    PortInfo,
    ScalarKind,
    ServiceInfo,
    TypeInfo,
    WsdlInfo,
)

__all__ = ["LocalOnlyTransport", "WsdlRegistry"]

_SCALARS: tuple[tuple[type, ScalarKind], ...] = (
    (xsd_builtins.Boolean, "boolean"),
    (xsd_builtins.Integer, "integer"),
    (xsd_builtins.Decimal, "decimal"),
    (xsd_builtins.Float, "number"),
    (xsd_builtins.Double, "number"),
    (xsd_builtins.DateTime, "datetime"),
    (xsd_builtins.Date, "date"),
    (xsd_builtins.Time, "time"),
    (xsd_builtins.Base64Binary, "base64"),
)


class LocalOnlyTransport(zeep.Transport):
    """A zeep transport that reads local files and refuses every network fetch."""

    def __init__(self) -> None:
        super().__init__(cache=None, timeout=1, operation_timeout=1)

    def _load_remote_data(self, url: str) -> bytes:
        raise ValueError(
            f"refusing to fetch {url!r}: WSDLs and schemas are read from local files only"
        )


def _settings() -> zeep.Settings:
    return zeep.Settings(
        strict=False,
        raw_response=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
        xsd_ignore_sequence_order=False,
    )


def _scalar_kind(xsd_type: Any) -> ScalarKind:
    for cls, kind in _SCALARS:
        if isinstance(xsd_type, cls):
            return kind
    return "string"


def _qname_text(qname: Any) -> str:
    return qname.text if isinstance(qname, etree.QName) else str(qname or "")


def _max(value: Any) -> int | None:
    return None if value == "unbounded" else int(value)


class _Describer:
    def __init__(self) -> None:
        self.memo: dict[int, TypeInfo] = {}

    def type_info(self, xsd_type: Any) -> TypeInfo:
        key = id(xsd_type)
        if key in self.memo:
            return self.memo[key]
        if not isinstance(xsd_type, xsd_types.ComplexType):
            enumeration = tuple(str(v) for v in getattr(xsd_type, "enumeration", None) or ())
            info = TypeInfo(
                name=_qname_text(getattr(xsd_type, "qname", None)),
                scalar=_scalar_kind(xsd_type),
                enumeration=enumeration,
            )
            self.memo[key] = info
            return info
        info = TypeInfo(name=_qname_text(xsd_type.qname))
        self.memo[key] = info  # registered before children: recursive types terminate
        children: list[ElementInfo] = []
        open_content = (
            isinstance(xsd_type, xsd_types.AnyType) and type(xsd_type) is xsd_types.AnyType
        )
        for _name, element in xsd_type.elements_nested:
            open_content |= self._collect(element, children, 1, 1, False)
        attributes = []
        for name, attribute in xsd_type.attributes:
            attr_type = getattr(attribute, "type", None)
            if attr_type is None:
                continue
            qname = getattr(attribute, "qname", None)
            namespace = qname.namespace if isinstance(qname, etree.QName) else None
            attributes.append(
                AttributeInfo(
                    local=name,
                    namespace=namespace,
                    scalar=_scalar_kind(attr_type),
                    required=bool(getattr(attribute, "required", False)),
                )
            )
        content = getattr(xsd_type, "_element", None)
        simple_base = None
        if not children and content is None:
            extension = getattr(xsd_type, "_extension", None) or getattr(
                xsd_type, "_restriction", None
            )
            if extension is not None and not isinstance(extension, xsd_types.ComplexType):
                simple_base = _scalar_kind(extension)
        info.children = tuple(children)
        info.attributes = tuple(attributes)
        info.scalar = simple_base
        info.open = open_content
        return info

    def _collect(
        self,
        node: Any,
        out: list[ElementInfo],
        min_mult: int,
        max_mult: int | None,
        in_choice: bool,
    ) -> bool:
        """Flatten sequences, choices and groups into child elements; True for xsd:any."""
        if isinstance(node, XsdAny):
            return True
        if isinstance(node, XsdElement):
            out.append(
                self.element_info(
                    node, min_factor=0 if in_choice else min_mult, max_factor=max_mult
                )
            )
            return False
        if isinstance(node, Indicator) or hasattr(node, "child"):
            node_min = int(getattr(node, "min_occurs", 1) or 0)
            node_max = _max(getattr(node, "max_occurs", 1))
            choice = type(node).__name__ == "Choice"
            new_max = None if node_max is None or max_mult is None else node_max * max_mult
            found_any = False
            members: Any = node if isinstance(node, Indicator) else [node.child]
            for member in members:
                element = member[1] if isinstance(member, tuple) else member
                found_any |= self._collect(
                    element, out, min(min_mult, node_min), new_max, in_choice or choice
                )
            return found_any
        return False

    def element_info(
        self, element: Any, *, min_factor: int = 1, max_factor: int | None = 1
    ) -> ElementInfo:
        qname = element.qname if isinstance(element.qname, etree.QName) else None
        max_occurs = _max(element.max_occurs)
        if max_occurs is not None and max_factor is not None:
            max_occurs = max_occurs * max_factor
        elif max_factor is None:
            max_occurs = None
        return ElementInfo(
            local=qname.localname if qname is not None else str(element.name),
            namespace=qname.namespace if qname is not None else None,
            type=self.type_info(element.type),
            min_occurs=int(element.min_occurs or 0) * min_factor,
            max_occurs=max_occurs,
            nillable=bool(element.nillable),
        )

    def body_element(self, message: Any) -> ElementInfo | None:
        body = getattr(message, "body", None)
        if body is None:
            return None
        if body.qname is None:  # several body parts: treat the Body itself as open content
            return None
        return self.element_info(body)


class WsdlRegistry:
    """Loads each WSDL once and keeps its zeep client for building request envelopes."""

    def __init__(self) -> None:
        self._clients: dict[Path, zeep.Client] = {}
        self._infos: dict[Path, WsdlInfo] = {}

    def client(self, path: Path) -> zeep.Client:
        """The zeep client for a local WSDL file (loaded on first use).

        Raises:
            ValueError: when the WSDL cannot be loaded; the message says why.
        """
        path = path.resolve()
        client = self._clients.get(path)
        if client is None:
            try:
                client = zeep.Client(
                    str(path), transport=LocalOnlyTransport(), settings=_settings()
                )
            except (zeep.exceptions.Error, etree.XMLSyntaxError, etree.DocumentInvalid) as exc:
                raise ValueError(f"{type(exc).__name__}: {exc}") from exc
            except (KeyError, AttributeError, TypeError, IndexError) as exc:
                raise ValueError(
                    f"unsupported or inconsistent WSDL ({type(exc).__name__}: {exc})"
                ) from exc
            self._clients[path] = client
        return client

    def describe(self, path: Path) -> WsdlInfo:
        """Plain descriptions of every SOAP service, port and operation of the WSDL.

        Raises:
            ValueError: when the WSDL cannot be loaded.
        """
        path = path.resolve()
        if path in self._infos:
            return self._infos[path]
        client = self.client(path)
        describer = _Describer()
        services: dict[str, ServiceInfo] = {}
        for service_name, service in client.wsdl.services.items():
            ports: dict[str, PortInfo] = {}
            for port_name, port in service.ports.items():
                binding = port.binding
                if not isinstance(binding, SoapBinding):
                    continue
                operations = {}
                for op_name, operation in binding._operations.items():
                    faults = []
                    for fault in getattr(operation, "faults", {}).values():
                        element = describer.body_element(fault) if hasattr(fault, "body") else None
                        if element is not None:
                            faults.append(element)
                    style = operation.style or "document"
                    output = describer.body_element(operation.output) if operation.output else None
                    if style == "rpc" and output is not None:
                        # zeep names the rpc wrapper after the message; on the wire (WS-I BP
                        # R2729) it is the operation name + "Response".
                        output = dataclasses.replace(output, local=f"{op_name}Response")
                    operations[op_name] = OperationInfo(
                        name=op_name,
                        soap_action=operation.soapaction or "",
                        style=cast(Any, style),
                        input=describer.body_element(operation.input),
                        output=output,
                        faults=tuple(faults),
                    )
                ports[port_name] = PortInfo(
                    name=port_name,
                    soap_version="1.2" if isinstance(binding, Soap12Binding) else "1.1",
                    address=(port.binding_options or {}).get("address", ""),
                    operations=operations,
                )
            if ports:
                services[service_name] = ServiceInfo(name=service_name, ports=ports)
        namespaces = {str(k): str(v) for k, v in client.wsdl.types.prefix_map.items() if k}
        info = WsdlInfo(path=path, services=services, namespaces=namespaces)
        self._infos[path] = info
        return info


# Soap11Binding is imported for type checks by callers of ``binding_version``.
_ = Soap11Binding
