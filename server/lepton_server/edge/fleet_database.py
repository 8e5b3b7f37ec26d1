"""The fleet's metadata in `<data-dir>/edge/fleet.db`: devices (each a serialized Device
with its bound public key), the hashes of bootstrap and access tokens, registration
challenges, deployments, the per-(device, deployment) assignments desired states are
computed from, and device commands. Secrets are stored as SHA-256 hashes only; device
public keys as they are."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lepton.edge.v1 import command_pb2, deployment_pb2, device_pb2, device_state_pb2
from lepton_server.runtime.sqlite_database import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    name TEXT PRIMARY KEY,
    device BLOB NOT NULL,
    public_key BLOB,
    acknowledge_time INTEGER
);
CREATE TABLE IF NOT EXISTS bootstrap_tokens (
    token_hash TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    expire_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS challenges (
    challenge BLOB PRIMARY KEY,
    device_id TEXT NOT NULL,
    expire_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_hash TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    expire_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS access_tokens_by_device ON access_tokens (device);
CREATE TABLE IF NOT EXISTS deployments (
    name TEXT PRIMARY KEY,
    deployment BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments (
    device TEXT NOT NULL,
    deployment TEXT NOT NULL,
    assignment BLOB NOT NULL,
    PRIMARY KEY (device, deployment)
);
CREATE INDEX IF NOT EXISTS assignments_by_deployment ON assignments (deployment);
CREATE TABLE IF NOT EXISTS device_commands (
    name TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    command BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS device_commands_by_device ON device_commands (device);
"""


def secret_hash(secret: str) -> str:
    """How a bootstrap or access token is stored: its SHA-256 in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class DeviceRow:
    """A stored device: the resource (connection_state unset, it is derived on read), the
    public key bound to it (None before the first Register) and when the agent last raised
    its acknowledged generation (ns; None before)."""

    device: device_pb2.Device
    public_key: bytes | None = None
    acknowledge_time: int | None = None

    def connection_state(self, now: int) -> int:
        """DeviceConnectionState derived from last_seen_time and the report interval
        (spec/edge.md 2.1): OFFLINE after three intervals of silence."""
        device = self.device
        if not device.HasField("last_seen_time"):
            return device_pb2.DEVICE_CONNECTION_STATE_NEVER_CONNECTED
        silence = now - device.last_seen_time.ToNanoseconds()
        if silence < 3 * report_interval_ns(device):
            return device_pb2.DEVICE_CONNECTION_STATE_ONLINE
        return device_pb2.DEVICE_CONNECTION_STATE_OFFLINE


DEFAULT_REPORT_INTERVAL_NS = 30 * 10**9


def report_interval_ns(device: device_pb2.Device) -> int:
    """The device's report interval; 30 seconds when never set (EDG-014)."""
    if device.HasField("report_interval"):
        return device.report_interval.ToNanoseconds()
    return DEFAULT_REPORT_INTERVAL_NS


class FleetDatabase(SqliteDatabase):
    """The fleet's SQLite database; every method is one short statement, so callers group
    them with `transaction()` where they must happen together."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """A transaction that nests: inner blocks join the outermost one. Callbacks given to
        `after_commit` inside it run once it has committed (and are dropped on rollback)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with self.transaction():
                    yield
            except BaseException:
                self._after_commit.clear()
                raise
            finally:
                self._depth = 0
            callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the current `atomic` block commits (at once outside one)."""
        with self._lock:
            if self._depth:
                self._after_commit.append(callback)
                return
        callback()

    # --- devices -----------------------------------------------------------------------------

    def device(self, name: str) -> DeviceRow | None:
        found = self._one(
            "SELECT device, public_key, acknowledge_time FROM devices WHERE name=?", name
        )
        return None if found is None else _device_row(found)

    def devices(self) -> list[DeviceRow]:
        rows = self._all("SELECT device, public_key, acknowledge_time FROM devices ORDER BY name")
        return [_device_row(row) for row in rows]

    def device_with_key(self, public_key: bytes) -> DeviceRow | None:
        found = self._one(
            "SELECT device, public_key, acknowledge_time FROM devices WHERE public_key=?",
            public_key,
        )
        return None if found is None else _device_row(found)

    def put_device(self, row: DeviceRow) -> None:
        self._run(
            "INSERT OR REPLACE INTO devices VALUES (?, ?, ?, ?)",
            row.device.name,
            row.device.SerializeToString(deterministic=True),
            row.public_key,
            row.acknowledge_time,
        )

    def delete_device(self, name: str) -> None:
        for table in ("devices", "bootstrap_tokens", "access_tokens"):
            column = "name" if table == "devices" else "device"
            self._run(f"DELETE FROM {table} WHERE {column}=?", name)
        self._run("DELETE FROM assignments WHERE device=?", name)
        self._run("DELETE FROM device_commands WHERE device=?", name)

    # --- device commands ---------------------------------------------------------------------

    def put_command(self, device: str, command: command_pb2.DeviceCommand) -> None:
        self._run(
            "INSERT OR REPLACE INTO device_commands VALUES (?, ?, ?)",
            command.name,
            device,
            command.SerializeToString(),
        )

    def command(self, name: str) -> command_pb2.DeviceCommand | None:
        found = self._one("SELECT command FROM device_commands WHERE name=?", name)
        return None if found is None else command_pb2.DeviceCommand.FromString(found[0])

    def commands(self, device: str) -> list[command_pb2.DeviceCommand]:
        """The device's commands in creation order."""
        rows = self._all(
            "SELECT command FROM device_commands WHERE device=? ORDER BY rowid", device
        )
        return [command_pb2.DeviceCommand.FromString(row[0]) for row in rows]

    # --- bootstrap tokens --------------------------------------------------------------------

    def add_bootstrap_token(self, token_hash: str, device: str, expire_time: int) -> None:
        self._run("INSERT INTO bootstrap_tokens VALUES (?, ?, ?)", token_hash, device, expire_time)

    def bootstrap_token(self, token_hash: str) -> tuple[str, int] | None:
        """(device, expire_time) of a stored bootstrap token."""
        found = self._one(
            "SELECT device, expire_time FROM bootstrap_tokens WHERE token_hash=?", token_hash
        )
        return None if found is None else (found[0], found[1])

    def delete_bootstrap_tokens(self, device: str) -> None:
        self._run("DELETE FROM bootstrap_tokens WHERE device=?", device)

    # --- registration challenges -------------------------------------------------------------

    def add_challenge(self, challenge: bytes, device_id: str, expire_time: int) -> None:
        self._run("DELETE FROM challenges WHERE expire_time<?", expire_time - 10**12)
        self._run("INSERT INTO challenges VALUES (?, ?, ?)", challenge, device_id, expire_time)

    def take_challenge(self, challenge: bytes) -> tuple[str, int] | None:
        """(device_id, expire_time) of a stored challenge, which is deleted: single use."""
        with self.atomic():
            found = self._one(
                "SELECT device_id, expire_time FROM challenges WHERE challenge=?", challenge
            )
            self._run("DELETE FROM challenges WHERE challenge=?", challenge)
        return None if found is None else (found[0], found[1])

    # --- access tokens -----------------------------------------------------------------------

    def add_access_token(self, token_hash: str, device: str, expire_time: int, now: int) -> None:
        # Tokens a day past their expiry are no longer told apart from unknown ones.
        self._run("DELETE FROM access_tokens WHERE expire_time<?", now - 24 * 3600 * 10**9)
        self._run("INSERT INTO access_tokens VALUES (?, ?, ?)", token_hash, device, expire_time)

    def access_token(self, token_hash: str) -> tuple[str, int] | None:
        """(device, expire_time) of an access token the server issued and has not revoked."""
        found = self._one(
            "SELECT device, expire_time FROM access_tokens WHERE token_hash=?", token_hash
        )
        return None if found is None else (found[0], found[1])

    def revoke_access_tokens(self, device: str) -> None:
        self._run("DELETE FROM access_tokens WHERE device=?", device)

    # --- deployments -------------------------------------------------------------------------

    def deployment(self, name: str) -> deployment_pb2.Deployment | None:
        found = self._one("SELECT deployment FROM deployments WHERE name=?", name)
        return None if found is None else deployment_pb2.Deployment.FromString(found[0])

    def deployments(self) -> list[deployment_pb2.Deployment]:
        rows = self._all("SELECT deployment FROM deployments ORDER BY name")
        return [deployment_pb2.Deployment.FromString(row[0]) for row in rows]

    def put_deployment(self, deployment: deployment_pb2.Deployment) -> None:
        self._run(
            "INSERT OR REPLACE INTO deployments VALUES (?, ?)",
            deployment.name,
            deployment.SerializeToString(deterministic=True),
        )

    def delete_deployment(self, name: str) -> None:
        self._run("DELETE FROM deployments WHERE name=?", name)

    # --- assignments -------------------------------------------------------------------------
    # An assignment is a DesiredDeployment without parameter_overrides, which come from the
    # deployment whenever the desired state is computed.

    def assignments_of_device(self, device: str) -> list[device_state_pb2.DesiredDeployment]:
        rows = self._all(
            "SELECT assignment FROM assignments WHERE device=? ORDER BY deployment", device
        )
        return [device_state_pb2.DesiredDeployment.FromString(row[0]) for row in rows]

    def assignments_of_deployment(
        self, deployment: str
    ) -> dict[str, device_state_pb2.DesiredDeployment]:
        rows = self._all(
            "SELECT device, assignment FROM assignments WHERE deployment=?", deployment
        )
        return {row[0]: device_state_pb2.DesiredDeployment.FromString(row[1]) for row in rows}

    def put_assignment(self, device: str, assignment: device_state_pb2.DesiredDeployment) -> None:
        self._run(
            "INSERT OR REPLACE INTO assignments VALUES (?, ?, ?)",
            device,
            assignment.deployment,
            assignment.SerializeToString(deterministic=True),
        )

    def delete_assignment(self, device: str, deployment: str) -> None:
        self._run("DELETE FROM assignments WHERE device=? AND deployment=?", device, deployment)


def _device_row(found: tuple) -> DeviceRow:
    return DeviceRow(device_pb2.Device.FromString(found[0]), found[1], found[2])
