"""XML hardening of upstream answers (mediator.translate.xmlsafe): nothing is ever read.

A file canary watched with inotify records any open or read of it, so "no file was read"
is observed, not inferred. A control test shows that lxml with the options the gateway used
to rely on (``load_dtd=False``, ``no_network=True``, ``resolve_entities=False``) *does*
open a local file named by an external parameter entity.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from mediator.translate import xmlsafe
from mediator.translate.xmlsafe import XMLLimits, XMLRejected, parse_xml

DTD = "XML with a DTD (DOCTYPE) is not accepted"

_IN_ACCESS, _IN_OPEN = 0x01, 0x20


class FileCanary:
    """A file whose every open or read is recorded by inotify (Linux)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text('<!ENTITY leaked "SECRET-FROM-DISK">\n')
        libc = ctypes.CDLL(None, use_errno=True)
        self._fd = libc.inotify_init1(os.O_NONBLOCK)
        if self._fd < 0 or libc.inotify_add_watch(self._fd, bytes(path), _IN_OPEN | _IN_ACCESS) < 0:
            raise OSError(ctypes.get_errno(), "inotify unavailable")

    def was_opened(self) -> bool:
        try:
            return bool(os.read(self._fd, 4096))
        except BlockingIOError:
            return False

    def close(self) -> None:
        os.close(self._fd)


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[FileCanary]:
    if not sys.platform.startswith("linux"):
        pytest.skip("the file canary uses inotify")
    watcher = FileCanary(tmp_path / "canary.dtd")
    yield watcher
    watcher.close()


def attacks(target: str) -> dict[str, bytes]:
    url = f"file://{target}"
    return {
        "external-dtd": f'<!DOCTYPE r SYSTEM "{url}"><r/>'.encode(),
        "parameter-entity": f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{url}"> %p;]><r/>'.encode(),
        "external-entity": f'<!DOCTYPE r [<!ENTITY x SYSTEM "{url}">]><r>&x;</r>'.encode(),
        "after-comment-and-pi": (
            f'<?xml version="1.0"?><!-- hi --><?pi x?>\n<!DOCTYPE r SYSTEM "{url}"><r/>'
        ).encode(),
        "utf-16": f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r SYSTEM "{url}"><r/>'.encode(
            "utf-16"
        ),
        "utf-16-le-no-bom": (
            f'<?xml version="1.0" encoding="UTF-16LE"?><!DOCTYPE r SYSTEM "{url}"><r/>'
        ).encode("utf-16-le"),
        "utf-32": f'<!DOCTYPE r SYSTEM "{url}"><r/>'.encode("utf-32"),
        "utf-8-bom": b"\xef\xbb\xbf" + f'<!DOCTYPE r SYSTEM "{url}"><r/>'.encode(),
    }


def test_unhardened_lxml_reads_the_file_so_the_canary_works(canary: FileCanary) -> None:
    """Control: the parser options alone (as before the hardening) open the local file."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
    )
    etree.fromstring(attacks(str(canary.path))["parameter-entity"], parser)
    assert canary.was_opened()


@pytest.mark.parametrize("attack", sorted(attacks("x")))
def test_dtd_attacks_are_refused_and_nothing_is_opened(canary: FileCanary, attack: str) -> None:
    """Every DTD form, in every encoding, is refused before parsing; the file is not opened."""
    with pytest.raises(XMLRejected) as info:
        parse_xml(attacks(str(canary.path))[attack])
    assert str(info.value) == DTD
    assert not canary.was_opened()


def test_the_parser_alone_opens_nothing_either(canary: FileCanary) -> None:
    """Second line of defence: the hardened parser's resolver answers external references
    with nothing, so even a DTD that got past the prolog scan reads no file."""
    document = attacks(str(canary.path))["parameter-entity"]
    etree.fromstring(document, xmlsafe._PARSER)
    assert not canary.was_opened()


def test_dtd_text_inside_the_document_is_not_a_dtd() -> None:
    """``<!DOCTYPE`` inside CDATA or a comment after the prolog is content, not a DTD."""
    root = parse_xml(b"<r><![CDATA[<!DOCTYPE html><p>report</p>]]><!-- <!DOCTYPE x> --></r>")
    assert root.text == "<!DOCTYPE html><p>report</p>"


def test_unclosed_prolog_comment_is_ill_formed_not_a_dtd() -> None:
    """A broken prolog is reported as ill-formed XML."""
    with pytest.raises(XMLRejected, match="ill-formed"):
        parse_xml(b"<!-- never closed <r/>")


def test_huge_prolog_is_scanned_in_linear_time() -> None:
    """Megabytes of whitespace or comments before the root do not stall the scan."""
    data = b"<!---->" * 200_000 + b" " * 2_000_000 + b"<!DOCTYPE r><r/>"
    started = time.perf_counter()
    with pytest.raises(XMLRejected, match="DTD"):
        parse_xml(data)
    assert time.perf_counter() - started < 2.0  # generous: it takes milliseconds


@pytest.mark.parametrize(
    ("document", "limits", "message"),
    [
        (b'<a v="' + b"x" * 101 + b'"/>', XMLLimits(max_text=100), "attribute value is too large"),
        (b"<a " + b"n" * 50 + b'="1"/>', XMLLimits(max_name=40), "name is too long"),
        (b"<a><b/>" + b"t" * 101 + b"</a>", XMLLimits(max_text=100), "text node is too large"),
    ],
    ids=["attribute-value", "attribute-name", "tail-text"],
)
def test_structural_bounds_cover_attributes_and_tail_text(
    document: bytes, limits: XMLLimits, message: str
) -> None:
    """Attribute values and names, and text after a child, are bounded like other text."""
    with pytest.raises(XMLRejected, match=message):
        parse_xml(document, limits)
