"""Storage locations the server reads imports from and writes exports to (spec/data.md §5.1).

A `StorageManager` names a root URI and the non-secret options the server should use to reach
it. It never touches the storage itself: the server does, with its own credentials."""

from __future__ import annotations

import re
from pathlib import Path

from lepton.data.v1 import file_format_pb2

URI_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(location: object) -> bool:
    """Whether `location` is a storage URI ("s3://...", "file:///...") rather than a local
    path."""
    return isinstance(location, str) and URI_PATTERN.match(location) is not None


class StorageManager:
    """A storage root such as "s3://bucket/datasets/" or "file:///srv/shared/", plus the
    non-secret StorageOptions (region, endpoint override, anonymous access) sent with every
    import or export under it. Relative paths resolve against the root:

        storage = StorageManager("s3://bucket/raw", region="eu-west-1")
        manager.load_data("2024/sales.csv", "sales", storage=storage)
    """

    def __init__(
        self,
        uri: str,
        *,
        region: str = "",
        endpoint_override: str = "",
        anonymous: bool = False,
    ) -> None:
        if not is_uri(uri):
            raise ValueError(f"{uri!r} is not a storage URI; use StorageManager.local(path)")
        self.uri = uri
        self.region = region
        self.endpoint_override = endpoint_override
        self.anonymous = anonymous

    @classmethod
    def local(cls, path: str | Path) -> StorageManager:
        """A file:// root for a directory of the server's machine (the server confines file://
        URIs to its configured roots)."""
        return cls(Path(path).absolute().as_uri() + "/")

    @property
    def scheme(self) -> str:
        """The URI scheme, e.g. "s3"."""
        return self.uri.split("://", 1)[0].lower()

    @property
    def options(self) -> file_format_pb2.StorageOptions | None:
        """The StorageOptions to send, or None when every option is the server's default."""
        if not (self.region or self.endpoint_override or self.anonymous):
            return None
        return file_format_pb2.StorageOptions(
            region=self.region,
            endpoint_override=self.endpoint_override,
            anonymous=self.anonymous,
        )

    def join(self, path: str = "") -> str:
        """The URI of `path` under the root; a path that already is a URI is returned as is.
        A trailing "/" (a directory) is kept."""
        if is_uri(path):
            return path
        if not path:
            return self.uri
        return self.uri.rstrip("/") + "/" + path.lstrip("/")

    def __truediv__(self, path: str) -> str:
        return self.join(path)

    def __repr__(self) -> str:
        extras = "".join(
            f", {name}={value!r}"
            for name, value in (
                ("region", self.region),
                ("endpoint_override", self.endpoint_override),
                ("anonymous", self.anonymous),
            )
            if value
        )
        return f"StorageManager({self.uri!r}{extras})"
