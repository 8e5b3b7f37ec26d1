"""Roles (spec/general.md, "Roles"): what each operator credential may do, and which role each
method needs (GEN-015, GEN-016).

A method's role follows from its verb, the way the standard names methods (AIP-131..136):
reading verbs need `reader`, the few that change what the whole server or fleet trusts or
serves need `admin`, and every other verb `writer`. A verb this table does not know needs
`writer`, so a method added later is never open to readers by mistake."""

from __future__ import annotations

import re
from collections.abc import Iterable

READER, WRITER, ADMIN, DEVICE = "reader", "writer", "admin", "device"
# What each role an operator token may hold grants, itself included.
GRANTS = {
    READER: frozenset({READER}),
    WRITER: frozenset({READER, WRITER}),
    ADMIN: frozenset({READER, WRITER, ADMIN}),
}
# A token listed without roles: it may do everything an operator may (the token file of a
# server before roles existed keeps its meaning).
DEFAULT_ROLES = frozenset({ADMIN})

# Verbs that change nothing: a read, a watch, a download, a computation over what is stored.
READ_VERBS = frozenset(
    {"Get", "List", "Watch", "Read", "Download", "Stream", "Compute", "Validate", "Stat"}
)
# Methods that are not reads although their verb does not say so, or reads by another name.
READ_METHODS = frozenset(
    {
        # The inference data plane: an inference reads a model; it stores nothing.
        "ModelInfer",
        "ModelStreamInfer",
        "ModelMetadata",
        "ModelReady",
        "ModelStatistics",
        "ServerLive",
        "ServerReady",
        "ServerMetadata",
        "RepositoryIndex",
        # A ticket to read a version over Arrow Flight.
        "IssueFlightTicket",
    }
)
# Methods that change what the whole server serves or what the fleet trusts.
ADMIN_METHODS = frozenset(
    {
        "RepositoryModelLoad",
        "RepositoryModelUnload",
        "IssueBootstrapToken",
        "ApproveDevice",
        "RejectDevice",
        "DecommissionDevice",
        # The audit log says who did what to everything.
        "ListAuditEvents",
    }
)
_VERB = re.compile(r"[A-Z][a-z]*")


def required_role(method: str) -> str:
    """The role a call of `method` ("/package.Service/Method" or "Method") needs."""
    name = method.rsplit("/", 1)[-1]
    if name in ADMIN_METHODS:
        return ADMIN
    verb = _VERB.match(name)
    if name in READ_METHODS or (verb is not None and verb.group(0) in READ_VERBS):
        return READER
    return WRITER


def granted(roles: Iterable[str]) -> frozenset[str]:
    """Every role `roles` grant."""
    return frozenset().union(*(GRANTS[role] for role in roles))


def parse_roles(text: str) -> frozenset[str]:
    """The roles of a token file's `roles=a,b`; ValueError names one it does not know."""
    roles = frozenset(r.strip() for r in text.split(",") if r.strip())
    if not roles:
        raise ValueError("roles= names no role")
    unknown = sorted(roles - set(GRANTS))
    if unknown:
        known = ", ".join(GRANTS)
        device = (
            " (device credentials are issued to devices when they register)"
            if DEVICE in unknown
            else ""
        )
        raise ValueError(f"unknown role {unknown[0]!r}{device}; an operator token holds {known}")
    return roles
