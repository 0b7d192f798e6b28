"""Reading JSON answers with decimals compared digit for digit (``0.10`` is not ``0.1``)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["D", "ExactDecimal", "exact_json"]


class ExactDecimal(Decimal):
    """A JSON number as parsed here: equal only to a Decimal with the same digits."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Decimal):
            return self.as_tuple() == other.as_tuple()
        return NotImplemented

    __hash__ = Decimal.__hash__


def D(text: str) -> Decimal:
    """An expected xsd:decimal, digits included (``D("0.10")`` is not ``D("0.1")``)."""
    return Decimal(text)


async def exact_json(response: Any) -> Any:
    """The response's JSON with every number parsed as an :class:`ExactDecimal`."""
    return json.loads(await response.text(), parse_float=ExactDecimal)
