"""training-core case of the trainer runtime contract (feature `training.entrypoint`): a
POSIX shell entrypoint that reads the contract's environment, writes to both outputs,
reports a metric, progress and its output through LEPTON_REPORT_FILE and leaves a model in
LEPTON_OUTPUT_DIR; the job shows each of them (TRN-009)."""

from __future__ import annotations

import json

from lepton.training.v1 import training_job_pb2
from lepton.type.v1 import model_format_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.training.profiles import CORE
from lepton_conformance.suites.training.training_client import (
    SERVICE,
    STDOUT,
    TrainingClient,
    conformance_job,
    entries,
    points,
    state_name,
)
from lepton_conformance.suites.training.training_data import training_dataset

CASES = CaseList()
ENTRYPOINT = "training.entrypoint"
STDERR = 2  # LogStream.LOG_STREAM_STDERR
MODEL = b"model"
# Only POSIX shell: any server that runs entrypoints has it.
SCRIPT = r"""
echo "job=$LEPTON_TRAINING_JOB attempt=$LEPTON_ATTEMPT \
worker=$LEPTON_WORKER_INDEX/$LEPTON_WORKER_COUNT"
echo "dataset=$LEPTON_DATASET_TRAIN"
test -s "$LEPTON_DATA_TRAIN" && echo "train data present"
echo "hyperparameters=$(tr -d '\n' < "$LEPTON_HYPERPARAMETERS")"
echo "to stderr" >&2
printf '{"type":"metric","name":"train/loss","step":1,"value":0.5}\n' >> "$LEPTON_REPORT_FILE"
printf '{"type":"progress","completed":1,"total":1,"unit":"steps"}\n' >> "$LEPTON_REPORT_FILE"
printf 'model' > "$LEPTON_OUTPUT_DIR/model.bin"
printf '{"type":"output","entry_path":"model.bin","format":"OTHER"}\n' >> "$LEPTON_REPORT_FILE"
"""


@CASES.case(CORE, "entrypoint.the-runtime-contract-reaches-the-trainer", "TRN-009")
def runtime_contract(ctx: CaseContext) -> None:
    """An entrypoint job sees its name, attempt, worker, dataset, data file and
    hyperparameters in its environment; its stdout and stderr lines, report-file metric,
    progress and output come back in the job, and exit 0 with a model succeeds."""
    ctx.require_feature(SERVICE, ENTRYPOINT)
    with training_dataset(ctx) as data, TrainingClient(ctx) as client:
        job = conformance_job(data.version, steps=2, step_seconds=0.5)
        job.spec.trainer.CopyFrom(
            training_job_pb2.Trainer(entrypoint=training_job_pb2.EntrypointTrainer(command=SCRIPT))
        )
        ended = client.run(job)
        expect.equal(
            (state_name(ended), ended.status.error.reason), ("JOB_STATE_SUCCEEDED", ""), "the end"
        )
        lines = entries(client.logs(ended.name))
        stdout = [e.text for e in lines if e.stream == STDOUT]
        for wanted in (f"job={ended.name} attempt=0 worker=0/1", "train data present"):
            expect.holds(wanted in stdout, f"the stdout line {wanted!r}", str(stdout))
        given = [t.removeprefix("hyperparameters=") for t in stdout if t.startswith("hyperp")]
        try:
            parsed = json.loads(given[0]) if given else None
        except ValueError:
            parsed = given
        expect.equal(parsed, {"steps": 2, "step_seconds": 0.5}, "the LEPTON_HYPERPARAMETERS file")
        stderr = [e.text for e in lines if e.stream == STDERR]
        expect.equal(stderr, ["to stderr"], "the stderr lines")
        metric = [(p.name, p.step, p.value) for p in points(client.metrics(ended.name))]
        expect.equal(metric, [("train/loss", 1, 0.5)], "the reported metric points")
        progress = ended.status.progress
        expect.equal(
            (progress.completed, progress.total, progress.unit), (1, 1, "steps"), "the progress"
        )
        artifact = ended.output.artifact
        expect.equal(
            (artifact.format, artifact.descriptor.size_bytes),
            (model_format_pb2.MODEL_FORMAT_OTHER, len(MODEL)),
            "(format, size) of the output",
        )
        _, chunks = client.download("DownloadTrainingJobOutput", ended.name)
        expect.equal(b"".join(c.data for c in chunks), MODEL, "the output's bytes")
        wanted = f"dataset={data.version}"
        expect.holds(wanted in stdout, f"the stdout line {wanted!r}", str(stdout))
