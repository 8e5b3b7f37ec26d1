"""Side-by-side registry benchmark, in one process tree (issue 10):

- upload and download of one artifact through the reference registry against a bare grpc.aio
  stream of the same bytes into and out of a file (benchmarks/bare_artifact_server.py) and
  against a local file copy; goal: at least 0.8x the bare stream;
- a resume after a cut at 50%, which must move only the remaining bytes;
- a deduplicated upload of content the registry holds, which must take the same time
  whatever its size;
- an alias moved back and forth under an inference load through the alias: failed requests
  (goal: none) and the p99 latency during the moves against the same load without moves.

    python benchmarks/registry.py [--size-mib 1024] [--rounds 3]

Each transfer figure is the median of alternating rounds; the result is the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import grpc
import numpy as np
from server_process import lepton_serve, process

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import artifact_pb2, digest_pb2, model_artifact_pb2, model_format_pb2

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 3 * 1024 * 1024
OPTIONS = [("grpc.max_receive_message_length", 8 << 20), ("grpc.max_send_message_length", 8 << 20)]


def artifact(path: Path, model_format: int = model_format_pb2.MODEL_FORMAT_OTHER):
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 24):
            digest.update(block)
    descriptor = artifact_pb2.ArtifactDescriptor(
        size_bytes=path.stat().st_size,
        digest=digest_pb2.Digest(
            algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=digest.hexdigest()
        ),
        media_type="application/octet-stream",
    )
    return model_artifact_pb2.ModelArtifact(descriptor=descriptor, format=model_format)


def messages(version: str, path: Path, described, start: int = 0, stop: int | None = None):
    yield pb.UploadModelVersionArtifactRequest(
        header=pb.ModelVersionUploadHeader(model_version=version, artifact=described.descriptor)
    )
    end = described.descriptor.size_bytes if stop is None else stop
    with path.open("rb") as source:
        source.seek(start)
        offset = start
        while offset < end:
            data = source.read(min(CHUNK, end - offset))
            if not data:
                raise RuntimeError(f"{path} ended at {offset} of {end} bytes")
            yield pb.UploadModelVersionArtifactRequest(
                chunk=artifact_pb2.ArtifactChunk(offset=offset, data=data)
            )
            offset += len(data)


def timed(action: Callable[[], object]) -> float:
    # Every transfer starts with no dirty pages: otherwise the one after a large write pays
    # for that write's writeback, and the order of the runs decides the ratio.
    os.sync()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def new_version(stub, model: str, described) -> str:
    request = pb.CreateModelVersionRequest(
        parent=model, model_version=mv.ModelVersion(artifact=described)
    )
    return stub.CreateModelVersion(request).model_version.name


def drain_download(stub, request) -> int:
    return sum(len(r.chunk.data) for r in stub.DownloadModelVersionArtifact(request))


def transfers(ours, bare, path: Path, rounds: int, size: int) -> None:
    stub, plain = pb_grpc.ModelRegistryServiceStub(ours), pb_grpc.ModelRegistryServiceStub(bare)
    stub.CreateModel(pb.CreateModelRequest(model_id="bench"))
    uploads = {"registry": [], "bare stream": [], "file copy": []}
    downloads = {"registry": [], "bare stream": [], "file copy": []}
    copy_target = path.with_suffix(".copy")
    for round_ in range(rounds):
        # Fresh bytes each round, so the registry never deduplicates them.
        with path.open("r+b") as sink:
            sink.write(os.urandom(16))
        described = artifact(path)
        version = new_version(stub, "models/bench", described)
        runs = {
            "registry": partial(
                stub.UploadModelVersionArtifact, messages(version, path, described)
            ),
            "bare stream": partial(
                plain.UploadModelVersionArtifact, messages("x", path, described)
            ),
        }
        # Alternate which stream goes first, so neither always finds a warmer cache.
        for what in sorted(runs, reverse=bool(round_ % 2)):
            uploads[what].append(timed(runs[what]))
        uploads["file copy"].append(timed(lambda: shutil.copyfile(path, copy_target)))
        request = pb.DownloadModelVersionArtifactRequest(name=version, chunk_size_bytes=CHUNK)
        downloads["registry"].append(timed(partial(drain_download, stub, request)))
        downloads["bare stream"].append(timed(partial(drain_download, plain, request)))
        downloads["file copy"].append(
            timed(lambda: shutil.copyfile(copy_target, path.with_suffix(".back")))
        )
    for what, figures in (("upload", uploads), ("download", downloads)):
        medians = {k: statistics.median(v) for k, v in figures.items()}
        rates = {k: size / (1 << 20) / t for k, t in medians.items()}
        print(
            f"{what:8}  registry {rates['registry']:7.0f} MiB/s  bare stream "
            f"{rates['bare stream']:7.0f} MiB/s  file copy {rates['file copy']:7.0f} MiB/s  "
            f"ratio to bare stream {rates['registry'] / rates['bare stream']:.2f}x (goal >= 0.8)"
        )


def resume(ours, path: Path) -> None:
    stub = pb_grpc.ModelRegistryServiceStub(ours)
    with path.open("r+b") as sink:
        sink.write(os.urandom(16))
    described = artifact(path)
    size = described.descriptor.size_bytes
    version = new_version(stub, "models/bench", described)
    half = (size // 2) // CHUNK * CHUNK
    stub.UploadModelVersionArtifact(messages(version, path, described, 0, half))
    committed = stub.GetModelVersionUploadStatus(
        pb.GetModelVersionUploadStatusRequest(name=version)
    ).committed_offset
    sent = size - committed
    seconds = timed(
        lambda: stub.UploadModelVersionArtifact(messages(version, path, described, committed))
    )
    print(
        f"resume    cut at {committed / size:.0%}: the resumed stream moved {sent / size:.0%} "
        f"of the bytes in {seconds:.2f} s"
    )


def dedupe(ours, path: Path, size: int) -> None:
    stub = pb_grpc.ModelRegistryServiceStub(ours)
    small = path.with_suffix(".small")
    small.write_bytes(os.urandom(1 << 20))
    times = []
    for source in (small, path):
        described = artifact(source)
        first = new_version(stub, "models/bench", described)
        stub.UploadModelVersionArtifact(messages(first, source, described))
        again = new_version(stub, "models/bench", described)
        times.append(
            timed(
                partial(stub.UploadModelVersionArtifact, messages(again, source, described, 0, 0))
            )
        )
    print(
        f"dedupe    a known 1 MiB artifact in {times[0] * 1000:.1f} ms, a known "
        f"{size >> 20} MiB one in {times[1] * 1000:.1f} ms (no bytes sent)"
    )


def alias_switch(address: str, seconds: float = 4.0) -> None:
    import tritonclient.grpc as triton  # noqa: PLC0415

    from lepton_ai import ModelRegistry  # noqa: PLC0415
    from lepton_conformance.suites.inference.model_set import scale  # noqa: PLC0415

    with (
        tempfile.TemporaryDirectory() as scratch,
        ModelRegistry.connect(address, progress=False) as registry,
    ):
        names = []
        for number in (1, 2):
            file = Path(scratch) / f"scale{number}.onnx"
            file.write_bytes(scale(number).SerializeToString())
            names.append(registry.register(file, "switch").name)
        registry.set_alias("switch", "prod", names[0])
        client = triton.InferenceServerClient(address)
        while True:
            try:
                if client.is_model_ready("switch", "prod"):
                    break
            except Exception:
                pass
            time.sleep(0.05)
        sample = triton.InferInput("INPUT0", [1, 4], "FP32")
        sample.set_data_from_numpy(np.ones((1, 4), dtype=np.float32))

        def measure(moving: bool) -> tuple[list[float], int]:
            latencies, failures, stop = [], [0], threading.Event()

            def load() -> None:
                local = triton.InferenceServerClient(address)
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        local.infer("switch", [sample], model_version="prod")
                        latencies.append(time.perf_counter() - started)
                    except Exception:
                        failures[0] += 1

            workers = [threading.Thread(target=load) for _ in range(4)]
            for worker in workers:
                worker.start()
            deadline, move = time.monotonic() + seconds, 0
            while time.monotonic() < deadline:
                if moving:
                    registry.set_alias("switch", "prod", names[move % 2])
                    move += 1
                time.sleep(0.2)
            stop.set()
            for worker in workers:
                worker.join()
            return latencies, failures[0]

        quiet, _ = measure(moving=False)
        busy, failed = measure(moving=True)
        p99 = lambda values: float(np.percentile(values, 99)) * 1000  # noqa: E731
        print(
            f"alias     {len(busy)} requests while the alias moved 5 times a second: {failed} "
            f"failed (goal 0); p99 {p99(busy):.2f} ms against {p99(quiet):.2f} ms without moves"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    size = options.size_mib << 20
    with tempfile.TemporaryDirectory(prefix="lepton-bench-") as scratch:
        work = Path(scratch)
        path = work / "artifact.bin"
        with path.open("wb") as sink:
            for _ in range(options.size_mib):
                sink.write(os.urandom(1 << 20))
        serve = lepton_serve(work / "data", "--services", "registry,inference")
        bare_dir = work / "bare"
        bare_dir.mkdir()
        bare = [sys.executable, str(ROOT / "benchmarks" / "bare_artifact_server.py"), str(bare_dir)]
        with process(serve) as ours, process(bare) as plain:
            with (
                grpc.insecure_channel(ours.address, options=OPTIONS) as a,
                grpc.insecure_channel(plain.address, options=OPTIONS) as b,
            ):
                transfers(a, b, path, options.rounds, size)
                resume(a, path)
                dedupe(a, path, size)
            alias_switch(ours.address)
    return 0


if __name__ == "__main__":
    sys.exit(main())
