"""Side-by-side cost of encryption at rest: the same dataset write and read against two
reference servers in one process tree, one storing plainly and one with
`--encryption-key-file` (segments sealed in 1 MiB AES-256-GCM chunks, spec/general.md §12).

    make bench-encryption        # or: python benchmarks/encryption.py --rows 20000000

Each figure is the median of alternating rounds; the ratio is plain time over encrypted time
(1.0x: encryption costs nothing). Not a goal of the issue but a figure it asks to report;
the server's peak resident memory shows that an encrypted write holds no more of the table.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

import grpc
from data import LIMIT, MIB, grpc_read, grpc_write, ipc_bytes, make_table, timed
from server_process import PeakMemory, lepton_serve, process

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc


def _write_and_tag(stub: pb_grpc.DatasetServiceStub, data: bytes) -> None:
    """A write, then `latest` moved to it (which grpc_read reads)."""
    grpc_write(stub, "bench", data)
    head = stub.GetDataset(pb.GetDatasetRequest(name="datasets/bench")).dataset.head_version
    stub.SetTag(pb.SetTagRequest(name="datasets/bench/tags/latest", version=head))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    data = ipc_bytes(make_table(options.rows))
    megabytes = len(data) / MIB
    times: dict[str, list[float]] = {}
    peaks: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory(prefix="lepton-bench-encryption-") as tmp:
        work = Path(tmp)
        keys = work / "keys"
        keys.write_text(f"k1 {secrets.token_hex(32)}\n")
        keys.chmod(0o600)
        limit = ("--max-message-bytes", str(LIMIT), "--services", "data")
        plain_command = lepton_serve(work / "plain", *limit)
        sealed_command = lepton_serve(work / "sealed", *limit, "--encryption-key-file", str(keys))
        with process(plain_command, "plain") as plain, process(sealed_command, "sealed") as sealed:
            servers = {"plain": plain, "sealed": sealed}
            channel_options = [("grpc.max_receive_message_length", LIMIT)]
            stubs = {
                name: pb_grpc.DatasetServiceStub(grpc.insecure_channel(s.address, channel_options))
                for name, s in servers.items()
            }
            for stub in stubs.values():
                stub.CreateDataset(pb.CreateDatasetRequest(dataset_id="bench"))
            for _ in range(options.rounds):
                for name, stub in stubs.items():
                    for step, action in (
                        ("write", lambda stub=stub: _write_and_tag(stub, data)),
                        ("read", lambda stub=stub: grpc_read(stub, "bench")),
                    ):
                        with PeakMemory(servers[name]) as memory:
                            times.setdefault(f"{step}_{name}", []).append(timed(action))
                        peaks.setdefault(f"{step}_{name}", []).append(memory.peak)
    median = {k: statistics.median(v) for k, v in times.items()}
    print(f"{options.rows:,} rows, {megabytes:.0f} MiB as Arrow IPC; medians of {options.rounds}")
    for step in ("write", "read"):
        plain_s, sealed_s = median[f"{step}_plain"], median[f"{step}_sealed"]
        print(
            f"{step:<6} plain {plain_s:6.2f} s ({megabytes / plain_s:5.0f} MiB/s)   "
            f"encrypted {sealed_s:6.2f} s ({megabytes / sealed_s:5.0f} MiB/s)   "
            f"ratio {plain_s / sealed_s:4.2f}x   peak RSS plain "
            f"{max(peaks[f'{step}_plain']) / MIB:.0f} MiB, encrypted "
            f"{max(peaks[f'{step}_sealed']) / MIB:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
