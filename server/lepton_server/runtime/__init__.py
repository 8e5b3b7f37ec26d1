"""The hosting runtime every layer shares: the gRPC host, the layer registry, errors and their
one mapping to a status, auth, reflection, discovery, and the method-handler and wire helpers."""
