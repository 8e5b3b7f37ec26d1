"""`lepton rekey`: re-wrap the key record of every sealed object under the key file's first
key (runtime/encryption.py), so an older key can then leave the file. Data files are not
rewritten; a record is replaced whole, so a server may keep serving meanwhile (its key file
must hold both keys until this ends)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pyarrow import fs

from lepton_server.runtime.encryption import KEY_SUFFIX, KeyFile
from lepton_server.runtime.sealed_files import SealedFiles


@dataclass
class Rekeyed:
    """What a rekey found: records re-wrapped, those already under the first key, and those
    whose object is gone (a write a crash cut short, or a delete meanwhile: left for the
    server's garbage collection, which knows whether a write is still under way)."""

    rewrapped: int = 0
    current: int = 0
    orphaned: int = 0


def rekey_tree(sealed: SealedFiles, root: str, found: Rekeyed) -> None:
    """Re-wrap every key record below `root` of `sealed`'s filesystem."""
    selector = fs.FileSelector(root, allow_not_found=True, recursive=True)
    for info in sealed.filesystem.get_file_info(selector):
        if info.type != fs.FileType.File or not info.path.endswith(KEY_SUFFIX):
            continue
        try:
            changed = sealed.rekey(info.path.removesuffix(KEY_SUFFIX))
        except FileNotFoundError:
            found.orphaned += 1
            continue
        if changed:
            found.rewrapped += 1
        else:
            found.current += 1


def run(options: argparse.Namespace) -> Rekeyed:
    """Re-wrap below `--data-dir` and, when given, `--storage-uri`."""
    keys = KeyFile.load(options.encryption_key_file)
    found = Rekeyed()
    rekey_tree(SealedFiles(keys, fs.LocalFileSystem()), str(options.data_dir.resolve()), found)
    if options.storage_uri is not None:
        if urlparse(options.storage_uri).scheme:
            filesystem, base = fs.FileSystem.from_uri(options.storage_uri)
        else:
            filesystem, base = fs.LocalFileSystem(), str(Path(options.storage_uri).resolve())
        rekey_tree(SealedFiles(keys, filesystem), base, found)
    return found
