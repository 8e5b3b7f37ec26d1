"""The one base class of the errors that stop a server before it serves: a bad setting, an
unknown layer, storage that cannot be reached. `lepton serve` reports any of them as one line
(`lepton serve: <message>`) and exits non-zero, without a traceback."""

from __future__ import annotations


class StartupError(Exception):
    """The server cannot start as configured; the message says why, for the operator."""
