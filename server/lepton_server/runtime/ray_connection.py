"""The server process's one connection to a Ray cluster (`--ray-address`), shared by every
executor that runs work on Ray and opened by the first that needs it. Ray is imported only
then, so a server that runs nothing on Ray needs no Ray installed."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import threading
from typing import Any

_lock = threading.Lock()
_connection: dict[str, str] = {}


def connect(address: str) -> None:
    """Connect this process to the Ray cluster at `address` (`host:port` of its head), once.
    The process becomes a driver of the cluster, so it runs on one of the cluster's nodes."""
    with _lock:
        if "address" in _connection:
            if _connection["address"] != address:
                raise ValueError(f"already connected to the Ray cluster {_connection['address']}")
            return
        options: dict[str, Any] = {}
        host = address.rsplit(":", 1)[0].strip("[]")
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).is_loopback:
                # A cluster on loopback is one machine's: without this, Ray replaces a
                # loopback address by the machine's outward one (read when Ray is imported).
                os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
                options["_node_ip_address"] = host
        import ray  # noqa: PLC0415

        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, **options)
        _connection["address"] = address


def disconnect() -> None:
    """Close the connection, if open (a server that stops)."""
    with _lock:
        if _connection.pop("address", None) is not None:
            import ray  # noqa: PLC0415

            ray.shutdown()
