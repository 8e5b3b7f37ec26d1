"""When the SDK reopens a broken stream (a job watch, a table read or upload) and how long it
waits first. A stream is retried only for a transport failure, never for an error the server
raised on purpose."""

from __future__ import annotations

import time

import grpc

from lepton_ai.errors import LeptonAIError

# A broken stream is reopened this many times in a row before the error surfaces.
STREAM_RETRIES = 3
RETRY_BACKOFF_SECONDS = 0.2


def is_transport_failure(error: LeptonAIError) -> bool:
    """A broken connection or stream, worth retrying: UNAVAILABLE, or INTERNAL/UNKNOWN
    without an ErrorInfo (servers attach one to every error they raise themselves)."""
    if error.code == grpc.StatusCode.UNAVAILABLE:
        return True
    return error.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN) and not error.reason


def pause_before_retry(failures: int) -> None:
    """Sleep before retry number `failures` (1, 2, ...): exponential backoff."""
    time.sleep(RETRY_BACKOFF_SECONDS * 2**failures)
