"""Named things to scan: the built-in catalog and the user's saved profiles.

A name on the command line (`mailtui scan orange`, `mailtui scan work`) is
looked up here: saved profiles first, since a user who saved one under a
catalog name meant their own, then the catalog. `discover` (in
`mailtui.providers.discovery`) finds endpoints for a mail domain; it is
loaded lazily because it pulls in a DNS library that a plain scan never
needs.
"""

from __future__ import annotations

from typing import Any

from mailtui.providers.catalog import (
    CatalogError,
    Provider,
    UnknownName,
    find_provider,
    load_catalog,
    provider_for_domain,
    provider_for_mx,
)
from mailtui.providers.named import (
    is_plain_name,
    lookup,
    named_endpoints,
    named_options,
)
from mailtui.providers.profiles import (
    BrokenProfile,
    Profile,
    ProfileError,
    delete_profile,
    list_profiles,
    load_profile,
    save_profile,
)

__all__ = [
    "BrokenProfile",
    "CatalogError",
    "Discovery",
    "Found",
    "Profile",
    "ProfileError",
    "Provider",
    "UnknownName",
    "delete_profile",
    "discover",
    "find_provider",
    "is_plain_name",
    "list_profiles",
    "load_catalog",
    "load_profile",
    "lookup",
    "named_endpoints",
    "named_options",
    "provider_for_domain",
    "provider_for_mx",
    "save_profile",
]

_LAZY = {"discover", "Discovery", "Found", "DiscoveryError"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from mailtui.providers import discovery

        return getattr(discovery, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
