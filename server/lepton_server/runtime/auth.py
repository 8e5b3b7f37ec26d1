"""Bearer-token authentication (GEN-010, GEN-011, GEN-013)."""

from __future__ import annotations

import hmac
from collections.abc import Collection, Iterable, Mapping, Sequence

from lepton_server.runtime.error_mapping import Metadata, MethodCheck
from lepton_server.runtime.errors import PermissionDenied, Unauthenticated
from lepton_server.runtime.principals import set_principal, set_tenant, token_principal
from lepton_server.runtime.roles import DEFAULT_ROLES, granted, required_role

# Discovery must work before a client holds credentials (GEN-011).
OPEN_SERVICE_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/lepton.discovery.v1.DiscoveryService/",
)


def credentials_rejection(
    tokens: Sequence[bytes], authorization: str | bytes | None
) -> Unauthenticated | None:
    """Why an `authorization` header value (None when absent) does not carry one of `tokens`
    as a bearer token, or None when it does. Shared by the gRPC services and Arrow Flight."""
    if authorization is None:
        return Unauthenticated(
            reason="MISSING_CREDENTIALS",
            message="this method requires an 'authorization: Bearer <token>' header",
        )
    if isinstance(authorization, bytes):
        authorization = authorization.decode(errors="replace")
    scheme, _, token = authorization.partition(" ")
    presented = token.strip().encode()
    # compare_digest against every token keeps timing independent of which token matched.
    matched = [hmac.compare_digest(presented, known) for known in tokens]
    if scheme.lower() != "bearer" or not any(matched):
        return Unauthenticated(
            reason="INVALID_CREDENTIALS", message="the bearer token is not valid"
        )
    return None


def role_rejection(
    roles: frozenset[str], method: str, needed: str | None = None
) -> PermissionDenied | None:
    """Why a token of `roles` may not call `method`, which needs the role `needed` (by default
    the one its name says), or None when it may (GEN-015, GEN-016). Shared by the gRPC
    services and Arrow Flight."""
    needed = needed or required_role(method)
    if needed in granted(roles):
        return None
    return PermissionDenied(
        reason="PERMISSION_DENIED",
        message=f"{method.rsplit('/', 1)[-1]} needs the role {needed}, which the credential "
        f"does not hold (it holds {', '.join(sorted(roles))})",
        metadata={"required_role": needed},
    )


class BearerTokenCheck:
    """Requires `authorization: Bearer <token>` on every method outside OPEN_SERVICE_PREFIXES
    and the services named in `self_authenticating` (which check their callers themselves,
    see runtime/service_credentials.py), and a token whose roles grant the role the method
    needs. A CallCheck (runtime/error_mapping.py)."""

    def __init__(
        self,
        tokens: Collection[str],
        principals: Mapping[str, str] | None = None,
        self_authenticating: Iterable[str] = (),
        roles: Mapping[str, frozenset[str]] | None = None,
        tenants: Mapping[str, str] | None = None,
    ) -> None:
        if not tokens:
            raise ValueError("the token file holds no tokens")
        self._open = OPEN_SERVICE_PREFIXES + tuple(f"/{name}/" for name in self_authenticating)
        self._tokens = [t.encode() for t in tokens]
        principals = principals or {}
        # bytes of the token -> its principal (GEN-014), for the creator of what a call makes.
        self._principals = {t.encode(): principals.get(t) or token_principal(t) for t in tokens}
        roles = roles or {}
        self._roles = {t.encode(): roles.get(t, DEFAULT_ROLES) for t in tokens}
        # What each token may do, worked out once rather than on every call.
        self._granted = {token: granted(held) for token, held in self._roles.items()}
        tenants = tenants or {}
        self._tenants = {t.encode(): tenants.get(t, "") for t in tokens}

    def _rejection(self, metadata: Metadata) -> Unauthenticated | None:
        values = [v for k, v in metadata if k == "authorization"]
        return credentials_rejection(self._tokens, values[0] if values else None)

    def for_method(self, method: str) -> MethodCheck | None:
        if method.startswith(self._open):
            return None
        needed = required_role(method)  # once per method, not per call

        def check(metadata: Metadata) -> None:
            rejection = self._rejection(metadata)
            if rejection is not None:
                raise rejection
            token = _bearer_token(metadata)
            # Who is refused is known too (the audit log records it).
            set_principal(self._principals[token])
            set_tenant(self._tenants[token])
            if needed not in self._granted[token]:
                raise role_rejection(self._roles[token], method, needed)

        return check


def _bearer_token(metadata: Iterable[tuple[str, str | bytes]]) -> bytes:
    """The token of an `authorization` value the interceptor has accepted."""
    return bearer_token(next(v for k, v in metadata if k == "authorization"))


def bearer_token(authorization: str | bytes) -> bytes:
    """The token of an accepted `authorization: Bearer <token>` value. Shared by the gRPC
    services and Arrow Flight."""
    if isinstance(authorization, bytes):
        authorization = authorization.decode(errors="replace")
    return authorization.partition(" ")[2].strip().encode()
