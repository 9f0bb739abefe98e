"""The conventions both command lines share (:mod:`tracing.cli`): the summary or ``--json``,
one ``error:`` line and an exit code for every failure, never a traceback."""

from __future__ import annotations

import argparse
import json
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracing.cli import Parser, Result, add_command, render, run, stop_on_signals
from tracing.errors import TracingError


@dataclass(frozen=True)
class Report:
    """A report as the library returns them: fields and a summary for people."""

    done: int
    at: datetime
    where: Path
    image: bytes = field(default=b"pixels", repr=False)

    def __str__(self) -> str:
        return f"did {self.done} things"


def report(args: argparse.Namespace) -> Report:
    """Return a report."""
    return Report(3, datetime(2026, 3, 2, 1, 0, tzinfo=UTC), Path("x/y"))


def raising(exc: BaseException) -> argparse.ArgumentParser:
    """A command line whose one command ``go`` raises ``exc``."""
    def go(args: argparse.Namespace) -> None:
        """Raise."""
        raise exc

    parser = Parser(prog="tool")
    add_command(parser.add_subparsers(dest="command", required=True), "go", go)
    return parser


def outcome(capsys: pytest.CaptureFixture[str], parser: argparse.ArgumentParser,
            *argv: str) -> tuple[int, str, str]:
    code = run(parser, argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_summary_for_people_and_json_before_or_after_the_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    parser = Parser(prog="tool")
    add_command(parser.add_subparsers(dest="command", required=True), "report", report)
    assert "Return a report" in parser.format_help()
    assert outcome(capsys, parser, "report") == (0, "did 3 things\n", "")
    for argv in (["--json", "report"], ["report", "--json"]):
        code, out, _ = outcome(capsys, parser, *argv)
        assert code == 0
        assert json.loads(out) == {"done": 3, "at": "2026-03-02T01:00:00+00:00", "where": "x/y"}


def test_json_of_results_and_messages() -> None:
    assert json.loads(render("receiver stopped", as_json=True)) == {"message": "receiver stopped"}
    result = Result("2 devices", [{"id": "a", "seen": {3, 1}}], warnings=("odd",))
    assert render(result, as_json=False) == "2 devices"
    assert json.loads(render(result, as_json=True)) == [{"id": "a", "seen": [1, 3]}]


@pytest.mark.parametrize(("exc", "code", "line"), [
    (TracingError("plate 'x' is not valid\nsee the docs"), 2,
     "error: plate 'x' is not valid; see the docs\n"),
    (FileNotFoundError(2, "No such file or directory", "reads.csv"), 2,
     "error: reads.csv: No such file or directory\n"),
    (KeyboardInterrupt(), 130, "error: interrupted\n"),
    (json.JSONDecodeError("Expecting value", "{", 1), 1,
     "error: unexpected failure (JSONDecodeError: Expecting value: line 1 column 2 (char 1)); "
     "nothing more was done. Run with -v for the details and report it.\n"),
])
def test_every_failure_is_one_error_line(exc: BaseException, code: int, line: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert outcome(capsys, raising(exc), "go") == (code, "", line)


def test_usage_errors_are_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(raising(ValueError()), ["nothing"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument command: invalid choice: 'nothing'")
    assert err.count("\n") == 1 and "(see tool --help)" in err
    assert run(raising(ValueError()), ["--help"]) == 0
    assert "usage: tool" in capsys.readouterr().out


def test_a_failed_check_reports_then_fails(capsys: pytest.CaptureFixture[str]) -> None:
    def check(args: argparse.Namespace) -> Result:
        """Fail after reporting."""
        return Result("2 problems\n  first\n  second", {"ok": False}, warnings=("slow",),
                      error="2 problems")

    parser = Parser(prog="tool")
    add_command(parser.add_subparsers(dest="command", required=True), "check", check)
    assert outcome(capsys, parser, "check") == (2, "2 problems\n  first\n  second\n",
                                                "warning: slow\nerror: 2 problems\n")


def test_stop_on_signals_restores_the_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals() as stop:
        signal.raise_signal(signal.SIGTERM)
        assert stop.is_set()
    assert signal.getsignal(signal.SIGTERM) is before
