"""A ModelInfer load from Triton's own asyncio client, the way a Triton user drives a server.

    python benchmarks/tritonclient_load.py ADDRESS {small,large} --concurrency C
        (--duration SECONDS | --requests N)

`concurrency` coroutines over up to four connections each send the benchmark request (benchmarks/
inference.py builds the models) as soon as their last answer arrives. Prints one JSON line:
requests per second and the number of requests completed. Any error fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import numpy as np
import tritonclient.grpc.aio as triton

LARGE_ELEMENTS = 4 * 1024 * 1024
MESSAGE_LIMIT = 128 * 1024 * 1024
CONNECTIONS = 4


def inputs(kind: str) -> tuple[str, list[triton.InferInput]]:
    """The model and its inputs for the `small` or `large` request."""
    if kind == "small":
        tensors = [triton.InferInput(name, [1, 16], "FP32") for name in ("INPUT0", "INPUT1")]
        for tensor in tensors:
            tensor.set_data_from_numpy(np.arange(16, dtype=np.float32).reshape(1, 16))
        return "bench_add_sub", tensors
    tensor = triton.InferInput("INPUT0", [1, LARGE_ELEMENTS], "FP32")
    tensor.set_data_from_numpy(np.ones((1, LARGE_ELEMENTS), dtype=np.float32))
    return "bench_identity", [tensor]


async def run(
    address: str, kind: str, concurrency: int, duration: float | None, requests: int | None
) -> tuple[float, int]:
    """Requests per second and requests completed."""
    options = [
        ("grpc.max_send_message_length", MESSAGE_LIMIT),
        ("grpc.max_receive_message_length", MESSAGE_LIMIT),
        # One connection per client (channels to one address share one by default).
        ("grpc.use_local_subchannel_pool", 1),
    ]
    # As many connections as ghz opens for the same concurrency (benchmarks/inference.py).
    clients = [
        triton.InferenceServerClient(address, channel_args=options)
        for _ in range(min(concurrency, CONNECTIONS))
    ]
    model, tensors = inputs(kind)
    for client in clients:  # connect and warm up outside the measured time
        await client.infer(model, tensors)
    remaining = [requests if requests is not None else -1]
    done = [0]
    started = time.perf_counter()
    deadline = started + duration if duration is not None else float("inf")

    async def worker(client: triton.InferenceServerClient) -> None:
        while time.perf_counter() < deadline and remaining[0] != 0:
            remaining[0] -= 1
            await client.infer(model, tensors)
            done[0] += 1

    try:
        await asyncio.gather(*(worker(clients[i % len(clients)]) for i in range(concurrency)))
    finally:
        for client in clients:
            await client.close()
    elapsed = time.perf_counter() - started
    return done[0] / elapsed, done[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("kind", choices=("small", "large"))
    parser.add_argument("--concurrency", type=int, required=True)
    amount = parser.add_mutually_exclusive_group(required=True)
    amount.add_argument("--duration", type=float)
    amount.add_argument("--requests", type=int)
    options = parser.parse_args()
    rate, count = asyncio.run(
        run(options.address, options.kind, options.concurrency, options.duration, options.requests)
    )
    print(json.dumps({"rps": rate, "count": count}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
