"""edge-fleet cases of deployments: creation and target validation, names and request_id,
ListDeployments pages, order and filters, conditional updates, which devices a target
selects and how device_counts partitions them, parameter overrides and deletion (spec/edge.md
section 2.5; EDG-002 to EDG-009, EDG-016, EDG-018, EDG-059, EDG-060, EDG-062, EDG-063,
EDG-110)."""

from __future__ import annotations

import uuid
from typing import Any

import grpc

from lepton.edge.v1 import deployment_pb2, device_pb2
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import FleetClient, unique_id
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
Target = deployment_pb2.DeviceTarget
Override = deployment_pb2.DeviceParameterOverride


def _create_request(target: Target | None = None, **fields: Any) -> pb.CreateDeploymentRequest:
    deployment_id = fields.pop("deployment_id", None)
    if deployment_id is None:  # "" is a case of its own: a missing ID is INVALID_NAME
        deployment_id = unique_id()
    request_id = fields.pop("request_id", "")
    return pb.CreateDeploymentRequest(
        deployment=deployment_pb2.Deployment(target=target, **fields),
        deployment_id=deployment_id,
        request_id=request_id,
    )


def _refused(
    fleet: FleetClient, request: pb.CreateDeploymentRequest, reason: str, field: str
) -> None:
    """CreateDeployment `request` is INVALID_ARGUMENT [`reason`] on `field` and creates
    nothing (when its ID is well-formed)."""
    expect.rejects(lambda: fleet.call("CreateDeployment", request), INVALID, reason, field=field)
    name = f"deployments/{request.deployment_id}"
    if field != "deployment_id":
        expect.fails_with(
            lambda: fleet.call("GetDeployment", pb.GetDeploymentRequest(name=name)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(FLEET, "deployments.create-validates-the-target", "EDG-059", "EDG-003", "EDG-009")
def create(ctx: CaseContext) -> None:
    """CreateDeployment refuses an unset target, all_devices with labels or devices,
    duplicate or more than 10000 devices (INVALID_FIELD), a malformed device name or
    deployment ID (INVALID_NAME), labels breaking GEN-056, and an existing ID
    (RESOURCE_ALREADY_EXISTS); a new deployment has no current release, no latest rollout,
    rollout_active false and an etag."""
    with FleetClient(ctx) as fleet:
        everyone = Target(all_devices=True)
        _refused(fleet, _create_request(None), "INVALID_FIELD", "deployment.target")
        for target in (
            Target(all_devices=True, match_labels={"site": "x"}),
            Target(all_devices=True, devices=["devices/a"]),
            Target(devices=["devices/a", "devices/a"]),
            Target(devices=[f"devices/d{i}" for i in range(10001)]),
        ):
            _refused(fleet, _create_request(target), "INVALID_FIELD", "deployment.target")
        for target in (Target(devices=["devices/Bad_Name"]), Target(devices=["device/a"])):
            _refused(fleet, _create_request(target), "INVALID_NAME", "deployment.target.devices")
        _refused(
            fleet,
            _create_request(Target(match_labels={"Site": "x"})),
            "INVALID_FIELD",
            "deployment.target.match_labels",
        )
        _refused(
            fleet,
            _create_request(everyone, labels={"team": "has space"}),
            "INVALID_FIELD",
            "deployment.labels",
        )
        for bad in ("9lives", "ends-", "Upper", "a" * 64, ""):
            _refused(
                fleet, _create_request(everyone, deployment_id=bad), "INVALID_NAME", "deployment_id"
            )
        created = fleet.create_deployment(target=Target(match_labels={"site": "x"}))
        expect.equal(
            (created.HasField("current_release"), created.latest_rollout, created.rollout_active),
            (False, "", False),
            "(current_release set, latest_rollout, rollout_active) of a new deployment",
        )
        expect.holds(bool(created.etag), "a non-empty etag", "empty")
        expect.equal(fleet.deployment(created.name).target, created.target, "the stored target")
        again = _create_request(everyone, deployment_id=created.name.split("/")[1])
        expect.rejects(
            lambda: fleet.call("CreateDeployment", again),
            grpc.StatusCode.ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
            metadata={"resource_name": created.name},
        )


@CASES.case(FLEET, "deployments.names-are-checked", "EDG-002")
def names(ctx: CaseContext) -> None:
    """GetDeployment, UpdateDeployment and DeleteDeployment answer a malformed name
    INVALID_NAME and an unknown one NOT_FOUND [RESOURCE_NOT_FOUND] with metadata
    resource_name."""
    with FleetClient(ctx) as fleet:
        unknown = f"deployments/{unique_id('absent')}"
        for bad, code, reason in (
            ("deployments/Bad_Name", INVALID, "INVALID_NAME"),
            ("deployment/x", INVALID, "INVALID_NAME"),
            ("deployments/x/rollouts/y", INVALID, "INVALID_NAME"),
            (unknown, NOT_FOUND, "RESOURCE_NOT_FOUND"),
        ):
            metadata = {"resource_name": unknown} if code == NOT_FOUND else None
            update = pb.UpdateDeploymentRequest(
                deployment=deployment_pb2.Deployment(name=bad, display_name="x")
            )
            for rpc, request in (
                ("GetDeployment", pb.GetDeploymentRequest(name=bad)),
                ("DeleteDeployment", pb.DeleteDeploymentRequest(name=bad)),
                ("UpdateDeployment", update),
            ):
                expect.rejects(
                    lambda rpc=rpc, request=request: fleet.call(rpc, request),
                    code,
                    reason,
                    metadata=metadata,
                )


@CASES.case(FLEET, "deployments.request-id-makes-create-idempotent", "EDG-004")
def request_id(ctx: CaseContext) -> None:
    """CreateDeployment repeated with its request_id returns the first deployment; another
    request under the same request_id is ALREADY_EXISTS [REQUEST_ID_CONFLICT] and creates
    nothing."""
    with FleetClient(ctx) as fleet:
        key, deployment_id = str(uuid.uuid4()), unique_id()
        target = Target(all_devices=True)
        first = fleet.create_deployment(deployment_id, target, request_id=key)
        retry = _create_request(target, deployment_id=deployment_id, request_id=key)
        expect.equal(fleet.ok("CreateDeployment", retry).deployment, first, "the retry's answer")
        changed = _create_request(target, request_id=key)
        expect.fails_with(
            lambda: fleet.call("CreateDeployment", changed),
            grpc.StatusCode.ALREADY_EXISTS,
            "REQUEST_ID_CONFLICT",
        )
        expect.fails_with(
            lambda: fleet.call(
                "GetDeployment",
                pb.GetDeploymentRequest(name=f"deployments/{changed.deployment_id}"),
            ),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(FLEET, "deployments.pages-order-and-filters", "EDG-005", "EDG-006", "EDG-007")
def listing(ctx: CaseContext) -> None:
    """ListDeployments pages through the deployments a labels filter selects, in name
    order or as order_by asks, each once; an unlisted filter field or operator is
    INVALID_FILTER, an order_by field outside section 3.2 INVALID_FIELD, a negative page
    size INVALID_FIELD and a foreign page token INVALID_PAGE_TOKEN."""
    with FleetClient(ctx) as fleet:
        run = unique_id("run")
        names = sorted(
            fleet.create_deployment(
                target=Target(all_devices=True), labels={"conf-run": run, "tier": tier}
            ).name
            for tier in ("a", "b", "a")
        )
        term = f'labels.conf-run = "{run}"'

        def listed(filter: str, order_by: str = "", page_size: int = 0) -> list[str]:
            request = pb.ListDeploymentsRequest(
                filter=filter, order_by=order_by, page_size=page_size
            )
            return [d.name for d in fleet.walk("ListDeployments", request)]

        for order, wanted in (
            ("", names),
            ("name desc", names[::-1]),
            ("create_time, name", None),
            ("update_time desc", None),
        ):
            for size in (1, 2, 0):
                seen = listed(term, order, size)
                if wanted is None:
                    expect.equal(sorted(seen), names, f"deployments with order_by {order!r}")
                else:
                    expect.equal(seen, wanted, f"deployments with order_by {order!r}")
        tier_a = [n for n in names if fleet.deployment(n).labels["tier"] == "a"]
        expect.equal(listed(f'{term} AND labels.tier = "a"'), tier_a, "tier a")
        expect.equal(
            listed(f'{term} AND labels.tier != "a"'),
            [n for n in names if n not in tier_a],
            "tier other than a",
        )
        for bad in ('display_name = "x"', 'labels.tier > "a"', "rollout_active = true"):
            request = pb.ListDeploymentsRequest(filter=f"{term} AND {bad}")
            expect.fails_with(
                lambda request=request: fleet.call("ListDeployments", request),
                INVALID,
                "INVALID_FILTER",
                field="filter",
            )
        for order in ("etag", "display_name", "name upward"):
            request = pb.ListDeploymentsRequest(filter=term, order_by=order)
            expect.fails_with(
                lambda request=request: fleet.call("ListDeployments", request),
                INVALID,
                "INVALID_FIELD",
                field="order_by",
            )
        expect.fails_with(
            lambda: fleet.call("ListDeployments", pb.ListDeploymentsRequest(page_size=-1)),
            INVALID,
            "INVALID_FIELD",
            field="page_size",
        )
        first = fleet.ok("ListDeployments", pb.ListDeploymentsRequest(filter=term, page_size=1))
        foreign = pb.ListDeploymentsRequest(
            filter=f'{term} AND labels.tier = "a"', page_size=1, page_token=first.next_page_token
        )
        expect.fails_with(
            lambda: fleet.call("ListDeployments", foreign), INVALID, "INVALID_PAGE_TOKEN"
        )


@CASES.case(FLEET, "deployments.update-follows-the-mask-and-the-etag", "EDG-008", "EDG-059")
def update(ctx: CaseContext) -> None:
    """UpdateDeployment changes only the masked fields (every set mutable field with an
    empty mask), ignores output-only fields, refuses a mask path that is not mutable, an
    unset target and a stale etag without changing anything."""
    with FleetClient(ctx) as fleet:
        created = fleet.create_deployment(
            target=Target(all_devices=True), display_name="before", description="kept"
        )
        change = deployment_pb2.Deployment(
            name=created.name,
            display_name="after",
            description="ignored",
            latest_rollout=f"{created.name}/rollouts/forged",
            etag=created.etag,
        )
        request = pb.UpdateDeploymentRequest(
            deployment=change, update_mask={"paths": ["display_name"]}
        )
        updated = fleet.ok("UpdateDeployment", request).deployment
        expect.equal(
            (updated.display_name, updated.description, updated.latest_rollout),
            ("after", "kept", ""),
            "(display_name, description, latest_rollout) after a masked update",
        )
        expect.holds(updated.etag != created.etag, "a new etag", updated.etag)
        expect.fails_with(
            lambda: fleet.call("UpdateDeployment", request),
            grpc.StatusCode.ABORTED,
            "ETAG_MISMATCH",
        )
        for path in ("latest_rollout", "current_release", "name", "no_such_field"):
            bad = pb.UpdateDeploymentRequest(
                deployment=deployment_pb2.Deployment(name=created.name, display_name="masked"),
                update_mask={"paths": [path]},
            )
            expect.rejects(
                lambda bad=bad: fleet.call("UpdateDeployment", bad),
                INVALID,
                "INVALID_FIELD",
                field="update_mask",
            )
        unset = pb.UpdateDeploymentRequest(
            deployment=deployment_pb2.Deployment(name=created.name),
            update_mask={"paths": ["target"]},
        )
        expect.rejects(
            lambda: fleet.call("UpdateDeployment", unset),
            INVALID,
            "INVALID_FIELD",
            field="deployment.target",
        )
        expect.equal(fleet.deployment(created.name).etag, updated.etag, "etag after refusals")
        target = Target(match_labels={"site": "x"})
        unmasked = deployment_pb2.Deployment(name=created.name, labels={"tier": "a"}, target=target)
        again = fleet.ok(
            "UpdateDeployment", pb.UpdateDeploymentRequest(deployment=unmasked)
        ).deployment
        expect.equal(
            (again.display_name, dict(again.labels), again.target),
            ("after", {"tier": "a"}, target),
            "(display_name, labels, target) after an unmasked update",
        )


def _targeted(fleet: FleetClient, deployment: str, run: str) -> list[str]:
    """The devices of this run that ListDevices says `deployment` targets."""
    where = f'labels.conf-run = "{run}" AND deployment = "{deployment}"'
    return fleet.device_names(where)


def _counts(fleet: FleetClient, deployment: str, wanted: list[str], run: str) -> None:
    """`deployment` targets exactly `wanted` of this run's devices, counts them, and its
    device_counts partition them, every one unreported (nothing was assigned)."""
    expect.equal(_targeted(fleet, deployment, run), sorted(wanted), f"devices {deployment} targets")
    counts = fleet.deployment(deployment).device_counts
    expect.equal(
        (
            counts.targeted_count,
            counts.in_sync_count,
            counts.updating_count,
            counts.failed_count,
            counts.unreported_count,
        ),
        (len(wanted), 0, 0, 0, len(wanted)),
        f"device_counts of {deployment} (targeted, in sync, updating, failed, unreported)",
    )


@CASES.case(
    FLEET,
    "deployments.targets-select-exactly-the-approved-devices",
    "EDG-060",
    "EDG-018",
    "EDG-063",
    "EDG-016",
    "EDG-033",
)
def targets(ctx: CaseContext) -> None:
    """A deployment targets exactly the APPROVED devices its target names or whose labels
    match every match_labels entry, following approval, label and target changes, device
    creation and decommissioning; device_counts counts them (all unreported) and ListDevices
    with `deployment = "<name>"` lists them; without a current release no desired state
    changes."""
    with FleetClient(ctx) as fleet:
        run = unique_id("run")
        later_id = unique_id("later")

        def device(**fields: Any) -> device_pb2.Device:
            labels = {"conf-run": run, **fields.pop("labels", {})}
            return fleet.create_device(labels=labels, **fields).device

        a = device(labels={"site": "x"})
        b = device(labels={"site": "x"}, require_approval=True)
        c = device(labels={"site": "y"})
        d = device()
        by_labels = fleet.create_deployment(
            target=Target(match_labels={"conf-run": run, "site": "x"})
        ).name
        by_name = fleet.create_deployment(
            target=Target(devices=[d.name, b.name, f"devices/{later_id}"])
        ).name
        _counts(fleet, by_labels, [a.name], run)
        _counts(fleet, by_name, [d.name], run)
        fleet.transition("ApproveDevice", b.name)
        _counts(fleet, by_labels, [a.name, b.name], run)
        _counts(fleet, by_name, [d.name, b.name], run)
        fleet.update_device(
            device_pb2.Device(name=c.name, labels={"conf-run": run, "site": "x"}), "labels"
        )
        _counts(fleet, by_labels, [a.name, b.name, c.name], run)
        later = fleet.create_device(later_id, labels={"conf-run": run}).device
        _counts(fleet, by_name, [d.name, b.name, later.name], run)
        fleet.ok(
            "UpdateDeployment",
            pb.UpdateDeploymentRequest(
                deployment=deployment_pb2.Deployment(name=by_name, target=Target(devices=[a.name])),
                update_mask={"paths": ["target"]},
            ),
        )
        _counts(fleet, by_name, [a.name], run)
        fleet.transition("DecommissionDevice", a.name)
        _counts(fleet, by_labels, [b.name, c.name], run)
        _counts(fleet, by_name, [], run)
        everyone = fleet.create_deployment(target=Target(all_devices=True)).name
        approved = fleet.device_names("approval_state = APPROVED")
        expect.equal(
            fleet.deployment(everyone).device_counts.targeted_count,
            len(approved),
            "targeted_count of all_devices (every APPROVED device)",
        )
        expect.equal(
            _targeted(fleet, everyone, run),
            sorted([b.name, c.name, d.name, later.name]),
            "this run's devices all_devices targets",
        )
        for created in (b, c, d):
            expect.equal(
                fleet.device(created.name).desired_state.generation,
                created.desired_state.generation,
                f"the desired generation of {created.name} (no current release)",
            )


@CASES.case(FLEET, "deployments.parameter-overrides-are-validated", "EDG-110")
def overrides(ctx: CaseContext) -> None:
    """CreateDeployment and UpdateDeployment refuse parameter_overrides with a malformed
    device name (INVALID_NAME), two entries for one device, or parameters breaking the rules
    of ModelRelease.parameters (INVALID_FIELD); valid overrides are stored as given and an
    update with mask parameter_overrides replaces them."""
    with FleetClient(ctx) as fleet:
        everyone = Target(all_devices=True)
        for overrides, reason in (
            ([Override(device="devices/Bad_Name", parameters={"k": "v"})], "INVALID_NAME"),
            ([Override(device="cameras/a", parameters={"k": "v"})], "INVALID_NAME"),
            (
                [Override(device="devices/a"), Override(device="devices/a")],
                "INVALID_FIELD",
            ),
            ([Override(device="devices/a", parameters={"k" * 64: "v"})], "INVALID_FIELD"),
            (
                [Override(device="devices/a", parameters={f"k{i}": "v" for i in range(65)})],
                "INVALID_FIELD",
            ),
            ([Override(device="devices/a", parameters={"k": "v" * 65537})], "INVALID_FIELD"),
        ):
            request = _create_request(everyone, parameter_overrides=overrides)
            _refused(fleet, request, reason, "deployment.parameter_overrides")
        given = [
            Override(device="devices/cam-1", parameters={"camera": "rtsp://cam-1/stream"}),
            Override(device="devices/cam-2", parameters={"score_threshold": "0.7"}),
        ]
        created = fleet.create_deployment(target=everyone, parameter_overrides=given)
        expect.equal(list(created.parameter_overrides), given, "the stored parameter_overrides")
        replaced = [Override(device="devices/cam-3", parameters={"camera": "rtsp://cam-3"})]
        request = pb.UpdateDeploymentRequest(
            deployment=deployment_pb2.Deployment(name=created.name, parameter_overrides=replaced),
            update_mask={"paths": ["parameter_overrides"]},
        )
        updated = fleet.ok("UpdateDeployment", request).deployment
        expect.equal(list(updated.parameter_overrides), replaced, "parameter_overrides replaced")
        bad = pb.UpdateDeploymentRequest(
            deployment=deployment_pb2.Deployment(
                name=created.name,
                parameter_overrides=[Override(device="devices/x"), Override(device="devices/x")],
            ),
            update_mask={"paths": ["parameter_overrides"]},
        )
        expect.rejects(
            lambda: fleet.call("UpdateDeployment", bad),
            INVALID,
            "INVALID_FIELD",
            field="deployment.parameter_overrides",
        )
        expect.equal(fleet.deployment(created.name), updated, "the deployment after a refusal")


@CASES.case(FLEET, "deployments.delete-removes-the-deployment", "EDG-062")
def delete(ctx: CaseContext) -> None:
    """DeleteDeployment of a deployment without an active rollout (a stale etag is
    ABORTED [ETAG_MISMATCH]) removes it: GetDeployment is then NOT_FOUND and the ID may be
    created again."""
    with FleetClient(ctx) as fleet:
        deployment_id = unique_id()
        created = fleet.create_deployment(deployment_id, Target(all_devices=True))
        fleet.ok(
            "UpdateDeployment",
            pb.UpdateDeploymentRequest(
                deployment=deployment_pb2.Deployment(name=created.name, display_name="new")
            ),
        )
        stale = pb.DeleteDeploymentRequest(name=created.name, etag=created.etag)
        expect.fails_with(
            lambda: fleet.call("DeleteDeployment", stale),
            grpc.StatusCode.ABORTED,
            "ETAG_MISMATCH",
        )
        fleet.ok("DeleteDeployment", pb.DeleteDeploymentRequest(name=created.name))
        expect.fails_with(
            lambda: fleet.call("GetDeployment", pb.GetDeploymentRequest(name=created.name)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
        again = fleet.create_deployment(deployment_id, Target(all_devices=True))
        expect.equal(again.name, created.name, "the re-created deployment's name")
