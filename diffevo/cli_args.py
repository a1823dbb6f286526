"""Argument types and the parser of the ``diffevo`` command line: every bad option is refused up front.

Each type turns a command-line string into a checked value or raises ``argparse.ArgumentTypeError``;
:class:`Parser` reports that as one line naming the option (``diffevo: error: argument --popsize:
...``) and exits with status 2, before any work starts.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from .validation import check_device, check_writable


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block) and exit with status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


Number = TypeVar("Number", int, float)


def _number(kind: Callable[[str], Number], minimum: float | None, exclusive: bool,
            what: str) -> Callable[[str], Number]:
    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if minimum is not None and (value <= minimum if exclusive else value < minimum):
            raise argparse.ArgumentTypeError(f"must be {'>' if exclusive else '>='} {minimum:g}, got {text!r}")
        return value
    parse.__name__ = what      # argparse names the type in some messages
    return parse


positive_int = _number(int, 0, True, "a positive integer")
nonnegative_int = _number(int, 0, False, "an integer >= 0")
positive_float = _number(float, 0.0, True, "a positive number")
nonnegative_float = _number(float, 0.0, False, "a number >= 0")


def positive_int_list(text: str) -> list[int]:
    """'2,5,10' -> [2, 5, 10]; refuses empty lists and non-positive entries."""
    try:
        return [positive_int(t.strip()) for t in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers such as 2,5,10, "
                                         f"got {text!r}") from None


def name_list(text: str) -> list[str]:
    """'a,b' -> ['a', 'b']; refuses empty entries."""
    items = [t.strip() for t in text.split(",")]
    if any(not t for t in items):
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return items


def device(text: str) -> str:
    """A torch device string ('cpu', 'cuda:1', ...)."""
    try:
        check_device(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def writable_file(text: str) -> Path:
    """A file path that can be created or replaced (checked now, not after the run)."""
    try:
        return check_writable(text, "path")
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def writable_folder(text: str) -> Path:
    """A folder that exists or can be created, and can be written to."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a directory")
    try:
        check_writable(path / "probe", "folder")
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("/probe", "")) from None
    return path


def quiet_broken_pipe() -> None:
    """After a BrokenPipeError (``diffevo tasks | head``): silence stdout so Python's exit flush stays quiet."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
