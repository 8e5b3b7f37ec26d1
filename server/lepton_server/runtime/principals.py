"""Who is calling: the principal of the credential of the current call (spec/general.md,
"Principals"), for the `creator` of what the call creates (GEN-014)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextvars import ContextVar

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


def load_token_file(lines: Iterable[str]) -> dict[str, str]:
    """token -> principal from a token file: one `TOKEN [PRINCIPAL]` per line; blank lines and
    lines starting with # are ignored."""
    principals: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        token, _, principal = line.partition(" ")
        principals[token] = principal.strip() or token_principal(token)
    return principals
