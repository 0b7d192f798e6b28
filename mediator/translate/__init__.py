"""The pure translation core: JSON in, SOAP out; SOAP in, JSON out. No network, no server."""

__all__: list[str] = []
