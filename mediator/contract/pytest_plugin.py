"""A pytest plugin: ``pytest --mediator-fixtures DIR`` runs one contract test per fixture.

Registered under the ``pytest11`` entry point ``mediator``, so it is active wherever Mediator
is installed, and does nothing unless ``--mediator-fixtures`` is given. Each fixture under DIR
becomes a test item (``DIR/<route>/<exchange>/fixture.json::<exchange>``) that verifies it as
``mediator verify`` does and fails with the same report and diffs.

Options:

- ``--mediator-fixtures DIR``: the fixtures directory; collected in addition to the usual
  test paths.
- ``--mediator-mappings PATH``: mapping file or directory (repeatable; default ``mappings``).
- ``--mediator-wsdl-dir DIR``: where WSDLs are looked up (default ``wsdl``).
- ``--mediator-update``: rewrite the expectations of differing fixtures (and pass).

Relative paths are taken from the directory pytest was started in. The mappings are loaded
once per session; if they cannot be loaded, every contract test fails with the issues.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mediator.contract.verify import Verifier

__all__ = [
    "ContractFile",
    "ContractItem",
    "ContractMismatch",
    "pytest_addoption",
    "pytest_collect_file",
    "pytest_configure",
]

_FIXTURE_FILE = "fixture.json"
_ROOT_KEY = pytest.StashKey[Path]()
_VERIFIER_KEY = pytest.StashKey["Verifier | str"]()


class ContractMismatch(AssertionError):
    """A fixture differs from what the mappings produce; the message is the report."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--mediator-*`` options."""
    group = parser.getgroup("mediator", "Mediator contract fixtures")
    group.addoption(
        "--mediator-fixtures",
        metavar="DIR",
        help="verify every recorded fixture under DIR as a test",
    )
    group.addoption(
        "--mediator-mappings",
        action="append",
        metavar="PATH",
        help="mapping file or directory for the fixtures (repeatable; default: mappings)",
    )
    group.addoption(
        "--mediator-wsdl-dir",
        default="wsdl",
        metavar="DIR",
        help="where the mappings' WSDLs are looked up (default: wsdl)",
    )
    group.addoption(
        "--mediator-update",
        action="store_true",
        help="rewrite the expectations of fixtures that differ",
    )


def pytest_configure(config: pytest.Config) -> None:
    """When ``--mediator-fixtures`` is given, collect that directory too."""
    option = config.getoption("mediator_fixtures")
    if not option:
        return
    root = (config.invocation_params.dir / option).resolve()
    if not root.is_dir():
        raise pytest.UsageError(f"--mediator-fixtures: {option} is not a directory")
    config.stash[_ROOT_KEY] = root
    if not any(_covers(Path(arg.split("::")[0]), root, config) for arg in config.args):
        config.args.append(str(root))


def _covers(arg: Path, root: Path, config: pytest.Config) -> bool:
    path = (config.invocation_params.dir / arg).resolve()
    return root == path or path in root.parents


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ContractFile | None:
    """A ``fixture.json`` under the configured fixtures directory becomes a contract test."""
    root = parent.config.stash.get(_ROOT_KEY, None)
    if root is None or file_path.name != _FIXTURE_FILE:
        return None
    if root != file_path.parent and root not in file_path.parents:
        return None
    return ContractFile.from_parent(parent, path=file_path)


def _verifier(config: pytest.Config) -> Verifier | str:
    """The session's verifier, or the reason it could not be built (mapping issues)."""
    cached = config.stash.get(_VERIFIER_KEY, None)
    if cached is not None:
        return cached
    from mediator.contract.rules import load_config
    from mediator.contract.verify import Verifier
    from mediator.errors import MappingError
    from mediator.mapping.loader import load_mappings
    from mediator.upstream.wsdl import WsdlRegistry

    base = config.invocation_params.dir
    root = config.stash[_ROOT_KEY]
    paths = [base / p for p in (config.getoption("mediator_mappings") or ["mappings"])]
    registry = WsdlRegistry()
    result: Verifier | str
    try:
        mappings = load_mappings(
            paths,
            describe=registry.describe,
            wsdl_dir=base / config.getoption("mediator_wsdl_dir"),
        )
        result = Verifier(mappings, registry, load_config(root), root)
    except MappingError as exc:
        result = "the mappings or contract.yaml cannot be loaded:\n" + "\n".join(
            str(issue) for issue in exc.issues
        )
    config.stash[_VERIFIER_KEY] = result
    return result


class ContractFile(pytest.File):
    """The ``fixture.json`` of one fixture: collects its single contract test."""

    def collect(self) -> Iterator[ContractItem]:
        """One item named after the fixture directory."""
        yield ContractItem.from_parent(self, name=self.path.parent.name)


class ContractItem(pytest.Item):
    """Verifies one fixture against the mappings."""

    def runtest(self) -> None:
        """Fail with the verification report when the fixture differs."""
        verifier = _verifier(self.config)
        if isinstance(verifier, str):
            raise ContractMismatch(verifier)
        update = bool(self.config.getoption("mediator_update"))
        result = verifier.verify_path(self.path.parent, update=update)
        if not result.passed:
            raise ContractMismatch(result.report())

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        """The verification report itself (no traceback) for contract mismatches."""
        if isinstance(excinfo.value, ContractMismatch):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where the fixture is, for pytest's report headers."""
        return self.path.parent, None, f"contract fixture {self.path.parent.name}"
