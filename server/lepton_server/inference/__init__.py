"""The inference layer (spec/inference.md): an Open Inference Protocol server over
onnxruntime. `layer.py` declares it to the host; `services.py` builds its services."""
