"""The API rules every layer follows (Google AIPs): resource names, labels, filtering,
ordering, pagination, listing, and long-running jobs as resources."""
