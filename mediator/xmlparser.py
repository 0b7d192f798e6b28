"""The lxml parser options of every XML document Mediator parses itself."""

from __future__ import annotations

from lxml import etree

__all__ = ["hardened_parser"]


def hardened_parser() -> etree.XMLParser:
    """A new parser that loads no DTD and validates against none, resolves no entity,
    fetches nothing from the network, keeps libxml2's own bounds (no ``huge_tree``: depth
    256, names of 50,000 bytes, text nodes of 10 MB) and collects no ids. lxml lets threads
    share a parser (it is only less efficient than one each).

    :mod:`mediator.translate.xmlsafe` adds a resolver and refuses DTDs before parsing, for
    documents from outside.
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
    )
