"""The archive rules of spec/registry.md ("Artifacts", REG-027): an `application/x-tar`
artifact is an uncompressed POSIX tar of regular files and directories with relative, unique,
UTF-8 paths free of `..`, holding its entry path; a READY archive lists its files. Only tar
headers are read, and each file's bytes are hashed; nothing is extracted or executed."""

from __future__ import annotations

import hashlib
import tarfile
from typing import BinaryIO

from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import digest_pb2, model_format_pb2

_BLOCK = 1024 * 1024


class ArchiveError(Exception):
    """The archive breaks a rule; the message says which."""


def list_archive(source: BinaryIO, entry_path: str, model_format: int) -> list[mv.ArtifactFile]:
    """Every regular file of the tar read from `source`, sorted by path, with its size and
    sha256; ArchiveError when a rule is broken."""
    try:
        with tarfile.open(fileobj=source, mode="r:", encoding="utf-8", errors="strict") as tar:
            files, directories = _members(tar)
    except (tarfile.TarError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"not a readable uncompressed tar archive: {exc}") from None
    for file_path in files:
        parts = file_path.split("/")
        directories.update("/".join(parts[:i]) for i in range(1, len(parts)))
    wants_directory = model_format == model_format_pb2.MODEL_FORMAT_SAVED_MODEL
    present = entry_path in directories if wants_directory else entry_path in files
    if not present:
        kind = "directory" if wants_directory else "file"
        raise ArchiveError(f"the entry path {entry_path!r} is not a {kind} of the archive")
    return [files[p] for p in sorted(files)]


def _members(tar: tarfile.TarFile) -> tuple[dict[str, mv.ArtifactFile], set[str]]:
    """The archive's regular files (hashed) and directories, checking each entry."""
    files: dict[str, mv.ArtifactFile] = {}
    directories = {"."}
    seen: set[str] = set()
    for member in tar:
        path = _check_path(member.name)
        if path in seen:
            raise ArchiveError(f"{path!r} appears twice")
        seen.add(path)
        if member.isdir():
            directories.add(path)
        elif member.isreg() and not member.issparse():
            # A sparse entry's bytes are not one contiguous range of the tar (REG-057).
            files[path] = _file(tar, member, path)
        else:
            raise ArchiveError(f"{path!r} is not a regular file or a directory")
    return files, directories


def file_ranges(source: BinaryIO) -> dict[str, tuple[int, int]]:
    """Where each regular file's bytes lie in a verified archive: path -> (offset, size).
    Only headers are read; the tar is seeked past every file's data."""
    with tarfile.open(fileobj=source, mode="r:", encoding="utf-8", errors="strict") as tar:
        return {
            _check_path(member.name): (member.offset_data, member.size)
            for member in tar
            if member.isreg()
        }


def _check_path(name: str) -> str:
    if name.startswith("/") or "\\" in name:
        raise ArchiveError(f"{name!r} is not a relative path with '/' separators")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{name!r} has a '..' segment")
    return "/".join(parts) or "."


def _file(archive: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> mv.ArtifactFile:
    digest = hashlib.sha256()
    content = archive.extractfile(member)
    if content is None:
        raise ArchiveError(f"{path!r} cannot be read")
    while block := content.read(_BLOCK):
        digest.update(block)
    return mv.ArtifactFile(
        path=path,
        size_bytes=member.size,
        digest=digest_pb2.Digest(
            algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=digest.hexdigest()
        ),
    )
