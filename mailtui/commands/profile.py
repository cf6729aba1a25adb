"""`mailtui profile`: list, show, save, edit and delete saved profiles.

Profiles and catalog providers share one namespace on the command line
(`mailtui scan NAME`), so `list --catalog` and `show` cover the catalog
too. Broken profile files are listed with their path and error rather
than hidden, and `edit` checks the file again after the editor closes.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from typing import TextIO

from mailtui.commands import EXIT_ERROR, EXIT_OK, UsageError
from mailtui.model import Endpoint
from mailtui.probe import ProbeOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Saved profiles: named sets of endpoints with their options, kept as "
        "TOML files you may edit. Scan one with `mailtui scan NAME`."
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list saved profiles")
    listing.add_argument(
        "--catalog", action="store_true", help="list the built-in providers too"
    )

    show = actions.add_parser("show", help="show a profile or a catalog provider")
    show.add_argument("name", metavar="NAME")

    save = actions.add_parser(
        "save", help="save targets (hosts, SERVICE://HOST:PORT, names) as a profile"
    )
    save.add_argument("name", metavar="NAME")
    save.add_argument("targets", nargs="*", metavar="TARGET")
    from mailtui.commands.scan import add_target_options

    add_target_options(save)
    save.add_argument("--notes", default="", help="free text kept with the profile")

    delete = actions.add_parser("delete", help="delete a saved profile")
    delete.add_argument("name", metavar="NAME")

    edit = actions.add_parser("edit", help="open a profile in $VISUAL or $EDITOR")
    edit.add_argument("name", metavar="NAME")

    actions.add_parser("path", help="print the directory profiles are kept in")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from mailtui.providers import ProfileError

    out = out or sys.stdout
    action = {
        "list": _list,
        "show": _show,
        "save": _save,
        "delete": _delete,
        "edit": _edit,
        "path": _path,
    }[args.action]
    try:
        return action(args, out)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None


def save_from_scan(name: str, endpoints: list[Endpoint], options: ProbeOptions) -> None:
    """`scan --save-profile`: save what is about to be scanned."""
    from mailtui.providers import Profile, ProfileError, save_profile

    try:
        path = save_profile(Profile.from_endpoints(name, endpoints, options))
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    print(f"mailtui: saved profile {name!r} to {path}", file=sys.stderr)


def _clean(text: str) -> str:
    """Hand-edited text, with control characters made visible."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _list(args: argparse.Namespace, out: TextIO) -> int:
    from mailtui.providers import list_profiles, load_catalog, paths

    profiles, broken = list_profiles()
    if profiles:
        width = max(len(p.name) for p in profiles)
        for profile in profiles:
            count = len(profile.endpoints())
            notes = _clean(profile.notes.splitlines()[0]) if profile.notes else ""
            out.write(f"{profile.name:<{width}}  {count:>3} endpoints  {notes}\n")
    elif not args.catalog:
        out.write(f"no saved profiles in {paths.profiles_dir()}\n")
    for bad in broken:
        print(f"mailtui: broken profile {_clean(str(bad))}", file=sys.stderr)
    if args.catalog:
        if profiles:
            out.write("\n")
        catalog = load_catalog()
        width = max(len(p.id) for p in catalog)
        for provider in catalog:
            aliases = (
                f" (also {', '.join(provider.aliases)})" if provider.aliases else ""
            )
            out.write(f"{provider.id:<{width}}  {provider.name}{aliases}\n")
    return EXIT_OK


def _show(args: argparse.Namespace, out: TextIO) -> int:
    from mailtui.providers import Profile, lookup

    found = lookup(args.name)
    if isinstance(found, Profile):
        out.write(f"profile {found.name}  ({found.path})\n")
        if found.notes:
            out.write(f"notes: {_clean(found.notes)}\n")
        options = found.options(ProbeOptions()).describe()
        for key in ("timeout", "deadline", "client_name", "ca_file", "resolve"):
            out.write(f"{key}: {_clean(str(options[key]))}\n")
        for endpoint in found.endpoints():
            out.write(f"  {endpoint.key}\n")
        return EXIT_OK
    out.write(f"provider {found.id}: {found.name}\n")
    if found.aliases:
        out.write(f"also called: {', '.join(found.aliases)}\n")
    if found.domains:
        out.write(f"mail domains: {', '.join(found.domains)}\n")
    out.write(f"source: {found.source} ({found.provenance})\n")
    if found.notes:
        out.write(f"notes: {found.notes}\n")
    for endpoint in found.endpoints():
        mark = ""
        if found.is_documented(endpoint):
            mark = "documented" if found.verified else "listed, not checked"
        out.write(f"  {endpoint.key:<40} {mark}\n".rstrip() + "\n")
    return EXIT_OK


def _save(args: argparse.Namespace, out: TextIO) -> int:
    from mailtui.commands.scan import endpoints_from_args, options_from_args
    from mailtui.providers import Profile, find_provider, save_profile

    options = options_from_args(args)
    endpoints = endpoints_from_args(args, options.resolve)
    profile = Profile.from_endpoints(args.name, endpoints, options, notes=args.notes)
    path = save_profile(profile)
    out.write(
        f"saved profile {profile.name!r} ({_endpoints(len(endpoints))}) to {path}\n"
    )
    try:
        provider = find_provider(args.name)
    except LookupError:
        return EXIT_OK
    print(
        f"mailtui: note: `mailtui scan {args.name}` now scans this profile, "
        f"not the catalog's {provider.name}",
        file=sys.stderr,
    )
    return EXIT_OK


def _delete(args: argparse.Namespace, out: TextIO) -> int:
    from mailtui.providers import delete_profile

    path = delete_profile(args.name)
    out.write(f"deleted {path}\n")
    return EXIT_OK


def _edit(args: argparse.Namespace, out: TextIO) -> int:
    from mailtui.providers import ProfileError, UnknownName
    from mailtui.providers.profiles import profile_path, read_profile

    try:
        path = profile_path(args.name)
    except UnknownName:
        raise UsageError(
            f"no saved profile named {args.name!r}; create it with "
            f"`mailtui profile save {args.name} HOST`"
        ) from None
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        done = subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as exc:
        raise UsageError(
            f"cannot run editor {editor!r}: {exc.strerror or exc}"
        ) from None
    if done.returncode != 0:
        raise UsageError(
            f"editor {editor!r} exited with status {done.returncode}; "
            f"{path} is as the editor left it"
        )
    try:
        profile = read_profile(path)
    except ProfileError as exc:
        print(f"mailtui: the profile is now broken: {exc}", file=sys.stderr)
        return EXIT_ERROR
    count = len(profile.endpoints())
    out.write(f"profile {profile.name!r} is valid ({_endpoints(count)})\n")
    return EXIT_OK


def _path(args: argparse.Namespace, out: TextIO) -> int:
    from mailtui.providers import paths

    out.write(f"{paths.profiles_dir()}\n")
    return EXIT_OK


def _endpoints(count: int) -> str:
    return "1 endpoint" if count == 1 else f"{count} endpoints"
