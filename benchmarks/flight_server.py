"""A plain pyarrow.flight server that keeps tables in memory: the baseline of
benchmarks/data.py for DoGet and DoPut.

    python benchmarks/flight_server.py
"""

from __future__ import annotations

import sys

from pyarrow import flight


class MemoryFlightServer(flight.FlightServerBase):
    """DoPut stores a table under its descriptor path; DoGet streams it back."""

    def __init__(self) -> None:
        super().__init__("grpc+tcp://127.0.0.1:0")
        self._tables: dict[bytes, object] = {}

    def do_put(self, context, descriptor, reader, writer) -> None:
        self._tables[descriptor.path[0]] = reader.read_all()

    def do_get(self, context, ticket) -> flight.RecordBatchStream:
        return flight.RecordBatchStream(self._tables[ticket.ticket])


if __name__ == "__main__":
    server = MemoryFlightServer()
    print(f"flight: listening on grpc+tcp://127.0.0.1:{server.port}", flush=True)
    server.serve()
    sys.exit(0)
