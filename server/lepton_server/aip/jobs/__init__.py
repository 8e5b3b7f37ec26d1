"""Long-running jobs as resources (spec/general.md §7), for every layer: the store, the runner
that moves a job through its states, and the standard Get/List/Cancel/Watch of one kind of job
(collection.JobCollection) with its RPCs (rpcs.job_rpcs)."""
