"""Who hears that a device changed: open Sync streams (new desired state, settings, the end
of the stream), device watches and the rollout controller. Listeners are called on the thread
that made the change, after the change is stored; a listener that must reach an event loop
hops there itself."""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum

log = logging.getLogger(__name__)


class Change(Enum):
    """What changed on a device."""

    # display_name, description or labels (report_interval is SETTINGS).
    OPERATOR_FIELDS = "operator_fields"
    SETTINGS = "settings"
    APPROVAL = "approval"
    DECOMMISSIONED = "decommissioned"
    DELETED = "deleted"
    CREATED = "created"
    DESIRED_STATE = "desired_state"
    # A command was created for the device (edge.commands).
    COMMANDS = "commands"
    ACKNOWLEDGED = "acknowledged"
    REPORTED_STATE = "reported_state"
    HEARTBEAT = "heartbeat"
    # The agent called or sent a message after three report intervals of silence (or for the
    # first time): the device is ONLINE again.
    CONNECTED = "connected"
    # Capabilities, boot id or agent version from a Register.
    REGISTERED = "registered"


Listener = Callable[[str, Change], None]


class DeviceEvents:
    """The listeners of device changes."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(device name, change)` after every change; returns how to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def emit(self, device: str, change: Change) -> None:
        for listener in list(self._listeners):
            try:
                listener(device, change)
            except Exception:
                # A listener's bug must not undo or fail the change that was already stored.
                log.exception("device change listener failed")
