"""The principals an annotation case calls as (spec/general.md, "Principals"; GEN-014).

The run's --token is the case's own principal; each --annotator-token is one more, of its own.
A case that needs more annotators than the run gave raises Skipped with what would run it, so
the profile is INCOMPLETE rather than passed. A run without --token certifies a server that
requires no credentials: it has one principal, the empty one."""

from __future__ import annotations

from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.annotation.annotation_client import AnnotationClient


def needs(count: int) -> str:
    """What a run must give for a case that needs `count` annotator principals."""
    return f"--token and {count} --annotator-token (each of a principal of its own)"


def annotators(client: AnnotationClient, count: int) -> list[AnnotationClient]:
    """Clients of the first `count` --annotator-token principals, or Skipped."""
    options = client.ctx.options
    if options.token is None or len(options.annotator_tokens) < count:
        given = len(options.annotator_tokens) if options.token is not None else 0
        raise Skipped(
            f"the case needs {count} annotator principals besides --token's; the run gave {given}",
            needs=needs(count),
        )
    return [client.acting_as(token) for token in options.annotator_tokens[:count]]


def credentialed(ctx: CaseContext) -> bool:
    """The run calls with a credential: the target requires them, and creators are set."""
    return ctx.options.token is not None


def check_creator(ctx: CaseContext, creator: str, what: str) -> None:
    """GEN-014: empty without credentials; with them, a principal that is not a token."""
    if not credentialed(ctx):
        expect.equal(creator, "", f"{what} on a server without credentials")
        return
    tokens = {ctx.options.token, *ctx.options.annotator_tokens}
    expect.holds(
        bool(creator) and creator not in tokens,
        f"{what} to be the caller's principal (non-empty, never a token)",
        repr(creator) if creator not in tokens else "a token",
    )


def distinct(creators: list[str], what: str) -> None:
    """Each principal of the run is its own: distinct callers got distinct creators."""
    expect.holds(
        len(set(creators)) == len(creators),
        f"{what}: one principal per credential (are the --annotator-token tokens each of a "
        f"principal of its own?)",
        str(creators),
    )
