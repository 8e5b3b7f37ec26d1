"""Side-by-side annotation benchmark, in one process tree (issue 13):

- an auto-annotation job (a prediction job of the annotation layer) over N rows, against
  calling the same model through tritonclient in a loop with the same batch size, from rows
  already in memory; goal: the job at least 1.0x the client's throughput;
- an annotation export job of M annotations, committed as a dataset version, against
  building the same rows into a table and writing them with pyarrow directly; goal: 0.7x.

    python benchmarks/annotation.py [--rows 100000] [--annotations 1000000] [--batch 64]

The server is `lepton serve --services data,inference,annotation` on loopback; the model a
small ONNX classifier (8 features, 4 classes). Setup (writing the dataset, creating the
tasks, importing the annotations) is timed and printed but is not part of a ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np
import pyarrow as pa
from pyarrow import feather
from server_process import lepton_serve, process

from lepton.data.v1 import annotation_export_job_pb2 as ej
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_service_pb2_grpc as pb_grpc
from lepton.data.v1 import annotation_task_pb2 as at
from lepton.data.v1 import prediction_job_pb2 as pj
from lepton.type.v1 import job_pb2
from lepton_ai.data import DataManager

CLASSES = ["a", "b", "c", "d"]
FEATURES = 8
OPTIONS = [
    ("grpc.max_receive_message_length", 256 << 20),
    ("grpc.max_send_message_length", 256 << 20),
]


def classifier(path: Path) -> None:
    """softmax(x @ W) over FP32 [-1, 8] -> [-1, 4], as the model repository lays it out."""
    from onnx import TensorProto, helper  # noqa: PLC0415

    weights = np.random.default_rng(3).normal(size=(FEATURES, len(CLASSES))).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["INPUT", "W"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["SCORES"], axis=1),
        ],
        "classifier",
        [helper.make_tensor_value_info("INPUT", TensorProto.FLOAT, ["batch", FEATURES])],
        [helper.make_tensor_value_info("SCORES", TensorProto.FLOAT, ["batch", len(CLASSES)])],
        initializer=[helper.make_tensor("W", TensorProto.FLOAT, weights.shape, weights.flatten())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    target = path / "classifier" / "1" / "model.onnx"
    target.parent.mkdir(parents=True)
    target.write_bytes(model.SerializeToString())


def timed(label: str, action):
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.2f} s")
    return result, seconds


def wait(watch, request, field: str):
    *_, last = watch(request)
    job = getattr(last, field)
    if job.status.state != job_pb2.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"{job.name}: {job.status}")
    return job


def client_loop(address: str, features: np.ndarray, batch: int) -> None:
    import tritonclient.grpc as triton  # noqa: PLC0415

    client = triton.InferenceServerClient(address)
    output = triton.InferRequestedOutput("SCORES")
    for start in range(0, len(features), batch):
        rows = features[start : start + batch]
        given = triton.InferInput("INPUT", list(rows.shape), "FP32")
        given.set_data_from_numpy(rows)
        client.infer("classifier", [given], outputs=[output]).as_numpy("SCORES")
    client.close()


def auto_annotation(address: str, data: DataManager, stub, rows: int, batch: int) -> float:
    print(f"auto-annotation of {rows} rows, batch {batch}")
    features = np.random.default_rng(1).random((rows, FEATURES), dtype=np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(features.reshape(-1)), FEATURES)
    version = data.load_data(
        pa.table({"features": pa.array(column.to_pylist(), pa.list_(pa.float32()))}), "bench-rows"
    )
    stub.CreateAnnotationProject(
        pb.CreateAnnotationProjectRequest(
            annotation_project_id="bench-auto",
            annotation_project=ap.AnnotationProject(
                dataset_version=version.name,
                label_specs=[
                    ap.LabelSpec(name="kind", kind=ap.LABEL_KIND_CLASSIFICATION, classes=CLASSES)
                ],
            ),
        )
    )
    timed(
        "setup: tasks",
        lambda: list(
            stub.BatchCreateAnnotationTasks(
                pb.BatchCreateAnnotationTasksRequest(parent="annotationProjects/bench-auto")
            )
        ),
    )
    _, client_s = timed("tritonclient loop", lambda: client_loop(address, features, batch))

    def job() -> pj.PredictionJob:
        created = stub.CreatePredictionJob(
            pb.CreatePredictionJobRequest(
                parent="annotationProjects/bench-auto",
                prediction_job=pj.PredictionJob(
                    inference_model="classifier",
                    label="kind",
                    inputs=[pj.TensorBinding(tensor="INPUT", column="features")],
                    classification=pj.ClassificationDecoder(output="SCORES"),
                    batch_size=batch,
                ),
            )
        ).prediction_job
        return wait(
            stub.WatchPredictionJob,
            pb.WatchPredictionJobRequest(name=created.name),
            "prediction_job",
        )

    done, job_s = timed("prediction job", job)
    assert done.created_prediction_count == rows, done
    ratio = client_s / job_s
    print(
        f"  job {rows / job_s:,.0f} rows/s, client {rows / client_s:,.0f} rows/s: "
        f"{ratio:.2f}x (goal 1.0x)"
    )
    return ratio


def label_studio_tasks(start: int, count: int) -> bytes:
    tasks = [
        {
            "meta": {"lepton_task": f"annotationProjects/bench-export/tasks/row-{i}"},
            "annotations": [
                {
                    "completed_by": i % 7,
                    "result": [
                        {
                            "from_name": "kind",
                            "type": "choices",
                            "value": {"choices": [CLASSES[i % 4]]},
                        }
                    ],
                }
            ],
        }
        for i in range(start, start + count)
    ]
    return json.dumps(tasks).encode()


def export(data: DataManager, stub, annotations: int, out: Path) -> float:
    print(f"export of {annotations} annotations")
    version = data.load_data(
        pa.table({"id": pa.array(range(annotations), pa.int64())}), "bench-export-rows"
    )
    stub.CreateAnnotationProject(
        pb.CreateAnnotationProjectRequest(
            annotation_project_id="bench-export",
            annotation_project=ap.AnnotationProject(
                dataset_version=version.name,
                label_specs=[
                    ap.LabelSpec(name="kind", kind=ap.LABEL_KIND_CLASSIFICATION, classes=CLASSES)
                ],
            ),
        )
    )

    def setup() -> None:
        list(
            stub.BatchCreateAnnotationTasks(
                pb.BatchCreateAnnotationTasksRequest(parent="annotationProjects/bench-export")
            )
        )
        step = 50_000
        for start in range(0, annotations, step):
            stub.ImportAnnotations(
                pb.ImportAnnotationsRequest(
                    parent="annotationProjects/bench-export",
                    format=pb.ANNOTATION_IMPORT_FORMAT_LABEL_STUDIO_JSON,
                    content=label_studio_tasks(start, min(step, annotations - start)),
                )
            )

    timed("setup: tasks and annotations", setup)
    data.create_dataset("bench-exported", exist_ok=True)

    def job() -> ej.AnnotationExportJob:
        created = stub.CreateAnnotationExportJob(
            pb.CreateAnnotationExportJobRequest(
                parent="annotationProjects/bench-export",
                annotation_export_job=ej.AnnotationExportJob(
                    destination_dataset="datasets/bench-exported",
                    task_states=[at.TASK_STATE_IN_PROGRESS],
                ),
            )
        ).annotation_export_job
        return wait(
            stub.WatchAnnotationExportJob,
            pb.WatchAnnotationExportJobRequest(name=created.name),
            "annotation_export_job",
        )

    done, export_s = timed("export job", job)
    assert done.written_row_count == annotations, done
    table = data.read(done.output_version)
    rows = table.to_pylist()  # the same rows, as a producer would hold them

    def direct() -> None:
        built = pa.Table.from_pylist(rows, schema=table.schema)
        feather.write_feather(built, str(out / "direct.arrow"), compression="uncompressed")

    _, direct_s = timed("pyarrow from_pylist + write", direct)
    ratio = direct_s / export_s
    print(
        f"  export {annotations / export_s:,.0f} rows/s, pyarrow {annotations / direct_s:,.0f} "
        f"rows/s: {ratio:.2f}x (goal 0.7x)"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=64)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-annotation-") as temp:
        root = Path(temp)
        classifier(root / "models")
        command = lepton_serve(
            root / "data", "--services", "data,inference,annotation",
            "--model-repository", str(root / "models"), "--max-message-bytes", str(256 << 20),
        )  # fmt: skip
        with (
            process(command) as server,
            DataManager.connect(server.address, progress=False) as data,
        ):
            stub = pb_grpc.AnnotationServiceStub(
                grpc.insecure_channel(server.address, options=OPTIONS)
            )
            auto = auto_annotation(server.address, data, stub, options.rows, options.batch)
            exported = export(data, stub, options.annotations, root)
    print(f"auto-annotation job vs tritonclient loop: {auto:.2f}x (goal 1.0x)")
    print(f"export job vs pyarrow: {exported:.2f}x (goal 0.7x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
