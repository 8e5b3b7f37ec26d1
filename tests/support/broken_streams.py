"""A client interceptor that breaks the first server stream of one method, as a reset
connection would (UNAVAILABLE), to test that the SDK reopens broken streams."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc


class InjectedBreak(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "connection reset (injected by the test)"

    def trailing_metadata(self) -> None:
        return None


class BreakingStream:
    """The responses of a real call, broken after `after` messages."""

    def __init__(self, call: Any, after: int) -> None:
        self._call, self._after = call, after

    def __iter__(self) -> Iterator[Any]:
        for index, response in enumerate(self._call):
            if index == self._after:
                self._call.cancel()
                raise InjectedBreak()
            yield response

    def cancel(self) -> bool:
        return self._call.cancel()


class BreakFirstStream(grpc.UnaryStreamClientInterceptor):
    """Breaks the first stream of `method` (e.g. "ReadVersion") after `after` messages;
    records the request of every call of it."""

    def __init__(self, method: str, after: int) -> None:
        self.method, self.after = method, after
        self.requests: list[Any] = []

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        call = continuation(details, request)
        if not details.method.endswith(f"/{self.method}"):
            return call
        self.requests.append(request)
        return BreakingStream(call, self.after) if len(self.requests) == 1 else call
