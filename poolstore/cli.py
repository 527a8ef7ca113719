"""The ``poolstore`` command line: manage stores, profiles and pools from a shell.

::

    poolstore [--store URL] [--storage-option KEY=VALUE]... [--json] [--debug] COMMAND
    poolstore profiles list|create|rename|delete|duplicate|export|import|copy|move ...
    poolstore pool list|add|rm|label|select ...
    poolstore check [--fix] [--adopt]
    poolstore serve [--host H] [--port N] ...   (the standalone web page, contributed by the pack)

The store is ``--store``, else ``$POOLSTORE_URL``, else ``./grid_pool``.
Common options (``--store``, ``--storage-option``, ``--json``, ``--quiet``,
``--debug``) are accepted before or after any command, ``serve`` included, and
storage options are read by one parser (:func:`parse_storage_options`).
Commands other packages contribute (``serve``) are found through an entry
point group (see :mod:`poolstore._cli_contributed`) and imported only when
used or when help is asked for. Exit
status is 0 on success, 1 on an error (one line on stderr; ``--debug`` shows
the traceback), 2 on a usage error (a malformed ``KEY=VALUE`` included).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint
from typing import Any, NoReturn

from . import _cli_commands as commands
from . import _cli_contributed as contributed
from ._cli_options import parse_storage_options, storage_option_arg
from .errors import PoolStoreError
from .ids import escape_unprintable

__all__ = ["main", "build_parser", "parse_storage_options", "DEFAULT_STORE_URL"]

DEFAULT_STORE_URL = "./grid_pool"
ENV_URL = "POOLSTORE_URL"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = _parse(argv)
        _setup_logging(args.debug)
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("poolstore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if debug:
            raise
        print(f"poolstore: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _parse(argv: list[str]) -> argparse.Namespace:
    """The arguments, with the storage options given before and after the command
    parsed into one ``storage_options`` dict and the store URL resolved."""
    asks_help = "-h" in argv or "--help" in argv
    parser = build_parser(load=lambda name: asks_help or name in argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "takes_anything", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.storage_option = [*args.storage_option, *getattr(args, "storage_option_after", [])]
    try:
        args.storage_options = parse_storage_options(args.storage_option)
    except ValueError as exc:
        parser.error(str(exc))
    args.store_url = args.store or os.environ.get(ENV_URL) or DEFAULT_STORE_URL
    return args


def _one_line(exc: BaseException) -> str:
    text = escape_unprintable(" ".join(str(exc).split()))
    known = type(exc).__module__.split(".")[0] in ("poolstore", "backends") or isinstance(exc, OSError)
    if not text:
        return type(exc).__name__
    return text if known else f"{type(exc).__name__}: {text}"


class _SafeFormatter(logging.Formatter):
    """Log lines without characters a terminal would act on (see :func:`escape_unprintable`)."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(escape_unprintable(line) for line in super().format(record).split("\n"))


def _setup_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SafeFormatter("poolstore: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])
    if not debug:
        for noisy in ("botocore", "aiobotocore", "s3fs", "fsspec", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


# -- the parser ----------------------------------------------------------------------
def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options every command takes, before or after it. After the command they
    do not reset the ones given before; storage options given in both places
    are kept (``storage_option_after``, merged by :func:`main`)."""
    default = (lambda value: value) if top else (lambda value: argparse.SUPPRESS)
    group = parser.add_argument_group("store and output")
    group.add_argument("--store", metavar="URL", default=default(None),
                       help=f"store URL (default: ${ENV_URL}, else {DEFAULT_STORE_URL})")
    group.add_argument("--storage-option", "-o", metavar="KEY=VALUE", action="append", type=storage_option_arg,
                       dest="storage_option" if top else "storage_option_after", default=default([]),
                       help="fsspec storage option for the store (repeatable)")
    group.add_argument("--json", action="store_true", default=default(False), help="machine-readable output")
    group.add_argument("--quiet", "-q", action="store_true", default=default(False), help="no progress bars")
    group.add_argument("--debug", action="store_true", default=default(False), help="show tracebacks")


def build_parser(*, load: Callable[[str], bool] = lambda name: False) -> argparse.ArgumentParser:
    """The argument parser. Each contributed command whose name ``load``
    accepts is imported, its options added; the others are listed by name."""
    parser = _Parser(prog="poolstore", description="Manage image pools and pool profiles on any store.")
    _add_common(parser, top=True)
    groups = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    common = _Parser(add_help=False)
    _add_common(common, top=False)
    commands.add_profiles(groups, common)
    commands.add_pool(groups, common)
    commands.add_check(groups, common)
    for name, entry in sorted(contributed.contributed().items()):
        if name not in groups.choices:  # the command line's own commands come first
            _add_contributed(groups, common, entry, load=load(name))
    return parser


def _add_contributed(groups: Any, common: argparse.ArgumentParser, entry: EntryPoint, *, load: bool) -> None:
    """The contributed command ``entry``: with its options when loaded; else
    (not loaded, or not installed) one that takes anything, so that running
    it says why it is not available."""
    command, problem = contributed.load(entry) if load else (None, None)
    if command is None:
        p = groups.add_parser(entry.name, parents=[common], help=problem and f"(not available: {problem})")
        p.set_defaults(handler=lambda args: _unavailable(entry.name, problem), takes_anything=True)
        return
    p = groups.add_parser(entry.name, parents=[common], help=command.HELP, description=command.HELP)
    command.add_arguments(p)
    p.set_defaults(handler=command.run)


def _unavailable(name: str, problem: str | None) -> int:
    raise PoolStoreError(problem or f"the {name} command is not available")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
