"""The ``poolstore`` command line: manage stores, profiles and pools from a shell.

::

    poolstore [--store URL] [--storage-option KEY=VALUE]... [--json] [--debug] COMMAND
    poolstore profiles list|create|rename|delete|duplicate|export|import|copy|move ...
    poolstore pool list|add|rm|label|select ...
    poolstore check [--fix] [--adopt]
    poolstore serve [--host H] [--port N] ...   (the standalone web page, from comfy_nodes.serve)

The store is ``--store``, else ``$POOLSTORE_URL``, else ``./grid_pool``.
Common options (``--store``, ``--storage-option``, ``--json``, ``--quiet``,
``--debug``) are accepted before or after any command, ``serve`` included, and
storage options are read by one parser (:func:`parse_storage_options`). Exit
status is 0 on success, 1 on an error (one line on stderr; ``--debug`` shows
the traceback), 2 on a usage error (a malformed ``KEY=VALUE`` included).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from . import _cli_commands as commands
from ._cli_options import parse_storage_options, storage_option_arg
from ._layers import import_layer
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
    parser = build_parser(serve="serve" in argv)
    args = parser.parse_args(argv)
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


def build_parser(*, serve: bool = False) -> argparse.ArgumentParser:
    """The argument parser. ``serve`` loads the web server's own options."""
    parser = _Parser(prog="poolstore", description="Manage image pools and pool profiles on any store.")
    _add_common(parser, top=True)
    groups = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    common = _Parser(add_help=False)
    _add_common(common, top=False)
    commands.add_profiles(groups, common)
    commands.add_pool(groups, common)
    commands.add_check(groups, common)
    _add_serve(groups, common, load=serve)
    return parser


_SERVE_HELP = "run the standalone pool browser (web page)"


def _add_serve(groups: Any, common: argparse.ArgumentParser, *, load: bool) -> None:
    """``serve`` takes the common options and those of the web server module
    (``add_arguments``; it runs with ``run``), which is imported only when used."""
    module, problem = _serve_module() if load else (None, None)
    p = groups.add_parser("serve", parents=[common], help=_SERVE_HELP, description=_SERVE_HELP)
    if module is None:
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        p.set_defaults(handler=lambda args: _serve_missing(problem))
        return
    module.add_arguments(p)
    p.set_defaults(handler=module.run)


def _serve_module() -> tuple[Any, str | None]:
    """The web server module (``comfy_nodes.serve``) if it is installed, else ``(None, why)``."""
    try:
        module = import_layer("comfy_nodes.serve")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.endswith(("comfy_nodes", "comfy_nodes.serve")):
            return None, "the web server (comfy_nodes.serve) is not part of this installation"
        return None, f"the web server needs the missing module {exc.name!r}"
    return module, None


def _serve_missing(problem: str | None) -> int:
    raise PoolStoreError(problem or "the web server is not available")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
