"""The annotation part of `lepton demo`, through the Python SDK as a user would write it:
auto-annotate the cleaned customers with the churn model the training step registered (a
prediction job through the inference layer), accept only the confident predictions, have two
annotators label drawn shapes under leases, measure their agreement, and export the labels
as a dataset version and as Label Studio JSON and COCO files.

It runs blocking calls, so call it off the event loop that serves the server."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pyarrow as pa
from rich.console import Console
from rich.table import Table

SHAPES = 8
SIZE = (64, 48)  # width, height of each drawn image


def _shape_images(seed: int = 5) -> tuple[list[bytes], list[tuple[str, tuple[float, ...]]]]:
    """PNG images, each with one square or disc, and where it is (normalized x, y, w, h)."""
    from PIL import Image, ImageDraw  # noqa: PLC0415

    generator = random.Random(seed)
    images, truths = [], []
    for i in range(SHAPES):
        picture = Image.new("RGB", SIZE, "white")
        draw = ImageDraw.Draw(picture)
        w, h = generator.randint(12, 24), generator.randint(12, 20)
        x, y = generator.randint(0, SIZE[0] - w), generator.randint(0, SIZE[1] - h)
        kind = "square" if i % 2 == 0 else "disc"
        (draw.rectangle if kind == "square" else draw.ellipse)([x, y, x + w, y + h], fill="black")
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        images.append(buffer.getvalue())
        truths.append((kind, (x / SIZE[0], y / SIZE[1], w / SIZE[0], h / SIZE[1])))
    return images, truths


def run_annotation_flow(
    console: Console, address: str, files: Path, tokens: dict[str, str]
) -> None:
    """Auto-annotate, annotate by hand, measure agreement, export; prints what happens.
    `tokens` maps "operator", "alice" and "bob" to their bearer tokens."""
    from lepton_ai import AnnotationClient, Annotator, DataManager, Label  # noqa: PLC0415
    from lepton_ai.annotation import Decoder  # noqa: PLC0415

    with DataManager.connect(address, token=tokens["operator"]) as data:
        customers = data.read("datasets/customers-clean/tags/clean", columns=["age", "spend"])
        features = [
            [float(a), float(s)]
            for a, s in zip(
                customers["age"].to_pylist(), customers["spend"].to_pylist(), strict=True
            )
        ]
        review = data.load_data(
            pa.table({"features": pa.array(features, pa.list_(pa.float32()))}), "customers-review"
        )
        project = data.annotate_data(
            review,
            Annotator(
                [Label.classification("churn_risk", ["stays", "churns"])],
                project_id="churn-review",
                model="models/churn-trained@prod",
                inputs={"input": "features"},
                decoder=Decoder.classification("probabilities"),
                accept=True,
                min_score=0.8,
            ),
        )
        predicted = sum(1 for _ in project.predictions())
        accepted = sum(1 for _ in project.annotations())
        console.print(
            f"Prediction job with models/churn-trained@prod predicted {predicted} tasks of "
            f"{project.name}; {accepted} with a score of at least 0.8 were accepted as labels "
            f"(annotations naming their source prediction), {predicted - accepted} wait for people"
        )

        images, truths = _shape_images()
        shapes = data.load_data(pa.table({"image": images}), "shapes")
        schema = [
            Label.bounding_box("shape", ["square", "disc"], source_column="image"),
            Label.rating("clarity", max_rating=3),
        ]
        project = data.annotate_data(
            shapes, Annotator(schema, project_id="shapes", required_annotation_count=2)
        )
        for who, jitter in (("alice", 0.0), ("bob", 0.02)):
            with AnnotationClient.connect(address, token=tokens[who]) as annotator:
                while (task := annotator.acquire_next_task(project.name)) is not None:
                    kind, (x, y, w, h) = truths[task.row_index]
                    if who == "bob" and task.row_index == 3:
                        kind = "square"  # one disagreement
                    results = {
                        "shape": [(kind, x + jitter, y, w, h)],
                        # Bob rates two images one step lower than Alice.
                        "clarity": 1
                        + task.row_index % 3
                        - (who == "bob" and task.row_index in (2, 5)),
                    }
                    annotator.create_annotation(task.name, results)
        for task in project.tasks():
            project.complete(task)
        report = project.agreement()
        table = Table(title=f"Agreement on {project.name} (alice, bob)")
        for column in ("label", "tasks", "box F1", "Cohen's kappa", "Krippendorff's alpha"):
            table.add_column(column)
        for name, label in report.items():
            kappa = (
                label.pairs[0].cohen_kappa
                if label.pairs and label.pairs[0].HasField("cohen_kappa")
                else None
            )
            table.add_row(
                name,
                str(label.task_count),
                f"{label.box_f1:.3f}" if label.HasField("box_f1") else "-",
                f"{kappa:.3f}" if kappa is not None else "-",
                f"{label.krippendorff_alpha:.3f}" if label.HasField("krippendorff_alpha") else "-",
            )
        console.print(table)
        version = project.export("shapes-labelled", selection="all")
        console.print(
            f"Exported {version.row_count} annotations as {version.name} "
            f"(lineage: {version.lineage.source})"
        )
        _write_files(console, data, version, files)


def _write_files(console: Console, data, version, files: Path) -> None:
    """The exported version as Label Studio JSON and COCO files, written by the data layer's
    export jobs into `files` (a directory the server may write)."""
    written = []
    for name, format_name in (
        ("shapes.label-studio.json", "label-studio"),
        ("shapes.coco.json", "coco"),
    ):
        data.save_data(version.name, (files / name).as_uri(), format=format_name)
        written.append(name)
    console.print(f"Export jobs wrote {' and '.join(written)} into {files}")
