"""Who is calling: the principal of the credential of the current call (spec/general.md,
"Principals"), for the `creator` of what the call creates (GEN-014)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass

from lepton_server.runtime.roles import DEFAULT_ROLES, parse_roles

# Set by the auth interceptor in the call's own task, so every handler of the call reads it;
# empty on a server without authentication.
_CALLER: ContextVar[str] = ContextVar("lepton_caller", default="")


def current_principal() -> str:
    """The principal of the running call, or "" when the server requires no credentials."""
    return _CALLER.get()


def set_principal(principal: str) -> None:
    """Record the running call's principal (the auth interceptor does, once per call)."""
    _CALLER.set(principal)


def token_principal(token: str) -> str:
    """The principal of a token listed without one: `token:` and the first 12 hexadecimal
    digits of its SHA-256, so the token itself is never stored or shown (GEN-013)."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class TokenGrant:
    """What one token of the token file stands for: its principal and its roles."""

    principal: str
    roles: frozenset[str] = DEFAULT_ROLES


def load_token_file(lines: Iterable[str]) -> dict[str, TokenGrant]:
    """token -> what it grants, from a token file: one `TOKEN [PRINCIPAL] [roles=ROLE,...]` per
    line (roles reader, writer, admin; admin when absent); blank lines and lines starting with
    # are ignored. ValueError names a line it cannot read."""
    grants: dict[str, TokenGrant] = {}
    for number, line in enumerate(lines, start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        token, rest = words[0], words[1:]
        roles = DEFAULT_ROLES
        if rest and rest[-1].startswith("roles="):
            try:
                roles = parse_roles(rest.pop().removeprefix("roles="))
            except ValueError as exc:
                raise ValueError(f"line {number}: {exc}") from None
        # The rest of the line is the principal, spaces and all (as before roles existed).
        grants[token] = TokenGrant(" ".join(rest) or token_principal(token), roles)
    return grants
