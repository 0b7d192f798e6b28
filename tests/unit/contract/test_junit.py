"""JUnit XML: one test case per fixture, failures carrying the full report."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from mediator.contract.junit import junit_xml, write_junit
from mediator.contract.verify import Difference, FixtureResult


def test_failures_carry_message_and_report(tmp_path: Path) -> None:
    """A passing and a failing fixture become two test cases; the failure holds the diff."""
    results = [
        FixtureResult(tmp_path / "a", "r/a"),
        FixtureResult(
            tmp_path / "b",
            "r/b",
            [Difference("json-response", "JSON response differs", "--- x\n+++ y\n-1\n+2")],
        ),
    ]
    write_junit(tmp_path / "out" / "junit.xml", results, seconds=1.5)
    root = etree.fromstring((tmp_path / "out" / "junit.xml").read_bytes())
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("time")) == ("2", "1", "1.500")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["r/a", "r/b"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "JSON response differs"
    assert failure.text is not None and "FAIL r/b" in failure.text and "+2" in failure.text
    assert junit_xml(results, seconds=1.5) == (tmp_path / "out" / "junit.xml").read_bytes()
