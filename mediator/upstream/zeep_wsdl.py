"""WSDL loading through zeep, and the plain descriptions built from what zeep read.

Only :mod:`mediator.upstream.wsdl` imports this module, and only when a WSDL has to be parsed
(a cache miss, or the first request that zeep builds), so that a warm start never imports
zeep. Every local file read (the WSDL, its imports and includes) goes through a
:class:`~mediator.upstream.wsdl_cache.SourceRecorder`, which is how the cache knows what an
entry depends on.

zeep drops what the gateway needs beyond structure: enumeration facets are read back from the
schema files themselves, choices are recorded as alternatives, simpleContent becomes a scalar
with attributes, and SOAP-encoded arrays name their item type.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import zeep
import zeep.exceptions
from lxml import etree
from zeep.wsdl.bindings.soap import Soap12Binding, SoapBinding
from zeep.xsd import types as xsd_types
from zeep.xsd.elements import Any as XsdAny
from zeep.xsd.elements import Element as XsdElement
from zeep.xsd.elements.indicators import Indicator
from zeep.xsd.types import builtins as xsd_builtins
from zeep.xsd.types.simple import AnySimpleType

from mediator.mapping.service_info import (
    AttributeInfo,
    ChoiceInfo,
    ElementInfo,
    OperationInfo,
    PortInfo,
    ScalarKind,
    ServiceInfo,
    TypeInfo,
    WsdlInfo,
)
from mediator.upstream.wsdl import WELL_KNOWN_SCHEMAS
from mediator.upstream.wsdl_cache import SourceRecorder
from mediator.xmlparser import hardened_parser

__all__ = ["LocalOnlyTransport", "describe_client", "load_client"]

_XSD = "http://www.w3.org/2001/XMLSchema"
_SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"

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
    """A zeep transport that reads local files (through ``recorder`` when given), serves
    :data:`~mediator.upstream.wsdl.WELL_KNOWN_SCHEMAS` from local copies and refuses every
    other fetch."""

    def __init__(self, recorder: SourceRecorder | None = None) -> None:
        super().__init__(cache=None, timeout=1, operation_timeout=1)
        self._recorder = recorder

    def load(self, url: str) -> bytes:
        """The document at ``url``: a local file, or a well-known schema."""
        if self._recorder is None or not url or urlparse(url).scheme in ("http", "https", "file"):
            return cast(bytes, super().load(url))
        return self._recorder.read(Path(os.path.expanduser(url)))

    def _load_remote_data(self, url: str) -> bytes:
        known = WELL_KNOWN_SCHEMAS.get(url.rstrip("/"))
        if known is not None:
            return known
        raise ValueError(
            f"refusing to fetch {url!r}: WSDLs and schemas are read from local files only"
        )


def _settings() -> zeep.Settings:
    # forbid_external stays off so that well-known schemas reach LocalOnlyTransport, which
    # serves them from local copies and refuses every other URL.
    return zeep.Settings(
        strict=False,
        raw_response=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=False,
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


def _xsd(local: str) -> str:
    return f"{{{_XSD}}}{local}"


class _Facets:
    """Enumeration facets of simple types, read from the schema files zeep loaded.

    zeep keeps no facets, so each schema file (and every file it includes) is parsed again
    here. Global simple types are keyed by their qualified name; anonymous ones by the name
    of the element or attribute declaring them, which is how zeep names them. A key defined
    twice with different values is ambiguous and yields no enumeration.
    """

    _MAX_BASE_HOPS = 8

    def __init__(
        self, documents: Iterable[tuple[str | None, str | None]], recorder: SourceRecorder
    ) -> None:
        self._entries: dict[str, set[tuple[tuple[str, ...], str | None]]] = {}
        self._recorder = recorder
        visited: set[Path] = set()
        for location, namespace in documents:
            if location and not urlparse(location).scheme:
                self._read(Path(location), namespace, visited)

    def _read(self, path: Path, namespace: str | None, visited: set[Path]) -> None:
        path = path.resolve()
        if path in visited or not path.is_file():
            return
        visited.add(path)
        try:
            root = etree.fromstring(
                self._recorder.read(path), parser=hardened_parser(), base_url=str(path)
            )
        except (OSError, etree.XMLSyntaxError):
            return
        schemas = [root] if root.tag == _xsd("schema") else list(root.iter(_xsd("schema")))
        for schema in schemas:
            target = schema.get("targetNamespace") or namespace
            self._index(schema, target)
            for tag in ("include", "redefine"):
                for node in schema.findall(_xsd(tag)):
                    location = node.get("schemaLocation")
                    if location and not urlparse(location).scheme:
                        self._read(path.parent / location, target, visited)

    def _index(self, schema: etree._Element, target: str | None) -> None:
        for simple in schema.iter(_xsd("simpleType")):
            parent = simple.getparent()
            if parent is None:
                continue
            if parent is schema:
                name = simple.get("name")
            elif parent.tag in (_xsd("element"), _xsd("attribute")):
                name = parent.get("name")
            else:
                continue
            restriction = simple.find(_xsd("restriction"))
            if not name or restriction is None:
                continue
            values = tuple(e.get("value", "") for e in restriction.findall(_xsd("enumeration")))
            base = restriction.get("base")
            base_name = None
            if base:
                prefix, _, local = base.rpartition(":")
                base_name = etree.QName(restriction.nsmap.get(prefix or None), local).text
            key = etree.QName(target or None, name).text
            self._entries.setdefault(key, set()).add((values, base_name))

    def enumeration(self, type_name: str) -> tuple[str, ...]:
        """The enumerated values of the simple type named ``type_name`` (``()`` if none)."""
        for _hop in range(self._MAX_BASE_HOPS):
            entries = self._entries.get(type_name)
            if not entries or len(entries) > 1:
                return ()
            ((values, base),) = entries
            if values or not base:
                return values
            type_name = base
        return ()


class _Describer:
    def __init__(self, facets: _Facets) -> None:
        self.memo: dict[int, TypeInfo] = {}
        self.facets = facets

    def type_info(self, xsd_type: Any) -> TypeInfo:
        key = id(xsd_type)
        if key in self.memo:
            return self.memo[key]
        name = _qname_text(getattr(xsd_type, "qname", None))
        if not isinstance(xsd_type, xsd_types.ComplexType):
            info = TypeInfo(
                name=name, scalar=_scalar_kind(xsd_type), enumeration=self._enumeration(xsd_type)
            )
            self.memo[key] = info
            return info
        info = TypeInfo(name=name)
        self.memo[key] = info  # registered before children: recursive types terminate
        content = getattr(xsd_type, "_element", None)
        array_type = getattr(getattr(xsd_type, "_array_type", None), "array_type", None)
        if array_type is not None:
            # soapenc:Array restricted with wsdl:arrayType="tns:Item[]": items named freely.
            info.array_item = self.type_info(array_type)
            info.open = True
            return info
        if isinstance(content, XsdElement) and isinstance(content.type, AnySimpleType):
            # simpleContent: zeep models the text as a pseudo-element named _value_1.
            info.scalar = _scalar_kind(content.type)
            info.enumeration = self._enumeration(content.type)
        else:
            children: list[ElementInfo] = []
            choices: list[ChoiceInfo] = []
            open_content = type(xsd_type) is xsd_types.AnyType
            for _name, element in xsd_type.elements_nested:
                open_content |= self._collect(element, children, choices, 1, 1, False)
            info.children = tuple(children)
            info.choices = tuple(choices)
            info.open = open_content
            if not children and content is None:
                base = getattr(xsd_type, "_extension", None) or getattr(
                    xsd_type, "_restriction", None
                )
                if base is not None and not isinstance(base, xsd_types.ComplexType):
                    info.scalar = _scalar_kind(base)
        info.attributes = self._attributes(xsd_type)
        return info

    def _enumeration(self, xsd_type: Any) -> tuple[str, ...]:
        return self.facets.enumeration(_qname_text(getattr(xsd_type, "qname", None)))

    def _attributes(self, xsd_type: Any) -> tuple[AttributeInfo, ...]:
        attributes = []
        for name, attribute in xsd_type.attributes:
            attr_type = getattr(attribute, "type", None)
            if attr_type is None:
                continue
            qname = getattr(attribute, "qname", None)
            namespace = qname.namespace if isinstance(qname, etree.QName) else None
            if namespace == _SOAP_ENC:
                continue  # encoding bookkeeping (arrayType, offset), not data
            attributes.append(
                AttributeInfo(
                    local=qname.localname if isinstance(qname, etree.QName) else name,
                    namespace=namespace,
                    scalar=_scalar_kind(attr_type),
                    required=bool(getattr(attribute, "required", False)),
                    enumeration=self._enumeration(attr_type),
                )
            )
        return tuple(attributes)

    def _collect(
        self,
        node: Any,
        out: list[ElementInfo],
        choices: list[ChoiceInfo],
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
        if not (isinstance(node, Indicator) or hasattr(node, "child")):
            return False
        node_min = int(getattr(node, "min_occurs", 1) or 0)
        node_max = _max(getattr(node, "max_occurs", 1))
        choice = type(node).__name__ == "Choice"
        new_max = None if node_max is None or max_mult is None else node_max * max_mult
        new_min = min(min_mult, node_min)
        found_any = False
        members: Any = node if isinstance(node, Indicator) else [node.child]
        alternatives: list[tuple[str, ...]] = []
        for member in members:
            element = member[1] if isinstance(member, tuple) else member
            start = len(out)
            found_any |= self._collect(element, out, choices, new_min, new_max, in_choice or choice)
            alternatives.append(tuple(e.local for e in out[start:]))
        if choice:
            choices.append(
                ChoiceInfo(
                    alternatives=tuple(alternatives),
                    optional=new_min == 0 or in_choice,
                    repeated=new_max is None or new_max > 1,
                )
            )
        return found_any

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

    def fault_elements(self, operation: Any) -> tuple[ElementInfo, ...]:
        """The detail elements of the operation's declared faults (one per fault part)."""
        found: list[ElementInfo] = []
        for fault in (getattr(operation, "faults", None) or {}).values():
            parts = getattr(getattr(fault, "abstract", None), "parts", None) or {}
            for part in parts.values():
                element = getattr(part, "element", None)
                if element is not None and all(
                    (f.namespace, f.local) != _element_key(element) for f in found
                ):
                    found.append(self.element_info(element))
        return tuple(found)


def _element_key(element: Any) -> tuple[str | None, str]:
    qname = element.qname if isinstance(element.qname, etree.QName) else None
    if qname is None:
        return None, str(element.name)
    return qname.namespace, qname.localname


def load_client(path: Path, recorder: SourceRecorder) -> zeep.Client:
    """A zeep client for the local WSDL at ``path``; every file read is recorded.

    Raises:
        ValueError: when the WSDL cannot be loaded; the message says why.
        OSError: when the WSDL file cannot be read.
    """
    try:
        return zeep.Client(str(path), transport=LocalOnlyTransport(recorder), settings=_settings())
    except (zeep.exceptions.Error, etree.XMLSyntaxError, etree.DocumentInvalid) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    except (KeyError, AttributeError, TypeError, IndexError) as exc:
        raise ValueError(f"unsupported or inconsistent WSDL ({type(exc).__name__}: {exc})") from exc


def describe_client(client: zeep.Client, path: Path, recorder: SourceRecorder) -> WsdlInfo:
    """Plain descriptions of every SOAP service, port and operation of a loaded WSDL.

    The schema files are read again for their enumeration facets, through ``recorder``.
    """
    documents = [
        (getattr(d, "_location", None), getattr(d, "_target_namespace", None))
        for d in client.wsdl.types.documents
    ]
    describer = _Describer(_Facets(documents, recorder))
    services: dict[str, ServiceInfo] = {}
    for service_name, service in client.wsdl.services.items():
        ports: dict[str, PortInfo] = {}
        for port_name, port in service.ports.items():
            binding = port.binding
            if not isinstance(binding, SoapBinding):
                continue
            operations = {}
            for op_name, operation in binding._operations.items():
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
                    faults=describer.fault_elements(operation),
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
    return WsdlInfo(path=path, services=services, namespaces=namespaces)
