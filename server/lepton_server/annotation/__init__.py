"""The annotation layer: projects, tasks, annotations, predictions, leases, reviews and
agreement (spec/annotation.md)."""
