"""Storage URIs for imports and exports (spec/data.md §5.1) through pyarrow.fs: local paths
confined to configured roots, and S3-protocol object stores; errors mapped to §5.4."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pyarrow import fs

from lepton.data.v1 import file_format_pb2
from lepton_server.runtime.errors import (
    LeptonError,
    NotFound,
    PermissionDenied,
    Unavailable,
    Unimplemented,
    invalid_field,
)
from lepton_server.runtime.file_roots import FileRoots

KNOWN_SCHEMES = ("file", "s3", "gs", "abfs", "hdfs")
SUPPORTED_SCHEMES = ("file", "s3")


def features() -> list[str]:
    """The `data.storage.<scheme>` features this server implements."""
    return [f"data.storage.{scheme}" for scheme in SUPPORTED_SCHEMES]


@dataclass(frozen=True)
class Location:
    """A parsed storage URI: the filesystem to reach it and the path within it."""

    uri: str
    filesystem: fs.FileSystem
    path: str

    @property
    def is_directory(self) -> bool:
        return self.uri.endswith("/")


class StorageAccess:
    """Resolves URIs to filesystems; `file` paths must lie under one of `file_roots`."""

    def __init__(self, file_roots: list[Path]) -> None:
        self.file_roots = FileRoots(file_roots)

    def locate(self, uri: str, options: file_format_pb2.StorageOptions, field: str) -> Location:
        """INVALID_FIELD for a malformed URI, FEATURE_NOT_SUPPORTED for a known scheme this
        server lacks (DAT-065), STORAGE_ACCESS_DENIED outside the file roots (DAT-073)."""
        parsed = urlparse(uri)
        if parsed.scheme not in KNOWN_SCHEMES or not (parsed.netloc or parsed.path.startswith("/")):
            raise invalid_field(field, f"{uri!r} is not an absolute {'/'.join(KNOWN_SCHEMES)} URI")
        if parsed.scheme not in SUPPORTED_SCHEMES:
            feature = f"data.storage.{parsed.scheme}"
            raise Unimplemented(
                reason="FEATURE_NOT_SUPPORTED",
                message=f"this server does not read or write {parsed.scheme}:// URIs",
                metadata={"feature": feature},
            )
        if parsed.scheme == "file":
            if parsed.netloc not in ("", "localhost"):
                raise invalid_field(field, f"{uri!r} names a remote host")
            path = Path(parsed.path).resolve()
            if not self.file_roots.contains(path):
                raise PermissionDenied(
                    reason="STORAGE_ACCESS_DENIED",
                    message=f"{uri} is outside the directories this server serves",
                    metadata={"uri": uri},
                )
            return Location(
                uri, fs.LocalFileSystem(), str(path) + ("/" if uri.endswith("/") else "")
            )
        s3 = _s3(options)
        return Location(uri, s3, f"{parsed.netloc}{parsed.path}")


def _s3(options: file_format_pb2.StorageOptions) -> fs.S3FileSystem:
    # Credentials come from the server's environment; requests carry none (§5.1).
    endpoint, scheme = options.endpoint_override, "https"
    if "://" in endpoint:
        scheme, _, endpoint = endpoint.partition("://")
    return fs.S3FileSystem(
        region=options.region or None,
        anonymous=options.anonymous,
        endpoint_override=endpoint or None,
        scheme=scheme,
    )


def list_sources(location: Location) -> list[fs.FileInfo]:
    """A file, or every regular file below a directory URI in ascending path order, skipping
    names that start with '.' or '_' (§5.1)."""
    with storage_errors(location.uri):
        if not location.is_directory:
            info = location.filesystem.get_file_info(location.path)
            if info.type != fs.FileType.File:
                raise FileNotFoundError(location.path)
            return [info]
        selector = fs.FileSelector(location.path.rstrip("/"), recursive=True)
        files = [
            info
            for info in location.filesystem.get_file_info(selector)
            if info.type == fs.FileType.File
            and not any(
                part.startswith((".", "_"))
                for part in info.path[len(location.path.rstrip("/")) :].split("/")
                if part
            )
        ]
    if not files:
        raise NotFound(
            reason="STORAGE_OBJECT_NOT_FOUND",
            message=f"{location.uri} holds no file",
            metadata={"uri": location.uri},
        )
    return sorted(files, key=lambda info: info.path.encode())


@contextlib.contextmanager
def storage_errors(uri: str) -> Iterator[None]:
    """pyarrow.fs and OS errors as the job failure causes of §5.4."""
    try:
        yield
    except LeptonError:
        raise
    except FileNotFoundError:
        raise NotFound(
            reason="STORAGE_OBJECT_NOT_FOUND",
            message=f"{uri} does not exist",
            metadata={"uri": uri},
        ) from None
    except PermissionError:
        raise PermissionDenied(
            reason="STORAGE_ACCESS_DENIED",
            message=f"the server may not access {uri}",
            metadata={"uri": uri},
        ) from None
    except OSError as exc:
        raise Unavailable(
            reason="STORAGE_UNAVAILABLE",
            message=f"{uri} is unreachable: {exc}",
            metadata={"uri": uri},
        ) from None
