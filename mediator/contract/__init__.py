"""Contract testing: record real exchanges, replay them as a SOAP backend, verify mappings.

Modules:

- :mod:`~mediator.contract.rules`: the fixtures configuration (``contract.yaml``): redaction
  and mask rules (XPath for XML, JSON Pointer for JSON), WS-Security defaults.
- :mod:`~mediator.contract.canonical`: canonical XML and JSON text with masks, and diffs.
- :mod:`~mediator.contract.fixture`: the on-disk format of one recorded exchange.
- :mod:`~mediator.contract.record`: an exchange observer writing fixtures.
- :mod:`~mediator.contract.outcome`: the JSON answer a mapping gives for a recorded response.
- :mod:`~mediator.contract.verify`: offline verification (and ``--update``).
- :mod:`~mediator.contract.junit`: JUnit XML reports.
- :mod:`~mediator.contract.replay`: an aiohttp SOAP backend answering from fixtures.
- :mod:`~mediator.contract.fetch` and :mod:`~mediator.contract.drift`: comparing a live WSDL
  with the local copy.
- :mod:`~mediator.contract.pytest_plugin`: ``pytest --mediator-fixtures DIR``.

The package may use ``translate``, ``mapping`` and ``upstream``; the gateway never imports it
(``mediator serve --record`` wires the recorder in from the CLI).
"""

from __future__ import annotations

__all__: list[str] = []
