"""Where an import job reads (spec/registry.md "Import", REG-048, REG-054): a `file://` path
inside the roots the server serves, or an `s3://`, `gs://`, `abfs://` or `hdfs://` URI read
through pyarrow.fs with the server's own credentials. `check_source` runs at creation;
`fetch` copies a remote source into a local directory for the job."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import pyarrow as pa
from pyarrow import fs

from lepton_server.runtime.errors import (
    LeptonError,
    NotFound,
    PermissionDenied,
    Unavailable,
    Unimplemented,
    invalid_field,
)
from lepton_server.runtime.file_roots import FileRoots

# The pyarrow.fs class each remote scheme needs; a pyarrow built without it cannot read it.
REMOTE_FILESYSTEMS = {
    "s3": "S3FileSystem",
    "gs": "GcsFileSystem",
    "abfs": "AzureFileSystem",
    "hdfs": "HadoopFileSystem",
}
FEATURE = "registry.import"


@dataclass(frozen=True)
class ImportSource:
    """A checked source URI; `local` is its path for `file://`, None for a remote URI."""

    uri: str
    local: Path | None


def check_source(uri: str, roots: FileRoots, field: str) -> ImportSource:
    """INVALID_FIELD for an empty or malformed URI, or one with user information or a query
    (secrets never travel in a spec); FEATURE_NOT_SUPPORTED for a scheme pyarrow lacks here;
    PERMISSION_DENIED PATH_NOT_ALLOWED for a `file://` path outside the roots."""
    if not uri:
        raise invalid_field(field, "the URI of the files to import is required")
    parsed = urlparse(uri)
    if "@" in parsed.netloc or parsed.query:
        raise invalid_field(field, "a source URI holds no user information and no query string")
    known = ("file", *REMOTE_FILESYSTEMS)
    if parsed.scheme not in known or not (parsed.netloc or parsed.path.startswith("/")):
        raise invalid_field(field, f"{uri!r} is not an absolute {'/'.join(known)} URI")
    if parsed.scheme != "file":
        if not hasattr(fs, REMOTE_FILESYSTEMS[parsed.scheme]):
            raise Unimplemented(
                reason="FEATURE_NOT_SUPPORTED",
                message=f"this server cannot read {parsed.scheme}:// URIs",
                metadata={"feature": FEATURE},
            )
        return ImportSource(uri, None)
    if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
        raise invalid_field(field, f"{uri!r} does not name a local absolute path")
    path = Path(unquote(parsed.path))
    if not roots.contains(path):
        raise PermissionDenied(
            reason="PATH_NOT_ALLOWED",
            message=f"{uri} is outside the directories this server serves",
            metadata={"uri": uri},
        )
    return ImportSource(uri, path.resolve())


def local_path(source: ImportSource) -> Path:
    """The existing local file or directory of a `file://` source; NOT_FOUND otherwise."""
    if source.local is None or not source.local.exists():
        raise _missing(source.uri)
    return source.local


def fetch(source: ImportSource, directory: Path) -> Path:
    """Copy a remote file or directory into `directory`; the local copy's path."""
    with _storage_errors(source.uri):
        filesystem, path = fs.FileSystem.from_uri(source.uri)
        path = path.rstrip("/")
        info = filesystem.get_file_info(path)
        if info.type == fs.FileType.NotFound:
            raise _missing(source.uri)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / (PurePosixPath(path).name or "source")
        fs.copy_files(
            path,
            str(target),
            source_filesystem=filesystem,
            destination_filesystem=fs.LocalFileSystem(),
        )
        return target


def _missing(uri: str) -> NotFound:
    return NotFound(
        reason="RESOURCE_NOT_FOUND",
        message=f"{uri} does not exist",
        metadata={"resource_name": uri},
    )


@contextlib.contextmanager
def _storage_errors(uri: str) -> Iterator[None]:
    """Storage failures as the job's failure cause."""
    try:
        yield
    except LeptonError:
        raise
    except FileNotFoundError:
        raise _missing(uri) from None
    except PermissionError:
        raise PermissionDenied(
            reason="PERMISSION_DENIED", message=f"the server may not read {uri}"
        ) from None
    except (OSError, pa.ArrowException) as error:
        raise Unavailable(
            reason="SERVICE_UNAVAILABLE", message=f"{uri} cannot be read: {error}"
        ) from None
