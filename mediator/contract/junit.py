"""JUnit XML reports of a verification, for CI systems that display test results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from mediator.contract.verify import FixtureResult

__all__ = ["junit_xml", "write_junit"]

_SUITE = "mediator.contract"


def junit_xml(results: Sequence[FixtureResult], *, seconds: float = 0.0) -> bytes:
    """One ``<testsuite>`` with one ``<testcase>`` per fixture.

    A failing fixture carries a ``<failure>`` whose message is its first difference and whose
    text is the full report with diffs. Test cases are named after the fixture, with the route
    name as class name and the fixture directory as ``file``.
    """
    failures = sum(1 for r in results if not r.passed)
    root = etree.Element("testsuites", tests=str(len(results)), failures=str(failures))
    suite = etree.SubElement(
        root,
        "testsuite",
        name=_SUITE,
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{seconds:.3f}",
    )
    for result in results:
        case = etree.SubElement(
            suite,
            "testcase",
            classname=f"{_SUITE}.{result.route.name if result.route else 'unrouted'}",
            name=result.name,
            file=str(result.path),
            time="0",
        )
        if not result.passed:
            first = result.differences[0].message if result.differences else "failed"
            failure = etree.SubElement(case, "failure", message=first, type="ContractMismatch")
            failure.text = result.report()
        elif result.updated:
            etree.SubElement(case, "system-out").text = result.report()
    etree.indent(root, "  ")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8") + b"\n"


def write_junit(path: Path, results: Sequence[FixtureResult], *, seconds: float = 0.0) -> None:
    """Write :func:`junit_xml` to ``path`` (parent directories created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(junit_xml(results, seconds=seconds))
