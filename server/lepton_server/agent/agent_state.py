"""The agent's persistent state, one SQLite database in the state directory (WAL): the
device key (EDG-088), device name, the state-dir epoch that goes into the boot id (EDG-090),
the desired state it holds (persisted before it is acknowledged, EDG-092), the committed
release and the last update attempt per deployment, and the outcomes of executed commands
(EDG-101). Telemetry sequence counters live with the outbox (outbox.py), in the same
transaction as the records they number."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_state_pb2, release_pb2
from lepton_server.runtime.sqlite_database import SqliteDatabase

KERNEL_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS committed_releases (
    deployment TEXT PRIMARY KEY,
    release BLOB NOT NULL,
    rollout TEXT NOT NULL,
    directory TEXT NOT NULL,
    commit_time_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS update_attempts (
    deployment TEXT PRIMARY KEY,
    attempt BLOB NOT NULL,
    release_digest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS executed_commands (
    idempotency_key TEXT PRIMARY KEY,
    outcome BLOB NOT NULL,
    expire_time_ns INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class CommittedRelease:
    """A release that passed its health check and serves for its deployment."""

    deployment: str
    release: release_pb2.ModelRelease
    rollout: str
    directory: Path  # the release directory the deployment's `current` link points at
    commit_time_ns: int


@dataclass(frozen=True)
class RecordedAttempt:
    """The last update attempt of a deployment and the release digest it was for."""

    attempt: device_state_pb2.UpdateAttempt
    release_digest: str


class AgentState(SqliteDatabase):
    """`<state-dir>/agent.db`."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir / "agent.db", SCHEMA)
        self.state_dir = state_dir
        with self.transaction():
            if self._setting("epoch") is None:
                # A state dir created afresh gets a new epoch, so a device that lost its
                # state uses a new boot id even within the same operating system boot.
                self._set("epoch", secrets.token_hex(8).encode())
            if self._setting("device_key") is None:
                key = Ed25519PrivateKey.generate()  # 32 bytes from the OS CSPRNG (EDG-088)
                self._set("device_key", key.private_bytes_raw())

    def _setting(self, key: str) -> bytes | None:
        row = self._one("SELECT value FROM settings WHERE key=?", key)
        return bytes(row[0]) if row else None

    def _set(self, key: str, value: bytes) -> None:
        self._run("INSERT OR REPLACE INTO settings VALUES (?, ?)", key, value)

    # --- identity ---------------------------------------------------------------------

    @property
    def device_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self._setting("device_key") or b"")

    @property
    def device_public_key(self) -> bytes:
        return self.device_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def boot_id(self) -> str:
        """The kernel's boot id (new at every OS boot) joined with the state-dir epoch (new
        whenever the state is lost): changes on both (EDG-090)."""
        try:
            kernel = KERNEL_BOOT_ID.read_text().strip()
        except OSError:
            kernel = _PROCESS_BOOT
        return f"{kernel}.{(self._setting('epoch') or b'').decode()}"

    @property
    def device_name(self) -> str:
        """`devices/{device}` as Register answered; empty before the first registration."""
        return (self._setting("device_name") or b"").decode()

    def set_device_name(self, name: str) -> None:
        self._set("device_name", name.encode())

    # --- desired state (EDG-092) ------------------------------------------------------

    def desired_state(self) -> device_state_pb2.DesiredState | None:
        raw = self._setting("desired_state")
        return device_state_pb2.DesiredState.FromString(raw) if raw is not None else None

    @property
    def held_generation(self) -> int:
        desired = self.desired_state()
        return desired.generation if desired is not None else 0

    def hold_desired_state(self, desired: device_state_pb2.DesiredState) -> bool:
        """Persist `desired` when its generation is greater than the one held; whether it
        was. The caller acknowledges only after this returned."""
        with self.transaction():
            if desired.generation <= self.held_generation:
                return False
            self._set("desired_state", desired.SerializeToString())
        return True

    @property
    def applied_generation(self) -> int:
        raw = self._setting("applied_generation")
        return int(raw) if raw is not None else 0

    def set_applied_generation(self, generation: int) -> None:
        self._set("applied_generation", str(generation).encode())

    # --- releases and attempts --------------------------------------------------------

    def committed_releases(self) -> dict[str, CommittedRelease]:
        """Committed releases by deployment name."""
        return {
            row[0]: CommittedRelease(
                row[0],
                release_pb2.ModelRelease.FromString(row[1]),
                row[2],
                Path(row[3]),
                row[4],
            )
            for row in self._all("SELECT * FROM committed_releases ORDER BY deployment")
        }

    def commit_release(self, committed: CommittedRelease) -> None:
        self._run(
            "INSERT OR REPLACE INTO committed_releases VALUES (?, ?, ?, ?, ?)",
            committed.deployment,
            committed.release.SerializeToString(),
            committed.rollout,
            str(committed.directory),
            committed.commit_time_ns,
        )

    def forget_deployment(self, deployment: str) -> None:
        with self.transaction():
            self._run("DELETE FROM committed_releases WHERE deployment=?", deployment)
            self._run("DELETE FROM update_attempts WHERE deployment=?", deployment)

    def attempts(self) -> dict[str, RecordedAttempt]:
        return {
            row[0]: RecordedAttempt(device_state_pb2.UpdateAttempt.FromString(row[1]), row[2])
            for row in self._all("SELECT * FROM update_attempts")
        }

    def record_attempt(
        self, deployment: str, attempt: device_state_pb2.UpdateAttempt, release_digest: str
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO update_attempts VALUES (?, ?, ?)",
            deployment,
            attempt.SerializeToString(),
            release_digest,
        )

    # --- commands (EDG-101) -----------------------------------------------------------

    def command_outcome(self, idempotency_key: str) -> agent_pb.CommandUpdate | None:
        row = self._one(
            "SELECT outcome FROM executed_commands WHERE idempotency_key=?", idempotency_key
        )
        return agent_pb.CommandUpdate.FromString(row[0]) if row else None

    def remember_command(
        self,
        idempotency_key: str,
        outcome: agent_pb.CommandUpdate,
        expire_time_ns: int,
        now_ns: int,
    ) -> None:
        with self.transaction():
            # Keys are kept at least until their command's expiry (EDG-101).
            self._run("DELETE FROM executed_commands WHERE expire_time_ns < ?", now_ns)
            self._run(
                "INSERT OR REPLACE INTO executed_commands VALUES (?, ?, ?)",
                idempotency_key,
                outcome.SerializeToString(),
                expire_time_ns,
            )


# Where the kernel keeps no boot id: one per agent process, which changes at least as often.
_PROCESS_BOOT = secrets.token_hex(16)
