"""annotation-core cases of projects: creation with its resolved version and counts (ANN-003),
task counts (ANN-006), listing (ANN-007), updates and etags (ANN-008, ANN-010), deletion
(ANN-011), projects that outlive their dataset (ANN-012) and the overlap count (ANN-056)."""

from __future__ import annotations

import secrets

from google.protobuf.json_format import MessageToDict

from lepton.data.v1 import annotation_project_pb2 as project_pb
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    ABORTED,
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    INVALID,
    NOT_FOUND,
    STALE_ETAG,
    gone,
    not_found,
    project_with_tasks,
    schema,
    standard_project,
    unchanged,
)
from lepton_conformance.suites.annotation.annotation_client import (
    COMPLETED,
    REJECTED,
    AnnotationClient,
    classification,
    label_specs,
    mask,
    unique_id,
)
from lepton_conformance.suites.annotation.annotation_data import (
    FIRST_ROWS,
    delete_dataset,
    own_dataset,
    shared_data,
)
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
Project = project_pb.AnnotationProject


def _create(
    client: AnnotationClient, project_id: str, project: Project
) -> pb.CreateAnnotationProjectResponse:
    request = pb.CreateAnnotationProjectRequest(
        annotation_project_id=project_id, annotation_project=project
    )
    return client.call("CreateAnnotationProject", request)


@CASES.case(CORE, "projects.create-returns-the-project", "ANN-003", "ANN-002")
def create_project(ctx: CaseContext) -> None:
    """CreateAnnotationProject over a tag returns the project with the canonical version, the
    requested fields, zero task counts, equal create and update times and an etag; output-only
    fields of the request are ignored and GetAnnotationProject returns the same."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project_id = unique_id()
        specs = label_specs(schema())
        created = client.create_project(
            data.first_tag,
            specs,
            project_id,
            display_name="Conformance project",
            description="every kind of label",
            instructions="# Label *carefully*",
            labels={"team": "conformance"},
            required_annotation_count=3,
            name="annotationProjects/not-this-one",
            etag="client-etag",
            task_counts=project_pb.TaskCounts(total_count=9, new_count=9),
        )
        expect.equal(created.name, f"annotationProjects/{project_id}", "the project's name")
        expect.equal(created.dataset_version, data.first, "dataset_version (the tag resolved)")
        expect.equal(
            (created.display_name, created.description, created.instructions),
            ("Conformance project", "every kind of label", "# Label *carefully*"),
            "(display_name, description, instructions)",
        )
        expect.equal(dict(created.labels), {"team": "conformance"}, "labels")
        expect.equal(list(created.label_specs), specs, "label_specs as requested")
        expect.equal(created.required_annotation_count, 3, "required_annotation_count")
        expect.equal(MessageToDict(created.task_counts), {}, "task_counts all 0 on a new project")
        expect.equal(created.create_time, created.update_time, "create_time = update_time")
        expect.holds(
            bool(created.etag) and created.etag != "client-etag",
            "a server-set etag",
            repr(created.etag),
        )
        expect.equal(client.project(created.name), created, "GetAnnotationProject")


@CASES.case(CORE, "projects.create-refuses-bad-ids-and-versions", "ANN-003", "ANN-002")
def create_refusals(ctx: CaseContext) -> None:
    """A malformed id is INVALID_NAME, a taken id RESOURCE_ALREADY_EXISTS, an unknown version
    or tag RESOURCE_NOT_FOUND and a malformed version reference INVALID_NAME."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        specs = label_specs(schema())
        for bad in ("Bad_Id", "1abc", "ends-", "a" * 64):
            expect.rejects(
                lambda bad=bad: _create(
                    client, bad, Project(dataset_version=data.first, label_specs=specs)
                ),
                INVALID,
                "INVALID_NAME",
                field="annotation_project_id",
            )
        taken = standard_project(client, data)
        taken_id = taken.name.split("/")[1]
        expect.rejects(
            lambda: _create(
                client, taken_id, Project(dataset_version=data.second, label_specs=specs)
            ),
            ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
        )
        expect.equal(client.project(taken.name), taken, "the project whose id was taken")
        for missing in (f"{data.dataset}/versions/conf-missing", f"{data.dataset}/tags/missing"):
            project_id = unique_id()
            expect.rejects(
                lambda missing=missing, project_id=project_id: _create(
                    client, project_id, Project(dataset_version=missing, label_specs=specs)
                ),
                NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
            gone(client, f"annotationProjects/{project_id}")
        expect.rejects(
            lambda: _create(
                client, unique_id(), Project(dataset_version="flowers-v1", label_specs=specs)
            ),
            INVALID,
            "INVALID_NAME",
            field="annotation_project.dataset_version",
        )


@CASES.case(CORE, "projects.task-counts-follow-task-states", "ANN-006")
def task_counts(ctx: CaseContext) -> None:
    """GetAnnotationProject and ListAnnotationProjects count a project's tasks in total and
    per state as they are at the response."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        run = secrets.token_hex(4)
        project, tasks = project_with_tasks(client, data, 5, labels={"run": run})
        client.annotate(tasks[1].name, [classification("animal", "cat")])
        for task in tasks[2:4]:
            client.annotate(task.name, [classification("animal", "dog")])
            client.set_state(task.name, COMPLETED)
        client.set_state(tasks[3].name, REJECTED)
        wanted = project_pb.TaskCounts(
            total_count=5, new_count=2, in_progress_count=1, completed_count=1, rejected_count=1
        )
        expect.equal(client.project(project.name).task_counts, wanted, "task_counts of Get")
        listed = client.walk(
            "ListAnnotationProjects",
            pb.ListAnnotationProjectsRequest(filter=f'labels.run = "{run}"'),
        )
        expect.equal([p.name for p in listed], [project.name], "the listed project")
        expect.equal(listed[0].task_counts, wanted, "task_counts of List")
        client.call("DeleteAnnotationTask", pb.DeleteAnnotationTaskRequest(name=tasks[0].name))
        wanted.total_count, wanted.new_count = 4, 1
        expect.equal(client.project(project.name).task_counts, wanted, "task_counts after a delete")


@CASES.case(CORE, "projects.list-in-name-order-with-filters", "ANN-007", "ANN-002")
def list_projects(ctx: CaseContext) -> None:
    """ListAnnotationProjects returns projects by name, page by page, filtered by
    dataset_version, labels and create_time; bad pages, tokens and filters are refused."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        run, base = secrets.token_hex(4), unique_id()
        made = []
        for suffix, version in (("c", data.first), ("a", data.second), ("b", data.first)):
            labels = {"run": run, "kind": suffix}
            made.append(
                client.create_project(
                    version, label_specs(schema()), f"{base}-{suffix}", labels=labels
                )
            )
        names = sorted(p.name for p in made)

        def listed(expression: str, page_size: int = 0) -> list[str]:
            request = pb.ListAnnotationProjectsRequest(
                filter=f'labels.run = "{run}"{expression}', page_size=page_size
            )
            return [p.name for p in client.walk("ListAnnotationProjects", request)]

        expect.equal(listed(""), names, "the projects in ascending name order")
        expect.equal(listed("", page_size=1), names, "the projects in pages of one")
        expect.equal(listed(' AND labels.kind != "b"'), [names[0], names[2]], 'labels.kind != "b"')
        expect.equal(
            listed(f' AND dataset_version = "{data.second}"'),
            [f"annotationProjects/{base}-a"],
            "dataset_version = the second version",
        )
        cut, at = made[1].create_time.ToJsonString(), made[1].create_time.ToNanoseconds()
        later = sorted(p.name for p in made if p.create_time.ToNanoseconds() >= at)
        expect.equal(listed(f' AND create_time >= "{cut}"'), later, "create_time >= the second")
        earlier = sorted(p.name for p in made if p.create_time.ToNanoseconds() < at)
        expect.equal(listed(f' AND create_time < "{cut}"'), earlier, "create_time < the second")
        for field, request, reason in (
            ("page_size", pb.ListAnnotationProjectsRequest(page_size=-1), "INVALID_FIELD"),
            (
                "page_token",
                pb.ListAnnotationProjectsRequest(page_token="not-a-token"),
                "INVALID_PAGE_TOKEN",
            ),
            (
                "filter",
                pb.ListAnnotationProjectsRequest(filter='display_name = "x"'),
                "INVALID_FILTER",
            ),
            (
                "filter",
                pb.ListAnnotationProjectsRequest(filter='dataset_version != "x"'),
                "INVALID_FILTER",
            ),
        ):
            expect.rejects(
                lambda request=request: client.call("ListAnnotationProjects", request),
                INVALID,
                reason,
                field=field,
            )


@CASES.case(CORE, "projects.default-page-size-is-50", "ANN-007", "ANN-002")
def default_page_size(ctx: CaseContext) -> None:
    """Without page_size, ListAnnotationProjects returns 50 projects and a next page token."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        run = secrets.token_hex(4)
        specs = label_specs([{"name": "caption", "kind": "LABEL_KIND_TEXT"}])
        for _ in range(51):
            client.create_project(data.first, specs, labels={"run": run})
        request = pb.ListAnnotationProjectsRequest(filter=f'labels.run = "{run}"')
        page = client.ok("ListAnnotationProjects", request)
        expect.equal(len(page.annotation_projects), 50, "projects on a default page")
        expect.holds(bool(page.next_page_token), "a next_page_token", "none")


@CASES.case(CORE, "projects.update-changes-exactly-the-masked-fields", "ANN-008")
def update_project(ctx: CaseContext) -> None:
    """UpdateAnnotationProject changes the masked fields only (empty mask: the non-empty
    ones; `*`: every mutable one), sets a new etag and update_time, and refuses other paths
    with INVALID_FIELD on update_mask."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(
            client, data, display_name="before", description="kept", labels={"a": "b"}
        )
        change = Project(name=project.name, display_name="after", description="not masked")
        updated = client.update_project(change, "display_name")
        expect.equal(
            (updated.display_name, updated.description),
            ("after", "kept"),
            "(display_name, description)",
        )
        expect.holds(
            updated.etag != project.etag
            and updated.update_time.ToNanoseconds() > project.update_time.ToNanoseconds(),
            "a new etag and a later update_time",
            f"etag {updated.etag!r} (was {project.etag!r}), "
            f"update_time {updated.update_time.ToJsonString()}",
        )
        implicit = client.update_project(Project(name=project.name, instructions="read me"))
        expect.equal(
            (
                implicit.display_name,
                implicit.description,
                implicit.instructions,
                dict(implicit.labels),
            ),
            ("after", "kept", "read me", {"a": "b"}),
            "the fields after an update with an empty mask",
        )
        whole = Project(name=project.name, label_specs=project.label_specs, display_name="all")
        everything = client.update_project(whole, "*")
        expect.equal(
            (
                everything.display_name,
                everything.description,
                everything.instructions,
                dict(everything.labels),
            ),
            ("all", "", "", {}),
            "the fields after an update of `*`",
        )
        expect.equal(
            everything.required_annotation_count, 1, "required_annotation_count 0 reported as 1"
        )
        expect.equal(everything.dataset_version, project.dataset_version, "dataset_version")
        for path in ("dataset_version", "name", "create_time", "task_counts", "etag", "colour"):
            request = pb.UpdateAnnotationProjectRequest(
                annotation_project=Project(
                    name=project.name, dataset_version=data.second, display_name="x"
                ),
                update_mask=mask("display_name", path),
            )
            expect.rejects(
                lambda request=request: client.call("UpdateAnnotationProject", request),
                INVALID,
                "INVALID_FIELD",
                field="update_mask",
            )
        unchanged(everything, client.project(project.name), "the project after refused updates")


@CASES.case(CORE, "projects.stale-etag-changes-nothing", "ANN-010")
def project_etags(ctx: CaseContext) -> None:
    """UpdateAnnotationProject and DeleteAnnotationProject with a stale etag are ABORTED
    [ETAG_MISMATCH] and change nothing; with the current etag they work."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data, display_name="one")
        newer = client.update_project(
            Project(name=project.name, display_name="two"), "display_name"
        )
        stale = Project(name=project.name, display_name="three", etag=project.etag)
        expect.rejects(
            lambda: client.call(
                "UpdateAnnotationProject",
                pb.UpdateAnnotationProjectRequest(
                    annotation_project=stale, update_mask=mask("display_name")
                ),
            ),
            ABORTED,
            "ETAG_MISMATCH",
        )
        expect.rejects(
            lambda: client.call(
                "DeleteAnnotationProject",
                pb.DeleteAnnotationProjectRequest(name=project.name, etag=STALE_ETAG),
            ),
            ABORTED,
            "ETAG_MISMATCH",
        )
        expect.equal(client.project(project.name), newer, "the project after stale calls")
        current = Project(name=project.name, display_name="four", etag=newer.etag)
        latest = client.update_project(current, "display_name")
        expect.equal(latest.display_name, "four", "display_name after an update with the etag")
        client.ok(
            "DeleteAnnotationProject",
            pb.DeleteAnnotationProjectRequest(name=project.name, etag=latest.etag),
        )
        gone(client, project.name)


@CASES.case(CORE, "projects.delete-needs-force-and-takes-everything", "ANN-011")
def delete_project(ctx: CaseContext) -> None:
    """DeleteAnnotationProject refuses a project with tasks without force (PROJECT_NOT_EMPTY);
    with force the project, its tasks, annotations and predictions are NOT_FOUND; an empty
    project needs no force."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project, (task,) = project_with_tasks(client, data, 1)
        annotation = client.annotate(task.name, [classification("animal", "cat")])
        prediction = client.predict(task.name, [classification("animal", "dog")])
        expect.rejects(
            lambda: client.call(
                "DeleteAnnotationProject", pb.DeleteAnnotationProjectRequest(name=project.name)
            ),
            FAILED_PRECONDITION,
            "PROJECT_NOT_EMPTY",
        )
        client.task(task.name)
        client.annotation(annotation.name)
        client.ok(
            "DeleteAnnotationProject",
            pb.DeleteAnnotationProjectRequest(name=project.name, force=True),
        )
        for name in (project.name, task.name, annotation.name, prediction.name):
            gone(client, name)
        empty = standard_project(client, data)
        client.ok("DeleteAnnotationProject", pb.DeleteAnnotationProjectRequest(name=empty.name))
        gone(client, empty.name)
        not_found(
            lambda: client.call(
                "DeleteAnnotationProject", pb.DeleteAnnotationProjectRequest(name=empty.name)
            ),
            empty.name,
        )


@CASES.case(CORE, "projects.outlive-their-dataset", "ANN-012")
def outlive_dataset(ctx: CaseContext) -> None:
    """After its dataset is deleted a project stays readable and its tasks keep their rows
    and take annotations and predictions; only new tasks fail, NOT_FOUND for the version."""
    with own_dataset(ctx, FIRST_ROWS) as (dataset, version), AnnotationClient(ctx) as client:
        project = client.create_project(version, label_specs(schema()))
        task = client.create_task(project.name, 1)
        before = client.task(task.name)
        delete_dataset(ctx, dataset)
        expect.equal(client.project(project.name).name, project.name, "the project")
        expect.equal(client.task(task.name).row, before.row, "the task's row copy")
        client.annotate(task.name, [classification("animal", "cat")])
        client.predict(task.name, [classification("animal", "dog")])
        client.set_state(task.name, COMPLETED)
        request = pb.CreateAnnotationTaskRequest(parent=project.name)
        request.annotation_task.row_index = 2
        expect.rejects(
            lambda: client.call("CreateAnnotationTask", request), NOT_FOUND, "RESOURCE_NOT_FOUND"
        )
        batch = pb.BatchCreateAnnotationTasksRequest(parent=project.name)
        expect.rejects(
            lambda: client.call("BatchCreateAnnotationTasks", batch),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        expect.equal(len(client.tasks(project.name)), 1, "tasks after the refused creations")


@CASES.case(CORE, "projects.required-annotation-count", "ANN-056")
def required_count(ctx: CaseContext) -> None:
    """required_annotation_count is stored as requested, reported as 1 when set to 0, and
    below 0 or above 100 gets INVALID_FIELD, on create and on update."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        expect.equal(standard_project(client, data).required_annotation_count, 1, "0 at creation")
        project = standard_project(client, data, required_annotation_count=100)
        expect.equal(project.required_annotation_count, 100, "100 at creation")
        for bad in (-1, 101):
            expect.rejects(
                lambda bad=bad: _create(
                    client,
                    unique_id(),
                    Project(
                        dataset_version=data.first,
                        label_specs=project.label_specs,
                        required_annotation_count=bad,
                    ),
                ),
                INVALID,
                "INVALID_FIELD",
                field="annotation_project.required_annotation_count",
            )
            request = pb.UpdateAnnotationProjectRequest(
                annotation_project=Project(name=project.name, required_annotation_count=bad),
                update_mask=mask("required_annotation_count"),
            )
            expect.rejects(
                lambda request=request: client.call("UpdateAnnotationProject", request),
                INVALID,
                "INVALID_FIELD",
                field="annotation_project.required_annotation_count",
            )
        two = client.update_project(
            Project(name=project.name, required_annotation_count=2), "required_annotation_count"
        )
        expect.equal(two.required_annotation_count, 2, "after an update to 2")
        zero = client.update_project(Project(name=project.name), "required_annotation_count")
        expect.equal(zero.required_annotation_count, 1, "after an update to 0")
        expect.equal(
            client.project(project.name).required_annotation_count, 1, "GetAnnotationProject"
        )
