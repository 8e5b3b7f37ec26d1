"""The request-id table a layer's database keeps (GEN-053): what deleting a resource forgets."""

from __future__ import annotations

from lepton_server.runtime.sqlite_database import SqliteDatabase


def test_forgetting_a_resource_forgets_its_requests_and_those_under_it_only(tmp_path):
    database = SqliteDatabase(tmp_path / "metadata.sqlite", "")
    parents = [
        "datasets/a",
        "datasets/a/versions",
        "datasets/a/tags/t",
        "datasets/a-b",
        "datasets/ab",
        "datasets/a0",
        "datasets/b",
        "datasets",
    ]
    for parent in parents:
        database.remember_request("Create", parent, "r1", fingerprint="f", result="x", now=1)
    database.forget_requests("datasets/a")
    kept = {p for p in parents if database.request("Create", p, "r1", since=0) is not None}
    assert kept == {"datasets/a-b", "datasets/ab", "datasets/a0", "datasets/b", "datasets"}
    # The deletion finds them through the index, not by reading every request ever made.
    statements: list[str] = []
    database._db.set_trace_callback(statements.append)
    database.forget_requests("datasets/b")
    database._db.set_trace_callback(None)
    (delete,) = statements
    plan = database._db.execute(f"EXPLAIN QUERY PLAN {delete}").fetchall()
    assert all(not detail.startswith("SCAN") for *_, detail in plan), plan
    database.close()
