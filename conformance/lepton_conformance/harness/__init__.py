"""The runner's machinery: what a case is, the catalog, the target, expectations, the run,
its reports and the requirement coverage. Knows no layer; the suites build on it."""
