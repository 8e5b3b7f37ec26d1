"""The persistent telemetry outbox (spec/edge.md 2.8, EDG-090, EDG-099, EDG-100)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap

import pytest
from google.protobuf import timestamp_pb2

from lepton.edge.v1 import telemetry_pb2
from lepton_server.agent.outbox import Outbox
from lepton_server.runtime.encryption import KeyFile
from lepton_server.runtime.errors import LeptonError

BOOT = "boot-a"


def log_record(body: str, seconds: int = 1) -> telemetry_pb2.TelemetryRecord:
    return telemetry_pb2.TelemetryRecord(
        time=timestamp_pb2.Timestamp(seconds=seconds), log=telemetry_pb2.TelemetryLog(body=body)
    )


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from google.protobuf import timestamp_pb2
    from lepton.edge.v1 import telemetry_pb2
    from lepton_server.agent.outbox import Outbox

    outbox = Outbox(Path(sys.argv[1]), "boot-a")
    while True:
        record = telemetry_pb2.TelemetryRecord(
            time=timestamp_pb2.Timestamp(seconds=1), log=telemetry_pb2.TelemetryLog(body="x" * 100)
        )
        sequence = outbox.append("logs", record)
        # Printed only after append returned, i.e. after the record's transaction committed.
        print(sequence, flush=True)
    """
)


def test_records_survive_a_sigkill_of_the_writer(tmp_path):
    """EDG-099: every record whose append returned is in the outbox after the writing
    process is killed without warning, and numbering continues after the last one."""
    path = tmp_path / "outbox.db"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        committed = [int(child.stdout.readline()) for _ in range(200)]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert committed == list(range(1, 201))
    outbox = Outbox(path, BOOT)
    (segment,) = outbox.pending_segments(100_000, 1 << 30)
    stored = [r.sequence for r in segment.records]
    # What the child committed is there; it may have committed more before the kill.
    assert stored[: len(committed)] == committed
    assert stored == list(range(1, len(stored) + 1))
    assert outbox.append("logs", log_record("after")) == len(stored) + 1


def test_full_outbox_drops_the_oldest_and_counts_them(tmp_path):
    """EDG-100: appending to a full outbox never fails; the oldest records go first and
    are counted in dropped_record_count."""
    size = len(log_record("y" * 100, 1).SerializeToString()) + 2  # with its sequence
    outbox = Outbox(tmp_path / "outbox.db", BOOT, capacity_bytes=size * 5)
    for index in range(12):
        outbox.append("logs", log_record("y" * 100, index + 1))
    status = outbox.status()
    (segment,) = outbox.pending_segments(1000, 1 << 30)
    kept = [r.sequence for r in segment.records]
    assert kept == list(range(12 - len(kept) + 1, 13))
    assert status.dropped_record_count == 12 - len(kept)
    assert status.pending_record_count == len(kept)
    assert 0 < status.pending_bytes <= status.capacity_bytes == size * 5
    assert status.oldest_pending_time.seconds == kept[0]


def test_acknowledgement_deletes_at_or_below_the_mark_only(tmp_path):
    """EDG-099: records at or below the acknowledged sequence go; the rest stay and are
    offered again, oldest pair first, each pair ascending."""
    outbox = Outbox(tmp_path / "outbox.db", BOOT)
    for index in range(5):
        outbox.append("logs", log_record(f"log {index}"))
    for index in range(3):
        outbox.append("metrics", log_record(f"metric {index}"))
    assert outbox.acknowledge("logs", BOOT, 3) == 3
    assert outbox.acknowledge("metrics", "another-boot", 3) == 0
    segments = outbox.pending_segments(1000, 1 << 30)
    assert [(s.stream, s.boot_id, [r.sequence for r in s.records]) for s in segments] == [
        ("logs", BOOT, [4, 5]),
        ("metrics", BOOT, [1, 2, 3]),
    ]
    assert outbox.status().pending_record_count == 5
    # A batch limit keeps the oldest records.
    (first,) = outbox.pending_segments(1, 1 << 30)
    assert [r.sequence for r in first.records] == [4]


def test_a_new_boot_numbers_from_one_and_keeps_older_boots_pending(tmp_path):
    """EDG-090: sequence numbering restarts at 1 under a new boot id; records of the
    earlier boot stay pending under their own boot id."""
    path = tmp_path / "outbox.db"
    first = Outbox(path, "boot-1")
    assert [first.append("logs", log_record("a")) for _ in range(3)] == [1, 2, 3]
    first.close()
    second = Outbox(path, "boot-2")
    assert second.append("logs", log_record("b")) == 1
    segments = second.pending_segments(1000, 1 << 30)
    assert [(s.boot_id, len(s.records)) for s in segments] == [("boot-1", 3), ("boot-2", 1)]


def _keys(**keys: bytes) -> KeyFile:
    return KeyFile(keys or {"k1": secrets.token_bytes(32)})


def test_an_encrypted_outbox_stores_no_plaintext_and_reads_back(tmp_path):
    """With --encryption-key-file each payload is sealed; records read back after a reopen,
    rows stored before encryption was turned on are sealed then, and the capacity counts
    plaintext bytes."""
    path = tmp_path / "outbox.db"
    plain = Outbox(path, BOOT)
    plain.append("logs", log_record("before-encryption-" + "p" * 64))
    plain.close()
    keys = _keys()
    outbox = Outbox(path, BOOT, encryption=keys)
    for number in range(3):
        outbox.append("logs", log_record(f"secret-telemetry-{number}-" + "s" * 64))
    sizes = [len(r.SerializeToString()) for r in outbox.pending_segments(100, 1 << 20)[0].records]
    assert outbox.status().pending_bytes == sum(sizes)  # plaintext bytes, not sealed ones
    outbox.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"secret-telemetry" not in stored and b"before-encryption" not in stored
    reopened = Outbox(path, BOOT, encryption=keys)
    (segment,) = reopened.pending_segments(100, 1 << 20)
    assert [r.log.body[:18] for r in segment.records] == [
        "before-encryption-",
        "secret-telemetry-0",
        "secret-telemetry-1",
        "secret-telemetry-2",
    ]


def test_an_altered_row_is_dropped_and_counted_and_a_wrong_key_is_refused(tmp_path):
    path = tmp_path / "outbox.db"
    keys = _keys()
    outbox = Outbox(path, BOOT, encryption=keys)
    for number in range(3):
        outbox.append("logs", log_record(f"record-{number}"))
    # Row 2's payload put in row 1's place: it was sealed under another sequence.
    second = outbox._one("SELECT payload FROM records WHERE sequence=2")[0]
    outbox._run("UPDATE records SET payload=? WHERE sequence=1", second)
    (segment,) = outbox.pending_segments(100, 1 << 20)
    assert [r.sequence for r in segment.records] == [2, 3]
    assert outbox.status().dropped_record_count == 1
    assert outbox.pending_count() == 2
    outbox.close()
    for keys in (_keys(k2=secrets.token_bytes(32)), None):
        with pytest.raises(LeptonError) as raised:
            Outbox(path, BOOT, encryption=keys)
        assert raised.value.reason == "ENCRYPTION_KEY_UNAVAILABLE"


def test_an_outbox_rewraps_its_key_under_the_first_key_as_it_opens(tmp_path):
    """A rotation on a device: the new key first in the file, the old after it; the outbox
    opens under both and re-wraps its data key, so the old key can then leave the file."""
    path = tmp_path / "outbox.db"
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    outbox = Outbox(path, BOOT, encryption=KeyFile({"k1": old}))
    outbox.append("logs", log_record("kept"))
    outbox.close()
    Outbox(path, BOOT, encryption=KeyFile({"k2": new, "k1": old})).close()
    rotated = Outbox(path, BOOT, encryption=KeyFile({"k2": new}))
    (segment,) = rotated.pending_segments(100, 1 << 20)
    assert [r.log.body for r in segment.records] == ["kept"]
