"""The upstream layer: WSDLs (through zeep), envelopes, and the HTTP transport to SOAP services."""

__all__: list[str] = []
