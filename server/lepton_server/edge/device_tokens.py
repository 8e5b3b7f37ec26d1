"""The secrets devices hold (spec/edge.md 2.1, "Credentials"): single-use bootstrap tokens
that bind a device key, and the short-lived access tokens Register issues, which every
DeviceAgentService call but CreateRegistrationChallenge and Register needs (EDG-026) and
EdgeService refuses (EDG-010). The server keeps only their SHA-256 hashes."""

from __future__ import annotations

import secrets

from lepton_server.aip.standard_fields import now_ns
from lepton_server.edge.fleet_database import FleetDatabase, secret_hash
from lepton_server.runtime.errors import PermissionDenied, Unauthenticated

BOOTSTRAP_PREFIX = "lepton-bootstrap-"
ACCESS_PREFIX = "lepton-device-"
# The DeviceAgentService methods whose credentials are in the request, not the metadata.
OPEN_METHODS = ("CreateRegistrationChallenge", "Register")


def _bearer(authorization: str | None) -> str | None:
    """The token of an `authorization: Bearer <token>` value, or None."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class DeviceTokens:
    """Issues and checks bootstrap and access tokens."""

    def __init__(self, db: FleetDatabase, access_token_ttl_ns: int) -> None:
        self.db = db
        self.access_token_ttl_ns = access_token_ttl_ns

    # --- bootstrap tokens --------------------------------------------------------------------

    def issue_bootstrap(self, device: str, ttl_ns: int, now: int) -> tuple[str, int]:
        """A new bootstrap token for `device` and its expiry (ns). Earlier unused tokens of the
        device stop being valid (IssueBootstrapToken)."""
        token = BOOTSTRAP_PREFIX + secrets.token_urlsafe(32)
        with self.db.atomic():
            self.db.delete_bootstrap_tokens(device)
            self.db.add_bootstrap_token(secret_hash(token), device, now + ttl_ns)
        return token, now + ttl_ns

    def bootstrap_device(self, token: str, now: int) -> str | None:
        """The device a valid (known, unused, unexpired) bootstrap token names, or None."""
        if not token:
            return None
        found = self.db.bootstrap_token(secret_hash(token))
        if found is None or found[1] <= now:
            return None
        return found[0]

    def consume_bootstrap(self, device: str) -> None:
        """The device's bootstrap token was used: it, and any other of the device, is spent."""
        self.db.delete_bootstrap_tokens(device)

    # --- access tokens -----------------------------------------------------------------------

    def issue_access(self, device: str, now: int) -> tuple[str, int]:
        """A new access token for `device` and its expiry (ns)."""
        token = ACCESS_PREFIX + secrets.token_urlsafe(32)
        expire = now + self.access_token_ttl_ns
        self.db.add_access_token(secret_hash(token), device, expire, now)
        return token, expire

    def revoke(self, device: str) -> None:
        """Every access token of `device` stops being valid at once."""
        self.db.revoke_access_tokens(device)

    def authenticate(self, method: str, authorization: str | None) -> str:
        """HostedService.authenticate of DeviceAgentService: the calling device's name, ""
        for the methods that need no token; else UNAUTHENTICATED (EDG-026)."""
        if method.rsplit("/", 1)[-1] in OPEN_METHODS:
            return ""
        token = _bearer(authorization)
        if authorization is None:
            raise Unauthenticated(
                reason="MISSING_CREDENTIALS",
                message="this method requires 'authorization: Bearer <access token>' from Register",
            )
        found = None if not token else self.db.access_token(secret_hash(token))
        if found is None or found[1] <= now_ns():
            raise Unauthenticated(
                reason="INVALID_CREDENTIALS",
                message="the access token is unknown, expired or revoked; call Register again",
            )
        return found[0]

    def refuse_on_fleet(self, authorization: str | None) -> None:
        """HostedService.refuse of EdgeService: PERMISSION_DENIED for a device access token,
        valid, expired or revoked (EDG-010). Access tokens are told by their prefix, so the
        check costs no lookup."""
        token = _bearer(authorization)
        if token and token.startswith(ACCESS_PREFIX):
            raise PermissionDenied(
                reason="PERMISSION_DENIED",
                message="device access tokens are valid for DeviceAgentService only",
            )
