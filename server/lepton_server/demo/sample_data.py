"""The data part of `lepton demo`, through the Python SDK as a user would write it: ingest a
CSV with personal data, clean and anonymize it with a declarative pipeline, read it back.

It runs the SDK's blocking calls, so call it off the event loop that serves the server."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from rich.console import Console
from rich.table import Table

FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John"]
DOMAINS = ["example.com", "example.org", "example.net"]


def write_sample_csv(path: Path, rows: int = 200, seed: int = 11) -> Path:
    """Customers with names, e-mails, ages, spend and whether they churned (mostly those who
    spend little): some names missing, some rows twice."""
    generator = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["customer_id", "name", "email", "age", "spend", "churned"])
        for i in range(rows):
            name = generator.choice(FIRST) if generator.random() > 0.05 else ""
            email = f"{(name or 'anon').lower()}.{i}@{generator.choice(DOMAINS)}"
            spend = round(generator.uniform(0, 500), 2)
            churned = int((spend < 150) != (generator.random() < 0.1))
            row = [i, name, email, generator.randint(12, 80), spend, churned]
            writer.writerow(row)
            if i % 25 == 0:
                writer.writerow(row)  # a duplicate to clean up
    return path


def run_data_flow(console: Console, address: str, files: Path, token: str | None = None) -> None:
    """Ingest, process and read back; prints what happens."""
    from lepton_ai import DataManager, DataProcessor, Hash, Mask, col  # noqa: PLC0415

    source = write_sample_csv(files / "customers.csv")
    with DataManager.connect(address, token=token) as data:
        raw = data.load_data(f"file://{source}", "customers", tags=["raw"])
        console.print(
            f"Imported {source.name} as {raw.name}: {raw.row_count} rows, "
            f"digest {raw.content_digest.hex[:12]}…"
        )
        cleaning = (
            DataProcessor()
            .drop_nulls(["name"])
            .deduplicate()
            .filter(col("age") >= 18)
            .anonymize({"email": Hash(salt="demo-salt"), "name": Mask(keep=1)})
            .standardize(["spend"])
        )
        clean = data.process_data(raw, cleaning, "customers-clean", tags=["clean"])
        console.print(
            f"Pipeline {cleaning.fingerprint()[:12]}… produced {clean.name}: "
            f"{clean.row_count} rows (lineage: {', '.join(clean.lineage.input_versions)})"
        )
        sample = data.read("datasets/customers-clean/tags/clean", limit=5)
        table = Table(title="customers-clean (first rows, read back as Arrow)")
        for column in sample.column_names:
            table.add_column(column)
        for row in sample.to_pylist():
            table.add_row(*(str(v)[:18] for v in row.values()))
        console.print(table)
