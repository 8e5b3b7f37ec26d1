"""A reference server for the other languages' client tests (tests/clients): the
conformance model set, the data layer with an Arrow Flight endpoint, a bearer token, and
versions written and read back with the Python SDK, whose content digests the clients must
reproduce from their own reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from lepton_ai import DataManager
from lepton_conformance.suites.data import arrow_samples, table_digest
from support.servers import ServerProcess, start_server

TOKEN = "client-token"
ROOT = Path(__file__).resolve().parents[2]
VECTORS = (
    ROOT / "conformance/lepton_conformance/suites/inference/vectors/inference.yaml"
).resolve()


@dataclass
class LiveServer:
    server: ServerProcess
    # Version name -> content digest of the Python SDK's read of it.
    digests: dict[str, str]
    # A dataset with more versions than one page of ListVersions holds.
    paged_dataset: str

    def environment(self) -> dict[str, str]:
        """What the clients' live tests read (clients/go/internal/livetest)."""
        return {
            "LEPTON_ADDRESS": self.server.address,
            "LEPTON_TOKEN": TOKEN,
            "LEPTON_VECTORS": str(VECTORS),
            "LEPTON_DIGEST_CASES": ";".join(f"{n}={d}" for n, d in self.digests.items()),
            "LEPTON_EXAMPLE_VERSION": next(iter(self.digests)),
            "LEPTON_PAGED_DATASET": self.paged_dataset,
        }


def _many_rows(rows: int) -> pa.Table:
    generator = np.random.default_rng(17)
    values = generator.normal(size=rows)
    values[::97] = np.nan
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "value": pa.array(values, mask=np.arange(rows) % 13 == 0),
            "name": pa.array([f"n{i % 1000}" if i % 11 else None for i in range(rows)]),
            "tags": pa.array([[i % 3, i % 5] if i % 17 else None for i in range(rows)]),
        }
    )


def start(model_repository: Path, root: Path) -> LiveServer:
    """Start the server and write its versions: a version of several leaves in many
    batches, every type the standard stores (spec/data.md §4.1), and values hidden under
    nulls and NaN payloads (§4.3)."""
    tokens = root / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    server = start_server(
        [
            *("--model-repository", str(model_repository)),
            *("--flight-address", "127.0.0.1:0"),
            *("--auth-tokens", str(tokens)),
        ],
        root / "data",
    )
    tables = {
        "many-rows": _many_rows(200_000),
        "typed": arrow_samples.typed_table(),
        "hidden-values": arrow_samples.hidden_values_table(hidden=True),
    }
    digests = {}
    with DataManager.connect(server.address, token=TOKEN, progress=False) as manager:
        for dataset, table in tables.items():
            batches = table.to_batches(max_chunksize=7_000)
            source = pa.Table.from_batches(batches, table.schema) if batches else table
            version = manager.load_data(source, dataset)
            digests[version.name] = table_digest.content_digest(manager.read(version.name))
        for _ in range(7):
            manager.load_data(pa.table({"x": [1, 2, 3]}), "paged", mode="append")
    return LiveServer(server, digests, "datasets/paged")
