"""The rows of a new version taken as they come, in order, from a write's stream
(version_ingest.py) or an import's files (dataset_jobs.py): each part is cast to the version's
schema, gathered into the new segment's batches, and handed to the content digest, whose
leaves hash on other cores while the rest arrives. Memory holds a bounded window, whatever
the number of rows.

The rows are checked and digested against the head the dataset had when the builder began;
the commit (version_writes.py) uses that work if the head is still the same, and otherwise
commits the written rows again against the new head."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton_server.data import arrow_types
from lepton_server.data.metadata_store import VersionRow
from lepton_server.data.table_digest import LEAF_ROWS, TableDigest
from lepton_server.data.version_storage import SegmentWriter, VersionStorage
from lepton_server.runtime.errors import invalid_argument

# Rows gathered before they go to the segment: small parts make few file batches.
SEGMENT_BATCH_ROWS = 64 * 1024


@dataclass
class Ingested:
    """What the builder left: the rows' schema, their unpublished segment (None when there
    are no new rows), the digest of the version they make, and (for a write that declared
    it) the SHA-256 of the raw bytes. For APPEND, schema, rows and digest hold on `parent`
    only, the head when the builder began."""

    append: bool
    parent: VersionRow | None
    schema: pa.Schema
    writer: SegmentWriter | None
    rows: int  # of the version: the head's rows (for APPEND) and the new ones
    digest: str
    leaves: list[list[bytes]]  # the digest's full leaves, per column (VersionStorage keeps them)
    raw_sha256: str = ""


class VersionBuilder:
    """New rows in (add), an Ingested out (finish), or nothing left behind (discard). Used
    from one thread at a time."""

    def __init__(
        self,
        storage: VersionStorage,
        dataset_uid: str,
        head: VersionRow | None,
        append: bool,
        written: pa.Schema,
    ) -> None:
        """`written` is the new rows' schema (its dictionaries are stored decoded, DAT-025);
        for APPEND it must merge with the head's (SCHEMA_MISMATCH otherwise)."""
        self._storage = storage
        self._dataset_uid = dataset_uid
        self._append = append
        self._parent = head if append else None
        written = arrow_types.decode_dictionaries(written.empty_table()).schema
        parent_rows = 0
        if self._parent is not None:
            parent = resources.DatasetVersion.FromString(self._parent.message)
            self.schema = merged_schema(parent, written)
            parent_rows = parent.row_count
        else:
            self.schema = written
        self._writer: SegmentWriter | None = None
        self._gathered: list[pa.Table] = []
        self._gathered_rows = 0
        self._digest = TableDigest()
        if self._parent is not None:  # the version's digest covers the head's rows too
            try:
                self._digest_parent(self._parent, parent_rows)
            except BaseException:
                self._digest.close()
                raise

    def _digest_parent(self, parent: VersionRow, rows: int) -> None:
        """The parent's `rows` into the digest: those its kept leaves cover are neither read
        nor hashed again, so an APPEND costs its new rows (and one leaf of the parent's)."""
        leaves = None
        if parent.segments:
            leaves = self._storage.read_leaves(
                self._dataset_uid, parent.segments[-1], len(self.schema)
            )
        if leaves and len(leaves[0]) * LEAF_ROWS <= rows:
            self._digest.resume(leaves)
        tail = self._storage.read_from(
            self._dataset_uid, parent.segments, self.schema, self._digest.rows, rows
        )
        self._digest.add(tail)

    def add(self, rows: pa.Table) -> None:
        """The next new rows, in `written`'s columns (dictionaries are decoded here)."""
        rows = arrow_types.decode_dictionaries(rows)
        if rows.schema != self.schema:
            rows = rows.cast(self.schema)
        self._digest.add(rows)
        self._gathered.append(rows)
        self._gathered_rows += rows.num_rows
        if self._gathered_rows >= SEGMENT_BATCH_ROWS:
            self._to_segment()

    def finish(self, raw_sha256: str = "") -> Ingested:
        """Every row is in: the segment completed (not yet published) and the digest."""
        try:
            if self._gathered_rows:
                self._to_segment()
            if self._writer is not None:
                self._writer.close()
            digest = self._digest.hexdigest(self.schema)
            leaves = self._digest.full_leaves()
        finally:
            self._digest.close()
        return Ingested(
            self._append,
            self._parent,
            self.schema,
            self._writer,
            self._digest.rows,
            digest,
            leaves,
            raw_sha256,
        )

    def discard(self) -> None:
        """Remove the segment unless a commit published it."""
        self._digest.close()
        if self._writer is not None:
            self._writer.discard()

    def _to_segment(self) -> None:
        if self._writer is None:
            self._writer = SegmentWriter(self._storage, self._dataset_uid, self.schema)
        rows = pa.concat_tables(self._gathered)
        self._writer.write(rows.combine_chunks() if len(self._gathered) > 1 else rows)
        self._gathered, self._gathered_rows = [], 0


def merged_schema(parent: resources.DatasetVersion, written: pa.Schema) -> pa.Schema:
    """§4.4: same names, order and canonical types; nullable if either side is; the
    parent's metadata kept. Otherwise SCHEMA_MISMATCH."""
    schema = pa.ipc.read_schema(pa.py_buffer(parent.schema.arrow_schema))
    if len(schema) != len(written):
        raise invalid_argument(
            "SCHEMA_MISMATCH",
            "arrow_data",
            f"the parent has {len(schema)} columns, the data {len(written)}",
        )
    fields = []
    for theirs, ours in zip(schema, written, strict=True):
        same_type = arrow_types.canonical_type(theirs.type) == arrow_types.canonical_type(ours.type)
        if theirs.name != ours.name or not same_type:
            raise invalid_argument(
                "SCHEMA_MISMATCH",
                "arrow_data",
                f"column {ours.name!r}: {arrow_types.canonical_type(ours.type)}, the parent "
                f"has {theirs.name!r}: {arrow_types.canonical_type(theirs.type)}",
            )
        fields.append(theirs.with_nullable(theirs.nullable or ours.nullable))
    return pa.schema(fields, metadata=schema.metadata)
