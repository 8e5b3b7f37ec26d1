"""The runner's machinery: what a case is, the catalog, the target and its discovery,
expectations, the run, its reports and the requirement coverage. Knows no layer; the suites
build on it."""
