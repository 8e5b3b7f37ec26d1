"""The domain error a call must raise for a bad argument, checked the way every API rule
states it: INVALID_ARGUMENT with one reason and one violation naming the request field."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lepton_server.runtime.errors import InvalidArgument


def rejected(call: Callable[[], object], reason: str, field: str) -> InvalidArgument:
    """The InvalidArgument `call()` raises, after asserting its `reason` and that its one
    field violation names `field`."""
    with pytest.raises(InvalidArgument) as raised:
        call()
    error = raised.value
    assert error.reason == reason
    assert [v.field for v in error.violations] == [field]
    return error
