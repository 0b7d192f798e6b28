"""Scaffolds mapping files from a WSDL description, one file per SOAP port.

Every operation gets a route: a read with one simple key (``GetOrder(OrderId)``) becomes
``GET /orders/{orderId}`` with a typed path parameter, anything else ``POST /operation-name``
taking a JSON body. The request names every input element (optional ones guarded so that an
absent JSON value omits the element), the response lists every output element as a field, and
comments give each element's XSD type, occurrence and enumeration. The output loads unchanged.

Inputs whose elements can all be addressed as data are rendered through ``request.args`` (zeep
serializes them, values are checked against the XSD); inputs with attributes, optional or
repeated complex elements, or a simple-typed Body element are rendered as a ``request.body``
XML template with loops and guards, since ``args`` cannot rename JSON objects inside lists.
Recursive types are expanded :data:`RECURSION_LIMIT` times along a path: deeper, a response
field returns the element as XML and a request leaves it out.

Pure: a :class:`~mediator.mapping.service_info.WsdlInfo` in, YAML text out.

Modules:
    model: the options taken, the files and routes returned, and :class:`ScaffoldError`.
    document: selecting ports and assembling each file (header, routes).
    routes: planning each operation's method and path, and writing its route.
    requests: the ``request`` section (``args`` or an XML ``body`` template).
    responses: the ``response`` section (fields from the output element) and fault notes.
    examples: example values and example JSON bodies.
    vocabulary: a port's namespace prefixes, JSON member names and comments.
    names: kebab-case paths, plurals, JSON and environment names, Jinja accessors.
    shapes: complex types, the recursion bound and choice branches.
    yamltext: YAML scalars and lines with aligned comments.
"""

from __future__ import annotations

from mediator.mapping.scaffold.document import scaffold_mappings
from mediator.mapping.scaffold.examples import example_value
from mediator.mapping.scaffold.model import (
    ScaffoldError,
    ScaffoldFile,
    ScaffoldOptions,
    ScaffoldRoute,
)
from mediator.mapping.scaffold.routes import READ_VERBS
from mediator.mapping.scaffold.shapes import RECURSION_LIMIT

__all__ = [
    "READ_VERBS",
    "RECURSION_LIMIT",
    "ScaffoldError",
    "ScaffoldFile",
    "ScaffoldOptions",
    "ScaffoldRoute",
    "example_value",
    "scaffold_mappings",
]
