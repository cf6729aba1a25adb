"""Names on the command line: which ones mean a profile or a provider.

`mailtui scan orange` must scan the catalog's Orange, yet `orange` is also
a valid (single-label) host name, and `mailtui scan mailhost` on an
intranet must still scan the host. The rule: a target without a dot, a
colon or a slash is a name; a name that is a saved profile or a catalog
provider is that; a name close to one (`gmial`) is an error that offers
the match; anything else is a host. A trailing dot (`mailhost.`) always
means the host.
"""

from __future__ import annotations

import contextlib

from mailtui.model import Endpoint
from mailtui.probe import ProbeOptions
from mailtui.providers import paths
from mailtui.providers.catalog import (
    Provider,
    UnknownName,
    _index,
    close_names,
    find_provider,
    name_key,
)
from mailtui.providers.profiles import (
    Profile,
    ProfileError,
    _files,
    load_profile,
)
from mailtui.targets import TargetError


def is_plain_name(text: str) -> bool:
    """True for text that can only be a name or a single-label host."""
    stripped = text.strip()
    return bool(stripped) and not any(ch in stripped for ch in ".:/[]@")


def lookup(name: str) -> Provider | Profile:
    """The saved profile, else the catalog provider, called `name`.

    Raises:
        UnknownName: neither has that name; the closest of both are offered.
        ProfileError: a profile file of that name exists but is broken.
    """
    try:
        return load_profile(name)
    except UnknownName:
        pass
    try:
        return find_provider(name)
    except UnknownName:
        pass
    suggestions = close_names(name, _all_names())
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownName(f"no profile or provider named {name!r}{hint}", suggestions)


def _all_names() -> dict[str, str]:
    names = {key: provider.id for key, provider in _index().items()}
    # An unreadable profile directory hides only the profile names.
    with contextlib.suppress(OSError):
        names |= {name_key(p.stem): p.stem for p in _files(paths.profiles_dir())}
    return names


def _resolve_name(target: str) -> Provider | Profile | None:
    """What a plain-name target means, or None when it is just a host."""
    name = target.strip()
    if not is_plain_name(name):
        return None
    try:
        return lookup(name)
    except UnknownName as exc:
        if not exc.suggestions or name.casefold() == "localhost":
            return None
        closest = ", ".join(exc.suggestions)
        raise TargetError(
            f"no profile or provider named {name!r} (closest: {closest}); "
            f"to scan a host of that name, write {name + '.'!r}"
        ) from None


def named_endpoints(targets: list[str]) -> tuple[list[Endpoint], list[str]]:
    """Split targets into the endpoints of named ones and the rest.

    Raises:
        TargetError: a name is close to a known one, or names a broken or
            unusable profile.
    """
    endpoints: list[Endpoint] = []
    rest: list[str] = []
    for target in targets:
        try:
            found = _resolve_name(target)
            if found is None:
                rest.append(target)
            else:
                endpoints += found.endpoints()
        except ProfileError as exc:
            raise TargetError(str(exc)) from None
    return endpoints, rest


def named_options(targets: list[str], base: ProbeOptions) -> ProbeOptions:
    """`base` with the options of every saved profile among `targets`."""
    options = base
    for target in targets:
        try:
            found = _resolve_name(target)
        except ProfileError as exc:
            raise TargetError(str(exc)) from None
        if isinstance(found, Profile):
            if found.ca_file is not None:
                from mailtui import certs

                # Raises CaFileError with a message naming the file.
                certs.load_ca_file(found.ca_file)
            options = found.options(options)
    return options
