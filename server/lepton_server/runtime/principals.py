"""Who is calling: the principal of the credential of the current call (spec/general.md,
"Principals"), for the `creator` of what the call creates (GEN-014), and the tenant the
credential belongs to ("Tenants"), whose resources alone the call sees."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass

from lepton_server.runtime.roles import DEFAULT_ROLES, parse_roles

# Set by the auth interceptor in the call's own task, so every handler of the call reads it;
# empty on a server without authentication.
_CALLER: ContextVar[str] = ContextVar("lepton_caller", default="")
# The same for the caller's tenant; "" is the deployment's default tenant, which every call
# belongs to on a server without tenants.
_TENANT: ContextVar[str] = ContextVar("lepton_tenant", default="")
DEFAULT_TENANT = ""
_TENANT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def current_principal() -> str:
    """The principal of the running call, or "" when the server requires no credentials."""
    return _CALLER.get()


def set_principal(principal: str) -> None:
    """Record the running call's principal (the auth interceptor does, once per call)."""
    _CALLER.set(principal)


def current_tenant() -> str:
    """The tenant of the running call's credential ("" for the default tenant)."""
    return _TENANT.get()


def set_tenant(tenant: str) -> None:
    """Record the running call's tenant (the auth check does, once per call)."""
    _TENANT.set(tenant)


def token_principal(token: str) -> str:
    """The principal of a token listed without one: `token:` and the first 12 hexadecimal
    digits of its SHA-256, so the token itself is never stored or shown (GEN-013)."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class TokenGrant:
    """What one token of the token file stands for: its principal, its roles and its tenant."""

    principal: str
    roles: frozenset[str] = DEFAULT_ROLES
    tenant: str = DEFAULT_TENANT


def load_token_file(lines: Iterable[str]) -> dict[str, TokenGrant]:
    """token -> what it grants, from a token file: one
    `TOKEN [PRINCIPAL] [roles=ROLE,...] [tenant=NAME]` per line (roles reader, writer, admin;
    admin when absent; the default tenant when no tenant is named); blank lines and lines
    starting with # are ignored. ValueError names a line it cannot read."""
    grants: dict[str, TokenGrant] = {}
    for number, line in enumerate(lines, start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        token, rest = words[0], words[1:]
        roles, tenant = DEFAULT_ROLES, DEFAULT_TENANT
        while rest and rest[-1].startswith(("roles=", "tenant=")):
            option, _, value = rest.pop().partition("=")
            try:
                if option == "roles":
                    roles = parse_roles(value)
                elif not _TENANT_NAME.match(value):
                    raise ValueError(
                        f"tenant {value!r} is not lowercase letters, digits and hyphens, "
                        "starting with a letter"
                    )
                else:
                    tenant = value
            except ValueError as exc:
                raise ValueError(f"line {number}: {exc}") from None
        # The rest of the line is the principal, spaces and all (as before roles existed).
        grants[token] = TokenGrant(" ".join(rest) or token_principal(token), roles, tenant)
    return grants


def internal_token(token_file: bytes, tenant: str) -> str:
    """The token a tenant's own layers call one another with (training registering its
    model): derived from the token file, so every process of a server agrees on it, and as
    secret as the file."""
    return hashlib.sha256(
        b"lepton internal token\0" + token_file + b"\0" + tenant.encode()
    ).hexdigest()
