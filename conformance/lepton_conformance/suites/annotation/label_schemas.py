"""annotation-core cases of label schemas, generated from vectors/annotation.yaml: every schema
creation refuses (ANN-004, ANN-005) with its reason and the offending label, creating nothing;
the schemas it accepts, every kind and boundary among them; and the append-only evolution of a
schema (ANN-009)."""

from __future__ import annotations

import copy
from typing import Any

from lepton.data.v1 import annotation_project_pb2 as project_pb
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    FAILED_PRECONDITION,
    INVALID,
    TABLES,
    gone,
    schema,
    standard_project,
)
from lepton_conformance.suites.annotation.annotation_client import (
    AnnotationClient,
    label_specs,
    mask,
    unique_id,
)
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
# Stand-ins the rows use for values too long to write out.
PLACEHOLDERS: dict[str, Any] = {
    "{class_257}": "c" * 257,
    "{classes_10001}": [f"c{i}" for i in range(10001)],
}


def _filled(value: Any) -> Any:
    if isinstance(value, str):
        return PLACEHOLDERS.get(value, value)
    if isinstance(value, list):
        return [_filled(v) for v in value]
    if isinstance(value, dict):
        return {k: _filled(v) for k, v in value.items()}
    return value


def _check_refused(ctx: CaseContext, row: dict[str, Any]) -> None:
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project_id = unique_id()
        request = pb.CreateAnnotationProjectRequest(
            annotation_project_id=project_id,
            annotation_project=project_pb.AnnotationProject(
                dataset_version=data.first, label_specs=label_specs(_filled(row["specs"]))
            ),
        )
        expect.rejects(
            lambda: client.call("CreateAnnotationProject", request),
            INVALID,
            row["reason"],
            field=row["field"],
        )
        gone(client, f"annotationProjects/{project_id}")


def _register_refusals() -> None:
    for row in TABLES["schema_errors"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            _check_refused(ctx, row)

        body.__doc__ = f"A label schema with {row['id'].replace('-', ' ')}: {row['reason']}"
        CASES.case(CORE, f"schemas.refuses-{row['id']}", *row["requirements"], "ANN-002")(body)


_register_refusals()


@CASES.case(CORE, "schemas.accepts-every-kind-and-boundary", "ANN-004", "ANN-005")
def accepted_schemas(ctx: CaseContext) -> None:
    """The standard schema (all eight kinds) and each schema of the boundaries (ratings of 2
    and 100, a 63-character name, images by URI, spans on a large_string) are created as
    requested."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        rows = [{"id": "standard", "specs": schema()}, *TABLES["valid_schemas"]]
        for row in rows:
            specs = label_specs(row["specs"])
            created = client.create_project(data.first, specs)
            expect.equal(list(created.label_specs), specs, f"label_specs of schema {row['id']}")


def _changed(change: dict[str, Any]) -> list[dict[str, Any]]:
    """The standard schema with one row's change applied."""
    specs = schema()
    if "drop" in change:
        del specs[change["drop"]]
    if "swap" in change:
        i, j = change["swap"]
        specs[i], specs[j] = specs[j], specs[i]
    for index, fields in change.get("change", {}).items():
        specs[int(index)] = {**specs[int(index)], **copy.deepcopy(fields)}
    if "append" in change:
        specs.append(copy.deepcopy(change["append"]))
    return specs


def _update(client: AnnotationClient, project: Any, specs: list[dict[str, Any]]) -> Any:
    request = pb.UpdateAnnotationProjectRequest(
        annotation_project=project_pb.AnnotationProject(
            name=project.name, label_specs=label_specs(specs)
        ),
        update_mask=mask("label_specs"),
    )
    return client.call("UpdateAnnotationProject", request)


def _register_incompatible() -> None:
    for row in TABLES["schema_changes"]["incompatible"]:

        def body(ctx: CaseContext, row: dict[str, Any] = row) -> None:
            data = shared_data(ctx)
            with AnnotationClient(ctx) as client:
                project = standard_project(client, data)
                expect.rejects(
                    lambda: _update(client, project, _changed(row)),
                    FAILED_PRECONDITION,
                    "INCOMPATIBLE_LABEL_SCHEMA_CHANGE",
                )
                expect.equal(client.project(project.name), project, "the project after the refusal")

        body.__doc__ = (
            f"An update of label_specs with a {row['id'].replace('-', ' ')} fails with "
            f"FAILED_PRECONDITION [INCOMPATIBLE_LABEL_SCHEMA_CHANGE] and changes nothing"
        )
        CASES.case(CORE, f"schemas.update-refuses-{row['id']}", "ANN-009")(body)


_register_incompatible()


@CASES.case(CORE, "schemas.update-accepts-append-only-changes", "ANN-009", "ANN-008")
def compatible_changes(ctx: CaseContext) -> None:
    """Appending a label, appending classes and changing a description succeed and are
    stored; an appended label that breaks a creation rule gets INVALID_FIELD."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        for row in TABLES["schema_changes"]["compatible"]:
            project = standard_project(client, data)
            specs = label_specs(_changed(row))
            updated = expect.succeeds(
                lambda project=project, row=row: _update(client, project, _changed(row)),
                f"the update with a {row['id']}",
            ).annotation_project
            expect.equal(list(updated.label_specs), specs, f"label_specs after a {row['id']}")
            expect.equal(
                list(client.project(project.name).label_specs), specs, "GetAnnotationProject"
            )
        project = standard_project(client, data)
        bad = [*schema(), {"name": "Bad Name", "kind": "LABEL_KIND_TEXT"}]
        expect.rejects(
            lambda: _update(client, project, bad),
            INVALID,
            "INVALID_FIELD",
            field=f"annotation_project.label_specs[{len(bad) - 1}]",
        )
        duplicate = [*schema(), {"name": "animal", "kind": "LABEL_KIND_TEXT"}]
        expect.rejects(
            lambda: _update(client, project, duplicate),
            INVALID,
            "INVALID_FIELD",
            field=f"annotation_project.label_specs[{len(duplicate) - 1}]",
        )
        expect.equal(client.project(project.name), project, "the project after the refusals")
