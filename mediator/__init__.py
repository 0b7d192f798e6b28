"""Mediator: clean JSON REST in front of legacy SOAP services, driven by mapping files."""

__all__ = ["__version__"]

__version__ = "0.1.0"
