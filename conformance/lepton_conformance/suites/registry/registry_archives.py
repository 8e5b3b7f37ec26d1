"""Tar archives for the archive rules of spec/registry.md ("Artifacts", REG-027): a valid
archive of random files, and one archive breaking each rule, built in memory from the rules
alone. Every archive holds random bytes, so no run's archive is ever deduplicated."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable
from typing import Any

from lepton.registry.v1 import model_version_pb2
from lepton.type.v1 import model_artifact_pb2
from lepton_conformance.suites.registry.registry_client import OTHER, descriptor, random_bytes

TAR_MEDIA_TYPE = "application/x-tar"
ENTRY = "model/weights.bin"


def add_file(tar: tarfile.TarFile, path: str, data: bytes) -> None:
    info = tarfile.TarInfo(path)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _add_special(tar: tarfile.TarFile, path: str, kind: bytes, target: str = "") -> None:
    """A link (to `target`), device or FIFO entry."""
    info = tarfile.TarInfo(path)
    info.type = kind
    info.linkname = target
    tar.addfile(info)


def build(add: Callable[[tarfile.TarFile], None], entry: str = ENTRY) -> bytes:
    """A pax archive holding the directory `model`, the file `entry` (random bytes) and
    whatever `add` adds."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo("model")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        add_file(tar, entry, random_bytes(64))
        add(tar)
    return buffer.getvalue()


def valid_archive(extra: dict[str, int] | None = None) -> tuple[bytes, dict[str, bytes]]:
    """A valid archive and its regular files by path, entry ENTRY, with `extra` files of
    random bytes (path: size) besides."""
    files = {ENTRY: b"", "model/config.json": random_bytes(17), "a-readme.txt": random_bytes(5)}
    files.update({path: random_bytes(size) for path, size in (extra or {}).items()})

    def add(tar: tarfile.TarFile) -> None:
        for path, data in files.items():
            if path != ENTRY:
                add_file(tar, path, data)

    data = build(add)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        files[ENTRY] = tar.extractfile(ENTRY).read()  # type: ignore[union-attr]
    return data, files


def archive_version(data: bytes, entry: str = ENTRY, **fields: Any) -> Any:
    """A ModelVersion declaring the archive `data` (format OTHER) with entry path `entry`."""
    artifact = model_artifact_pb2.ModelArtifact(
        descriptor=descriptor(data, TAR_MEDIA_TYPE), format=OTHER, entry_path=entry
    )
    return model_version_pb2.ModelVersion(artifact=artifact, **fields)


def file_listing(files: dict[str, bytes]) -> list[tuple[str, int, str]]:
    """What ModelVersion.files must list for `files`: (path, size, sha256) sorted by path."""
    return [(p, len(d), hashlib.sha256(d).hexdigest()) for p, d in sorted(files.items())]


# Archives that break one rule each, with entry path ENTRY (spec/registry.md, "Artifacts").
BROKEN: dict[str, Callable[[], bytes]] = {
    "dot-dot-segment": lambda: build(lambda t: add_file(t, "model/../../x.bin", b"x")),
    "absolute-path": lambda: build(lambda t: add_file(t, "/etc/x.bin", b"x")),
    "symbolic-link": lambda: build(
        lambda t: _add_special(t, "model/l.bin", tarfile.SYMTYPE, "weights.bin")
    ),
    "hard-link": lambda: build(lambda t: _add_special(t, "model/h.bin", tarfile.LNKTYPE, ENTRY)),
    "duplicate-path": lambda: build(lambda t: add_file(t, ENTRY, random_bytes(8))),
    "entry-path-missing": lambda: build(lambda t: None, entry="model/other.bin"),
    "not-a-tar": lambda: random_bytes(3000),
    "fifo-entry": lambda: build(lambda t: _add_special(t, "model/pipe", tarfile.FIFOTYPE)),
    "device-entry": lambda: build(lambda t: _add_special(t, "model/dev", tarfile.CHRTYPE)),
}
