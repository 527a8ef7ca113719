"""The ``poolstore`` subcommands: parsers and handlers (see :mod:`poolstore.cli`).

Every handler takes the parsed arguments (with ``store_url`` and
``storage_options`` resolved) and returns the exit status; errors propagate
to :func:`poolstore.cli.main`, which prints them on one line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from ._cli_options import parse_storage_options, storage_option_arg
from ._layers import Store, backends
from .archive import export_profile, import_profile, safe_zip_filename
from .check import find_orphans, fix_orphans
from .errors import InvalidInputError, NameTakenError, ProfileNotFoundError
from .ids import ID_PATTERN, UNPRINTABLE, escape_unprintable, new_id
from .pool import Pool
from .progress import Progress, TerminalBar, format_bytes
from .registry import Registry
from .transfer import copy_profile

__all__ = ["add_profiles", "add_pool", "add_check"]


# -- helpers -------------------------------------------------------------------------
@contextlib.contextmanager
def _store(args: argparse.Namespace) -> Iterator[Store]:
    store = backends.open_store(args.store_url, args.storage_options)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def _progress(args: argparse.Namespace, label: str) -> Iterator[Progress | None]:
    """A terminal progress bar when stdout is a terminal (and not ``--json``/``--quiet``)."""
    if args.json or args.quiet or not sys.stdout.isatty():
        yield None
        return
    bar = TerminalBar(label)
    try:
        yield bar
    finally:
        bar.close()


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str | list[str]) -> int:
    """Print ``data`` as JSON (``--json``), else ``text``; either way without
    characters a terminal would act on (labels and names may come from a store
    someone else wrote): text shows them as escapes, JSON as ``\\uXXXX``."""
    if args.json:
        print(UNPRINTABLE.sub(_json_escape, json.dumps(data, ensure_ascii=False)))
    else:
        lines = [text] if isinstance(text, str) else text
        print("\n".join(escape_unprintable(line) for line in lines))
    return 0


def _json_escape(match: re.Match[str]) -> str:
    """A JSON string escape for one character (a surrogate pair above U+FFFF)."""
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _date(stamp: Any) -> str:
    try:
        return datetime.datetime.fromtimestamp(int(stamp)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, OverflowError, OSError):
        return "-"


def _entry_text(verb: str, entry: dict[str, Any]) -> str:
    return f"{verb} profile {entry['name']!r} (id {entry['id']})"


def _pool_id(store: Store, ref: str) -> str:
    """A profile (by id or name) or an unregistered pool (by id) that exists."""
    try:
        return Registry(store).find(ref)["id"]
    except ProfileNotFoundError:
        if ID_PATTERN.fullmatch(ref) and Pool(store, ref).exists():
            return ref
        raise ProfileNotFoundError(f"no profile or pool named {ref[:80]!r}") from None


def _slot(text: str) -> int | str:
    """An index (ASCII digits) or else an image name."""
    return int(text) if text.isascii() and text.isdigit() else text


def _parser(groups: Any, common: argparse.ArgumentParser, name: str, help: str, handler: Callable) -> Any:
    p = groups.add_parser(name, parents=[common], help=help, description=help)
    p.set_defaults(handler=handler)
    return p


# -- profiles ------------------------------------------------------------------------
def add_profiles(groups: Any, common: argparse.ArgumentParser) -> None:
    """``poolstore profiles ...``."""
    top = groups.add_parser("profiles", help="list and manage named profiles")
    sub = top.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(top))
    _parser(sub, common, "list", "list the profiles of the store", _profiles_list)
    p = _parser(sub, common, "create", "create an empty profile", _profiles_create)
    p.add_argument("name")
    p = _parser(sub, common, "rename", "rename a profile", _profiles_rename)
    p.add_argument("profile", help="profile name or id")
    p.add_argument("name", help="the new name")
    p = _parser(sub, common, "delete", "delete a profile and its images", _profiles_delete)
    p.add_argument("profile", help="profile name or id")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p = _parser(sub, common, "duplicate", "copy a profile inside the store", _profiles_duplicate)
    p.add_argument("profile", help="profile name or id")
    p.add_argument("--name", help="name of the copy (default: the same; a taken name gets ' (2)')")
    p = _parser(sub, common, "export", "write a profile as a portable zip", _profiles_export)
    p.add_argument("profile", help="profile name or id")
    p.add_argument("--output", "-O", metavar="PATH", help="zip file to write, '-' for stdout (default: <name>.zip)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p = _parser(sub, common, "import", "import a profile zip as a new profile", _profiles_import)
    p.add_argument("zip", help="path of the zip")
    p.add_argument("--name", help="name of the new profile (default: the one in the zip)")
    for action, move in (("copy", False), ("move", True)):
        what = "move a profile to another store (deleting it here)" if move else "copy a profile to another store"
        p = _parser(sub, common, action, what, _profiles_copy)
        p.set_defaults(move=move)
        p.add_argument("profile", help="profile name or id")
        p.add_argument("--to", required=True, metavar="URL", help="the destination store")
        p.add_argument("--to-storage-option", metavar="KEY=VALUE", action="append", default=[],
                       type=storage_option_arg, help="storage option for the destination (repeatable)")
        p.add_argument("--name", help="name in the destination (default: the same)")
        p.add_argument("--workers", type=int, default=4, help="objects copied at once (default 4)")


def _profiles_list(args: argparse.Namespace) -> int:
    with _store(args) as store:
        entries = Registry(store).list()
    lines = [f"{e['id']:<34} {_date(e['created']):<16} {e['name']}" for e in entries]
    return _emit(args, {"profiles": entries}, lines or "no profiles")


def _profiles_create(args: argparse.Namespace) -> int:
    with _store(args) as store:
        entry = Registry(store).create(new_id(), args.name)
    return _emit(args, {"profile": entry}, _entry_text("created", entry))


def _profiles_rename(args: argparse.Namespace) -> int:
    with _store(args) as store:
        registry = Registry(store)
        entry = registry.rename(registry.find(args.profile)["id"], args.name)
    return _emit(args, {"profile": entry}, _entry_text("renamed", entry))


def _profiles_delete(args: argparse.Namespace) -> int:
    with _store(args) as store:
        registry = Registry(store)
        entry = registry.find(args.profile)
        if not args.yes and sys.stdin.isatty() and sys.stdout.isatty():
            answer = input(f"delete profile {entry['name']!r} and all its images? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise InvalidInputError("not deleted")
        registry.delete(entry["id"])
    return _emit(args, {"deleted": entry}, _entry_text("deleted", entry))


def _profiles_duplicate(args: argparse.Namespace) -> int:
    with _store(args) as store, _progress(args, "duplicate") as progress:
        source = Registry(store).find(args.profile)["id"]
        entry = copy_profile(store, source, store, new_id=new_id(), name=args.name, progress=progress)
    return _emit(args, {"profile": entry}, _entry_text("created", entry))


def _profiles_export(args: argparse.Namespace) -> int:
    with _store(args) as store:
        entry = Registry(store).find(args.profile)
        if args.output == "-":
            if sys.stdout.isatty():
                raise InvalidInputError("refusing to write a zip to a terminal; use --output FILE")
            export_profile(store, entry["id"], sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return 0
        path = args.output or safe_zip_filename(entry["name"])
        if os.path.exists(path) and not args.force:
            raise NameTakenError(f"{path} exists already (use --force to replace it)")
        with _progress(args, "export") as progress:
            written = _export_to_file(store, entry["id"], path, progress)
    data = {"profile": entry, "path": os.path.abspath(path), "bytes": written}
    return _emit(args, data, f"exported {entry['name']!r} to {path} ({format_bytes(written)})")


def _export_to_file(store: Store, profile_id: str, path: str, progress: Progress | None) -> int:
    """Export into ``path`` through a temporary file: a failure leaves no zip."""
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with open(tmp, "wb") as f:
            written = export_profile(store, profile_id, f, progress=progress)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return written


def _profiles_import(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.zip):
        raise InvalidInputError(f"no file {args.zip!r}")
    with _store(args) as store, _progress(args, "import") as progress:
        entry = import_profile(store, args.zip, new_id=new_id(), name=args.name, progress=progress)
    return _emit(args, {"profile": entry}, _entry_text("imported", entry))


def _profiles_copy(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise InvalidInputError("--workers must be at least 1")
    dst_options = parse_storage_options(args.to_storage_option)
    with _store(args) as src, contextlib.closing(backends.open_store(args.to, dst_options)) as dst:
        entry = Registry(src).find(args.profile)
        with _progress(args, "move" if args.move else "copy") as progress:
            made = copy_profile(src, entry["id"], dst, new_id=new_id(), name=args.name, move=args.move,
                                progress=progress, max_workers=args.workers)
        where = backends.redact_url(args.to)
    verb = "moved" if args.move else "copied"
    data = {"profile": made, "source": entry, "to": where, "moved": args.move}
    return _emit(args, data, f"{verb} {entry['name']!r} to {where} as {made['name']!r} (id {made['id']})")


# -- pool ----------------------------------------------------------------------------
def add_pool(groups: Any, common: argparse.ArgumentParser) -> None:
    """``poolstore pool ...``: the images of one profile (or unregistered pool)."""
    top = groups.add_parser("pool", help="list and change the images of a profile or pool")
    sub = top.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(top))
    p = _parser(sub, common, "list", "list the slots of a pool", _pool_list)
    p.add_argument("pool", help="profile name or id, or a pool id")
    p = _parser(sub, common, "add", "add image files to a pool", _pool_add)
    p.add_argument("pool", help="profile name or id, or a pool id")
    p.add_argument("files", nargs="+", metavar="IMAGE")
    p.add_argument("--label", action="append", default=[], help="label of the next image (repeatable, in order)")
    p = _parser(sub, common, "rm", "remove a slot (by index or image name)", _pool_rm)
    p.add_argument("pool", help="profile name or id, or a pool id")
    p.add_argument("slot", help="index (0 = first) or image name")
    p = _parser(sub, common, "label", "set the label of a slot", _pool_label)
    p.add_argument("pool", help="profile name or id, or a pool id")
    p.add_argument("slot", help="index (0 = first) or image name")
    p.add_argument("label", help="the label ('' to clear)")
    p = _parser(sub, common, "select", "make a slot the active one", _pool_select)
    p.add_argument("pool", help="profile name or id, or a pool id")
    p.add_argument("slot", help="index (0 = first) or image name")


def _slot_lines(manifest: dict[str, Any]) -> list[str]:
    lines = []
    for i, s in enumerate(manifest["slots"]):
        mark = "*" if i == manifest["active"] else " "
        mask = s.get("mask") or "-"
        lines.append(f"{mark}{i:>4}  {s['image']:<24} {mask:<32} {s.get('label', '')}")
    return lines or ["empty pool"]


def _pool_doc(pool_id: str, manifest: dict[str, Any]) -> dict[str, Any]:
    return {"pool_id": pool_id, "active": manifest["active"], "count": len(manifest["slots"]), "slots": manifest["slots"]}


def _pool_list(args: argparse.Namespace) -> int:
    with _store(args) as store:
        pool_id = _pool_id(store, args.pool)
        manifest = Pool(store, pool_id).read()
    return _emit(args, _pool_doc(pool_id, manifest), _slot_lines(manifest))


def _pool_add(args: argparse.Namespace) -> int:
    for path in args.files:
        if not os.path.isfile(path):
            raise InvalidInputError(f"no file {path!r}")
    with _store(args) as store:
        pool_id = _pool_id(store, args.pool)
        names = Pool(store, pool_id).add([pathlib.Path(p) for p in args.files], args.label)  # read one at a time
    return _emit(args, {"pool_id": pool_id, "added": names}, [f"added {n}" for n in names])


def _pool_change(args: argparse.Namespace, change: Callable[[Pool], dict[str, Any]]) -> int:
    with _store(args) as store:
        pool = Pool(store, _pool_id(store, args.pool))
        manifest = change(pool)
    return _emit(args, _pool_doc(pool.id, manifest), _slot_lines(manifest))


def _pool_rm(args: argparse.Namespace) -> int:
    return _pool_change(args, lambda pool: pool.remove(_slot(args.slot)))


def _pool_label(args: argparse.Namespace) -> int:
    return _pool_change(args, lambda pool: pool.set_label(_slot(args.slot), args.label))


def _pool_select(args: argparse.Namespace) -> int:
    return _pool_change(args, lambda pool: pool.set_active(_slot(args.slot)))


# -- check ---------------------------------------------------------------------------
def add_check(groups: Any, common: argparse.ArgumentParser) -> None:
    """``poolstore check``: what interrupted operations left behind."""
    p = _parser(groups, common, "check", "list (and with --fix clear) what interrupted operations left", _check)
    p.add_argument("--fix", action="store_true",
                   help="remove orphans, finish interrupted deletes, restore partial pools; "
                        "images a manifest names are kept")
    p.add_argument("--adopt", action="store_true", help="register orphan profiles instead of removing them (implies --fix)")
    p.add_argument("--min-age", type=float, default=600.0, metavar="SECONDS",
                   help="only count loose files older than this (default 600), so work in progress is left alone")


def _check(args: argparse.Namespace) -> int:
    with _store(args) as store:
        safe = store.concurrent_writes_safe
        orphans = find_orphans(store, min_age=args.min_age)
        fixed = fix_orphans(store, orphans, adopt=args.adopt) if args.fix or args.adopt else []
    lines = [] if safe else [f"warning: {store.url} ignores conditional writes; concurrent edits can be lost"]
    for o in orphans:
        done = f" ({o.action(adopt=args.adopt)})" if o in fixed else ""
        lines.append(f"{o.kind:<8} {o.key:<40} {format_bytes(o.size):>10}  {o.name or ''}{done}".rstrip())
    if not orphans:
        lines.append("no orphans")
    data = {
        "store": store.url,
        "concurrent_writes_safe": safe,
        "orphans": [o.as_dict() for o in orphans],
        "fixed": [{**o.as_dict(), "action": o.action(adopt=args.adopt)} for o in fixed],
    }
    return _emit(args, data, lines)
