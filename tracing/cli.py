"""What both command lines share (``python -m tracing`` and ``python -m recognition``).

A command's handler returns its outcome: a report whose ``str()`` is the summary for people,
or a :class:`Result` pairing that text with data. :func:`run` prints the text, or with
``--json`` (given before or after the command's name) the data as one JSON document. A
failure is one ``error:`` line on stderr, never a traceback; the exit code is 2 for bad input
or a refused operation, 130 when interrupted, 141 when the reader of the output left, 1 for
anything unforeseen (a bug).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

from tracing.errors import StoreError, TracingError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

REFUSED: Final = 2
"""Exit code of bad input and refused operations (usage errors included)."""
BUG: Final = 1
INTERRUPTED: Final = 130
PIPE_CLOSED: Final = 141

Handler = Callable[[argparse.Namespace], object]


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """A command's outcome: ``text`` for people, ``data`` for ``--json``, ``warnings`` for
    stderr; with ``error`` the command failed after reporting (exit 2)."""

    text: str
    data: object
    warnings: Sequence[str] = ()
    error: str | None = None

    def __str__(self) -> str:
        return self.text


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``error:`` line (exit 2); it and each
    of its subcommands' parsers take ``-v`` and ``--json``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                          help="log progress; details of an unforeseen failure")
        self.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                          help="print the result as JSON (for scripts)")

    def error(self, message: str) -> NoReturn:
        self.exit(REFUSED, f"error: {message} (see {self.prog} --help)\n")


def add_command(commands: argparse._SubParsersAction[Parser], name: str,
                handler: Handler) -> Parser:
    """A subcommand run by ``handler`` (its help: the docstring's first line)."""
    sub = commands.add_parser(name, help=(handler.__doc__ or "").strip().splitlines()[0])
    sub.set_defaults(handler=handler)
    return sub


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv``, run the chosen handler and print its outcome; the exit code (also of
    a usage error or ``--help``)."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else REFUSED
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        outcome = args.handler(args)
        for warning in outcome.warnings if isinstance(outcome, Result) else ():
            print(f"warning: {warning}", file=sys.stderr)
        print(render(outcome, as_json=getattr(args, "json", False)), flush=True)
    except TracingError as exc:
        return fail(str(exc), REFUSED)
    except BrokenPipeError:  # the reader left (``| head``): not this command's failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return PIPE_CLOSED
    except OSError as exc:
        return fail(_os_error(exc), REFUSED)
    except KeyboardInterrupt:
        return fail("interrupted", INTERRUPTED)
    except Exception as exc:  # a bug or an unforeseen input: one line, never a traceback
        if verbose:
            logger.exception("unexpected failure")
        return fail(f"unexpected failure ({type(exc).__name__}: {exc}); nothing more was done. "
                    "Run with -v for the details and report it.", BUG)
    if isinstance(outcome, Result) and outcome.error:
        return fail(outcome.error, REFUSED)
    return 0


def fail(message: str, code: int) -> int:
    """Print ``message`` as one ``error:`` line on stderr; return ``code``."""
    parts = (part.strip() for part in message.splitlines())
    print(f"error: {'; '.join(p for p in parts if p)}", file=sys.stderr, flush=True)
    return code


def _os_error(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc) or type(exc).__name__


def render(outcome: object, *, as_json: bool) -> str:
    """The outcome for people (its ``str()``), or as JSON: a :class:`Result`'s data, a
    report's fields, a plain message as ``{"message": ...}``."""
    if not as_json:
        return str(outcome)
    data = outcome.data if isinstance(outcome, Result) else outcome
    if isinstance(data, str):
        data = {"message": data}
    return json.dumps(data, default=_plain, ensure_ascii=False, indent=2)


def _plain(value: object) -> object:
    """What :func:`json.dumps` cannot write itself as JSON data: dataclasses (their fields
    shown in ``repr``), mappings, sets, dates, paths and numpy scalars."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON objects (times in ISO 8601, missing values null)."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return rows


def table(frame: pd.DataFrame, empty: str) -> Result:
    """A table for people (``empty`` when it has no rows) and as JSON records."""
    text = frame.to_string(index=False) if not frame.empty else empty
    return Result(text, records(frame))


def existing(path: Path, what: str = "database") -> Path:
    """``path``, an existing file (a command that only reads or maintains a store must not
    create an empty one where a name was mistyped)."""
    if not Path(path).is_file():
        raise StoreError(f"{what} not found: {path}")
    return path


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event that SIGINT and SIGTERM set within the block (a service's clean stop; main
    thread only); the previous handlers come back after it."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT,
                                                                      signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
