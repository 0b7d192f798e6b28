"""The ``mediator`` command line: every subcommand listed, each imported only when used."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from mediator.cli import COMMANDS, Command, build_parser, main
from tests.conftest import MAPPINGS_DIR, WSDL_DIR

HEAVY = ("aiohttp", "zeep", "redis", "opentelemetry", "jwt", "prometheus_client")


def _loaded_after(code: str) -> set[str]:
    """Top-level packages imported by ``code`` in a fresh interpreter (printed last)."""
    script = (
        f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(result.stdout.split("\n")[-2].split())


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """``mediator --help`` lists each subcommand with its help line."""
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for command in COMMANDS:
        assert command.name in out
        assert " ".join(command.help.split()) in out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_each_command_has_help(command: Command, capsys: pytest.CaptureFixture[str]) -> None:
    """``mediator COMMAND --help`` shows the command's own arguments."""
    name = command.name
    with pytest.raises(SystemExit) as caught:
        main([name, "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: mediator {name}")
    assert "-h, --help" in out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_the_table_matches_the_modules(command: Command) -> None:
    """Each entry names its module's NAME and HELP, and the module has a run function."""
    module = importlib.import_module(command.module)
    assert command.name == module.NAME
    assert command.help == module.HELP
    assert callable(module.run)


def test_a_command_parses_its_arguments() -> None:
    """Arguments reach the chosen command, with its run function."""
    args = build_parser().parse_args(["check", str(MAPPINGS_DIR), "--no-cache"])
    assert args.command == "check"
    assert args.no_cache is True
    assert args.run is importlib.import_module("mediator.cli.check").run


def test_an_unknown_argument_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A command's unknown option is refused with a usage error (exit 2)."""
    with pytest.raises(SystemExit) as caught:
        main(["check", "--bogus"])
    assert caught.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_importing_the_cli_imports_no_command() -> None:
    """``import mediator.cli`` and building the parser import no server, zeep, Redis,
    OpenTelemetry or mapping machinery."""
    loaded = _loaded_after("import mediator.cli\nmediator.cli.build_parser()")
    assert not loaded & {*HEAVY, "jinja2", "lxml", "yaml"}


def test_main_help_imports_no_command() -> None:
    """``mediator --help`` imports none of the commands."""
    loaded = _loaded_after(
        "import contextlib, io\nfrom mediator.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])"
    )
    assert not loaded & set(HEAVY)


def test_a_warm_check_imports_neither_zeep_nor_the_server(tmp_path: Path) -> None:
    """``mediator check`` with a warm WSDL cache parses no WSDL: zeep is never imported,
    nor the server, Redis or OpenTelemetry."""
    code = (
        "import contextlib, io\nfrom mediator.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['check', {str(MAPPINGS_DIR)!r}, '--wsdl-dir', {str(WSDL_DIR)!r}, "
        f"'--cache-dir', {str(tmp_path)!r}])"
    )
    cold = _loaded_after(code)
    warm = _loaded_after(code)
    assert "zeep" in cold
    assert not warm & set(HEAVY)
