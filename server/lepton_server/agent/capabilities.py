"""What this device can run, as RegisterRequest.capabilities reports it: the operating
system, memory and storage, and onnxruntime with its available execution providers."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

import onnxruntime

from lepton.edge.v1 import capabilities_pb2


def device_capabilities(state_dir: Path) -> capabilities_pb2.DeviceCapabilities:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 0
    return capabilities_pb2.DeviceCapabilities(
        os=platform.system().lower(),
        os_version=platform.release(),
        architecture=platform.machine(),
        memory_bytes=memory,
        storage_bytes=shutil.disk_usage(state_dir).total,
        runtimes=[
            capabilities_pb2.Runtime(
                name="onnxruntime",
                version=onnxruntime.__version__,
                execution_providers=[
                    capabilities_pb2.ExecutionProvider(name=name)
                    for name in onnxruntime.get_available_providers()
                ],
            )
        ],
    )
