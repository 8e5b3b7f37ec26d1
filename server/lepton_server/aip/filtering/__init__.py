"""The `filter` of List RPCs (spec/general.md §5, GEN-045 to GEN-049): the fields a List RPC
accepts (fields), the grammar (grammar), the values it compares (values), and a filter's
meaning over any item (compile.compile_filter).

A filter is terms joined by `AND`; each term compares one field with a literal. Values are
plain Python: strings; ints and floats; bools; timestamps as `datetime` (a naive one is UTC,
as protobuf's `Timestamp.ToDatetime()` returns) or anything with `seconds` and `nanos` (a
protobuf Timestamp); durations as `timedelta`, seconds (int or float) or a protobuf Duration;
enums as the value name, bare (`SUCCEEDED`) or full (`JOB_STATE_SUCCEEDED`); labels as a
mapping. The getter returns None for a field the item does not set."""
