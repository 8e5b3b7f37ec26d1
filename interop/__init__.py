"""Real third-party OIP servers (Triton, MLServer) for `make interop`: launcher, wrappers."""
