"""Artifact bytes: content-addressed blobs under `<root>/<sha256>` on any pyarrow.fs
filesystem, and the staging files of uploads in progress on the local disk. The registry's
blobs are under `<base>/registry/blobs/` (the data directory by default, or `--storage-uri`)
with staging files in `<data-dir>/registry/uploads/`; the edge layer's artifact store keeps its
own under `<data-dir>/edge/artifacts/`.

A staging file grows by appending each chunk; its length is the committed offset (REG-021,
REG-022). It is flushed to disk before that offset is reported and before it is verified, not
at every chunk: a report promises durable bytes (GEN-082), and a flush per 3 MiB chunk cost
a third of the upload rate. Once verified it becomes the blob: renamed on a local store,
copied to a remote one; with `--encryption-key-file`, sealed (runtime/encryption.py) with its
key record `<sha256>.dek` beside it. A staging file is not encrypted until then."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
from pyarrow import fs

from lepton_server.runtime.encryption import KEY_SUFFIX, MAGIC, is_sealed, key_unavailable
from lepton_server.runtime.sealed_files import SealedFiles
from lepton_server.runtime.startup_errors import StartupError

log = logging.getLogger(__name__)

_HASH_BLOCK = 4 * 1024 * 1024


class UnusableBlobStorageError(StartupError):
    """The artifact storage cannot be reached or written (reported at start)."""


class BlobStore:
    """Verified blobs by sha256, and the staging files uploads append to."""

    def __init__(self, filesystem: fs.FileSystem, root: str, staging: Path) -> None:
        self.filesystem = filesystem
        self.local = isinstance(filesystem, fs.LocalFileSystem)
        self.root = root.rstrip("/")
        filesystem.create_dir(self.root, recursive=True)
        self.staging = staging
        staging.mkdir(parents=True, exist_ok=True)
        # Set when blobs are encrypted at rest: they are then sealed as they are adopted.
        self.sealed: SealedFiles | None = None

    # --- blobs ----------------------------------------------------------------------------

    def _path(self, sha256: str) -> str:
        return f"{self.root}/{sha256}"

    def has(self, sha256: str, size: int) -> bool:
        """Whether the blob `sha256` of `size` bytes is stored."""
        return self.size(sha256) == size

    def size(self, sha256: str) -> int | None:
        """The size of the blob `sha256`; None when it is not stored."""
        info = self.filesystem.get_file_info(self._path(sha256))
        if info.type != fs.FileType.File:
            return None
        if self.sealed is not None:
            return self.sealed.plaintext_size(info.path, info.size)
        self._refuse_sealed(sha256)
        return info.size

    def open(self, sha256: str) -> pa.NativeFile:
        """The blob, for random reads (decrypted a chunk at a time when sealed)."""
        if self.sealed is not None:
            return self.sealed.open_file(self._path(sha256), f"artifact {sha256}")
        self._refuse_sealed(sha256)
        return self.filesystem.open_input_file(self._path(sha256))

    def _refuse_sealed(self, sha256: str) -> None:
        """FAILED_PRECONDITION for a blob sealed when the server ran with a key file."""
        with self.filesystem.open_input_file(self._path(sha256)) as source:
            if is_sealed(source.read_at(len(MAGIC), 0)):
                raise key_unavailable(f"artifact {sha256}")

    def delete(self, sha256: str) -> None:
        if self.sealed is not None:
            self.sealed.delete(self._path(sha256))
            return
        try:
            self.filesystem.delete_file(self._path(sha256))
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("blob %s stays: %s", sha256, exc)

    def adopt(self, staged: Path, sha256: str) -> None:
        """Make a verified staging file the blob `sha256` (a blob already there is kept)."""
        if self.has(sha256, staged.stat().st_size):
            staged.unlink(missing_ok=True)
            return
        if self.sealed is not None:
            self.sealed.seal_file(staged, self._path(sha256))
            staged.unlink(missing_ok=True)
            return
        if self.local:
            os.replace(staged, self._path(sha256))
            return
        temporary = f"{self._path(sha256)}.partial"
        fs.copy_files(str(staged), temporary, destination_filesystem=self.filesystem)
        self.filesystem.move(temporary, self._path(sha256))
        staged.unlink(missing_ok=True)

    def collect_garbage(self, staging_keys: set[str], blobs: set[str]) -> None:
        """Remove staging files not in `staging_keys` and blobs not in `blobs`."""
        for staged in self.staging.iterdir():
            if staged.name not in staging_keys:
                staged.unlink(missing_ok=True)
        selector = fs.FileSelector(self.root, allow_not_found=True)
        for info in self.filesystem.get_file_info(selector):
            # A sealed blob's key record lives and dies with it.
            name = info.base_name.removesuffix(KEY_SUFFIX)
            if info.type == fs.FileType.File and name not in blobs:
                try:
                    self.filesystem.delete_file(info.path)
                except OSError as exc:
                    log.warning("blob %s stays until the next start: %s", info.path, exc)

    # --- staging --------------------------------------------------------------------------

    def staged(self, key: str) -> Path:
        return self.staging / key

    def committed(self, key: str) -> int:
        """The bytes committed to the staging file `key` (0 when there is none)."""
        try:
            return self.staged(key).stat().st_size
        except FileNotFoundError:
            return 0

    def last_write_ns(self, key: str) -> int | None:
        """When the staging file `key` last grew (ns since the epoch); None without one."""
        try:
            return self.staged(key).stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def append(self, key: str, data: bytes) -> int:
        """Append `data` to the staging file `key` (not yet flushed); its new length."""
        descriptor = os.open(self.staged(key), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            return os.fstat(descriptor).st_size
        finally:
            os.close(descriptor)

    def flush(self, key: str) -> int:
        """Flush the staging file `key` to disk; its length, now durable (0 without one)."""
        try:
            descriptor = os.open(self.staged(key), os.O_RDONLY)
        except FileNotFoundError:
            return 0
        try:
            os.fdatasync(descriptor)
            return os.fstat(descriptor).st_size
        finally:
            os.close(descriptor)

    def discard(self, key: str) -> None:
        self.staged(key).unlink(missing_ok=True)


def sha256_of_file(path: Path) -> str:
    """The sha256 of a file, read in blocks (run off the event loop)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def open_blob_store(storage_uri: str | None, data_dir: Path) -> BlobStore:
    """Blobs under `storage_uri` (a path or any pyarrow.fs URI) or `data_dir`; staging files
    always under `data_dir`. UnusableBlobStorageError when the storage cannot be used."""
    staging = data_dir / "registry" / "uploads"
    if storage_uri is None:
        return BlobStore(fs.LocalFileSystem(), _registry_blobs(str(data_dir.resolve())), staging)
    parsed = urlparse(storage_uri)
    shown = f"{parsed.scheme}://{parsed.netloc.rpartition('@')[2]}{parsed.path}"
    try:
        if not parsed.scheme:
            base = str(Path(storage_uri).resolve())
            return BlobStore(fs.LocalFileSystem(), _registry_blobs(base), staging)
        filesystem, base = fs.FileSystem.from_uri(storage_uri)
        return BlobStore(filesystem, _registry_blobs(base), staging)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise UnusableBlobStorageError(f"storage URI {shown} is unusable") from exc


def _registry_blobs(base: str) -> str:
    """Where the registry's blobs live under a storage base."""
    return f"{base.rstrip('/')}/registry/blobs"
