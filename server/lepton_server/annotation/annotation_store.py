"""The annotation layer's metadata: one SQLite database (`<data-dir>/annotation/`) holding
projects, tasks with their row copies, annotations, predictions, reviews and leases. Resources
are stored as their protobuf messages beside the columns that queries select on; counts are
derived on read, so they are always current (ANN-006, ANN-027, ANN-057)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lepton.data.v1 import annotation_pb2, annotation_project_pb2, annotation_task_pb2
from lepton.data.v1 import annotation_pb2 as an
from lepton_server.runtime.sqlite_database import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    name TEXT PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    name TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    row_index INTEGER NOT NULL,
    body BLOB NOT NULL,
    row BLOB NOT NULL,
    UNIQUE (project, version, row_index)
);
CREATE INDEX IF NOT EXISTS tasks_by_project ON tasks (project, row_index);
CREATE TABLE IF NOT EXISTS annotations (
    name TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    project TEXT NOT NULL,
    creator TEXT NOT NULL,
    source_prediction TEXT NOT NULL,
    create_ns INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_by_task ON annotations (task, create_ns);
CREATE INDEX IF NOT EXISTS annotations_by_project ON annotations (project, create_ns);
CREATE TABLE IF NOT EXISTS predictions (
    name TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    project TEXT NOT NULL,
    score REAL NOT NULL,
    create_ns INTEGER NOT NULL,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS predictions_by_task ON predictions (task, create_ns);
CREATE TABLE IF NOT EXISTS reviews (
    name TEXT PRIMARY KEY,
    annotation TEXT NOT NULL,
    create_ns INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_by_annotation ON reviews (annotation, create_ns);
CREATE TABLE IF NOT EXISTS leases (
    project TEXT NOT NULL,
    holder TEXT NOT NULL,
    task TEXT NOT NULL,
    acquire_ns INTEGER NOT NULL,
    expire_ns INTEGER NOT NULL,
    PRIMARY KEY (project, holder)
);
CREATE INDEX IF NOT EXISTS leases_by_task ON leases (task);
"""


@dataclass(frozen=True)
class TaskFacts:
    """What a task's own row does not hold and every response reports (ANN-057)."""

    annotation_count: int = 0
    annotator_count: int = 0
    prediction_count: int = 0
    prediction_score: float | None = None
    # (holder, expire ns) of its unexpired leases, oldest first.
    leases: tuple[tuple[str, int], ...] = ()


def task_range(project: str) -> tuple[str, str]:
    """The bounds of the task names of `project` ("/" + 1 is "0"), so the index on task names
    serves queries over a whole project."""
    return f"{project}/tasks/", f"{project}/tasks0"


class AnnotationStore(SqliteDatabase):
    """Rows of the annotation layer as messages."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with self.transaction():
            yield

    # --- projects ----------------------------------------------------------------------------

    def project(self, name: str) -> annotation_project_pb2.AnnotationProject | None:
        row = self._one("SELECT body FROM projects WHERE name=?", name)
        return annotation_project_pb2.AnnotationProject.FromString(row[0]) if row else None

    def projects(self) -> list[annotation_project_pb2.AnnotationProject]:
        rows = self._all("SELECT body FROM projects ORDER BY name")
        return [annotation_project_pb2.AnnotationProject.FromString(r[0]) for r in rows]

    def put_project(self, project: annotation_project_pb2.AnnotationProject) -> None:
        body = project.SerializeToString(deterministic=True)
        self._run("INSERT OR REPLACE INTO projects VALUES (?, ?)", project.name, body)

    def delete_project(self, name: str) -> None:
        for table in ("tasks", "annotations", "predictions", "leases"):
            self._run(f"DELETE FROM {table} WHERE project=?", name)
        self._run("DELETE FROM reviews WHERE annotation LIKE ?", name + "/%")
        self._run("DELETE FROM projects WHERE name=?", name)

    def state_counts(self, project: str) -> dict[int, int]:
        counts: dict[int, int] = {}
        for (body,) in self._all("SELECT body FROM tasks WHERE project=?", project):
            state = annotation_task_pb2.AnnotationTask.FromString(body).state
            counts[state] = counts.get(state, 0) + 1
        return counts

    # --- tasks -------------------------------------------------------------------------------

    def task(self, name: str) -> annotation_task_pb2.AnnotationTask | None:
        row = self._one("SELECT body FROM tasks WHERE name=?", name)
        return annotation_task_pb2.AnnotationTask.FromString(row[0]) if row else None

    def task_row(self, name: str) -> bytes:
        row = self._one("SELECT row FROM tasks WHERE name=?", name)
        return row[0] if row else b""

    def tasks(self, project: str) -> list[annotation_task_pb2.AnnotationTask]:
        rows = self._all("SELECT body FROM tasks WHERE project=? ORDER BY row_index", project)
        return [annotation_task_pb2.AnnotationTask.FromString(r[0]) for r in rows]

    def task_exists(self, project: str, version: str, row_index: int) -> bool:
        return (
            self._one(
                "SELECT 1 FROM tasks WHERE project=? AND version=? AND row_index=?",
                project,
                version,
                row_index,
            )
            is not None
        )

    def insert_task(
        self, project: str, task: annotation_task_pb2.AnnotationTask, row: bytes
    ) -> None:
        self._run(
            "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?)",
            task.name,
            project,
            task.dataset_version,
            task.row_index,
            task.SerializeToString(deterministic=True),
            row,
        )

    def put_task(self, task: annotation_task_pb2.AnnotationTask) -> None:
        self._run(
            "UPDATE tasks SET body=? WHERE name=?",
            task.SerializeToString(deterministic=True),
            task.name,
        )

    def delete_task(self, name: str) -> None:
        self._run("DELETE FROM reviews WHERE annotation LIKE ?", name + "/%")
        for table, column in (("annotations", "task"), ("predictions", "task")):
            self._run(f"DELETE FROM {table} WHERE {column}=?", name)
        self._run("DELETE FROM leases WHERE task=?", name)
        self._run("DELETE FROM tasks WHERE name=?", name)

    def task_facts(self, project: str, now: int) -> dict[str, TaskFacts]:
        """The facts of every task of `project` that has any, by task name."""
        facts: dict[str, dict] = {}
        for task, count, annotators in self._all(
            "SELECT task, COUNT(*), COUNT(DISTINCT creator) FROM annotations WHERE project=? "
            "GROUP BY task",
            project,
        ):
            facts.setdefault(task, {}).update(annotation_count=count, annotator_count=annotators)
        for task, count, best in self._all(
            "SELECT task, COUNT(*), MAX(score) FROM predictions WHERE task >= ? AND task < ? "
            "GROUP BY task",
            *task_range(project),
        ):
            facts.setdefault(task, {}).update(prediction_count=count, prediction_score=best)
        for task, holder, expire in self._all(
            "SELECT task, holder, expire_ns FROM leases WHERE project=? AND expire_ns>? "
            "ORDER BY acquire_ns, holder",
            project,
            now,
        ):
            entry = facts.setdefault(task, {})
            entry["leases"] = (*entry.get("leases", ()), (holder, expire))
        return {task: TaskFacts(**values) for task, values in facts.items()}

    def facts_of(self, task: str, now: int) -> TaskFacts:
        annotations = self._one(
            "SELECT COUNT(*), COUNT(DISTINCT creator) FROM annotations WHERE task=?", task
        )
        predictions = self._one("SELECT COUNT(*), MAX(score) FROM predictions WHERE task=?", task)
        leases = self._all(
            "SELECT holder, expire_ns FROM leases WHERE task=? AND expire_ns>? "
            "ORDER BY acquire_ns, holder",
            task,
            now,
        )
        return TaskFacts(
            annotation_count=annotations[0],
            annotator_count=annotations[1],
            prediction_count=predictions[0],
            prediction_score=predictions[1],
            leases=tuple((holder, expire) for holder, expire in leases),
        )

    # --- annotations -------------------------------------------------------------------------

    def annotation(self, name: str) -> annotation_pb2.Annotation | None:
        row = self._one("SELECT body FROM annotations WHERE name=?", name)
        return annotation_pb2.Annotation.FromString(row[0]) if row else None

    def annotations(self, *, task: str = "", project: str = "") -> list[annotation_pb2.Annotation]:
        column, value = ("task", task) if task else ("project", project)
        rows = self._all(
            f"SELECT body FROM annotations WHERE {column}=? ORDER BY create_ns, name",
            value,
        )
        return [annotation_pb2.Annotation.FromString(r[0]) for r in rows]

    def put_annotation(self, task: str, annotation: annotation_pb2.Annotation) -> None:
        self._run(
            "INSERT OR REPLACE INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?)",
            annotation.name,
            task,
            task.split("/tasks/", 1)[0],
            annotation.creator,
            annotation.source_prediction,
            annotation.create_time.ToNanoseconds(),
            annotation.SerializeToString(deterministic=True),
        )

    def delete_annotation(self, name: str) -> None:
        self._run("DELETE FROM reviews WHERE annotation=?", name)
        self._run("DELETE FROM annotations WHERE name=?", name)

    def creators_by_task(self, project: str) -> dict[str, set[str]]:
        creators: dict[str, set[str]] = {}
        for task, creator in self._all(
            "SELECT DISTINCT task, creator FROM annotations WHERE project=?", project
        ):
            creators.setdefault(task, set()).add(creator)
        return creators

    def accepted(self, task: str, prediction: str) -> bool:
        return (
            self._one(
                "SELECT 1 FROM annotations WHERE task=? AND source_prediction=?", task, prediction
            )
            is not None
        )

    # --- predictions -------------------------------------------------------------------------

    def prediction(self, name: str) -> annotation_pb2.Prediction | None:
        row = self._one("SELECT body FROM predictions WHERE name=?", name)
        return annotation_pb2.Prediction.FromString(row[0]) if row else None

    def predictions(self, *, task: str = "", project: str = "") -> list[annotation_pb2.Prediction]:
        if task:
            rows = self._all(
                "SELECT body FROM predictions WHERE task=? ORDER BY create_ns, name", task
            )
        else:
            rows = self._all(
                "SELECT body FROM predictions WHERE task >= ? AND task < ? "
                "ORDER BY create_ns, name",
                *task_range(project),
            )
        return [annotation_pb2.Prediction.FromString(r[0]) for r in rows]

    def put_prediction(self, task: str, prediction: annotation_pb2.Prediction) -> None:
        self._run(
            "INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            prediction.name,
            task,
            task.split("/tasks/", 1)[0],
            prediction.score,
            prediction.create_time.ToNanoseconds(),
            prediction.inference_model,
            prediction.inference_model_version,
            prediction.SerializeToString(deterministic=True),
        )

    def put_predictions(self, made: Sequence[tuple[str, an.Prediction]]) -> int:
        """Store predictions of several tasks in one transaction; how many were stored."""
        rows = [
            (
                prediction.name,
                task,
                task.split("/tasks/", 1)[0],
                prediction.score,
                prediction.create_time.ToNanoseconds(),
                prediction.inference_model,
                prediction.inference_model_version,
                prediction.SerializeToString(deterministic=True),
            )
            for task, prediction in made
        ]
        with self.transaction():
            # A task deleted while the job ran gets no prediction.
            names = sorted({row[1] for row in rows})
            marks = ", ".join("?" * len(names))
            query = f"SELECT name FROM tasks WHERE name IN ({marks})"
            existing = {r[0] for r in self._all(query, *names)} if names else set()
            kept = [row for row in rows if row[1] in existing]
            with self._lock:
                self._db.executemany(
                    "INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", kept
                )
        return len(kept)

    def predicted_tasks(self, tasks: Sequence[str], model: str, version: str) -> set[str]:
        """Those of `tasks` holding a prediction of the model version (ANN-043)."""
        found: set[str] = set()
        for start in range(0, len(tasks), 500):
            chunk = list(tasks[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self._all(
                    f"SELECT DISTINCT task FROM predictions WHERE model=? AND model_version=? "
                    f"AND task IN ({marks})",
                    model,
                    version,
                    *chunk,
                )
            )
        return found

    def delete_prediction(self, name: str) -> None:
        self._run("DELETE FROM predictions WHERE name=?", name)

    # --- reviews -----------------------------------------------------------------------------

    def reviews(self, annotation: str) -> list[annotation_pb2.Review]:
        rows = self._all(
            "SELECT body FROM reviews WHERE annotation=? ORDER BY create_ns, name", annotation
        )
        return [annotation_pb2.Review.FromString(r[0]) for r in rows]

    def put_review(self, annotation: str, review: annotation_pb2.Review) -> None:
        self._run(
            "INSERT INTO reviews VALUES (?, ?, ?, ?)",
            review.name,
            annotation,
            review.create_time.ToNanoseconds(),
            review.SerializeToString(deterministic=True),
        )

    # --- leases ------------------------------------------------------------------------------

    def lease_of(self, project: str, holder: str, now: int) -> tuple[str, int] | None:
        """(task, expire ns) of the holder's unexpired lease in the project."""
        row = self._one(
            "SELECT task, expire_ns FROM leases WHERE project=? AND holder=? AND expire_ns>?",
            project,
            holder,
            now,
        )
        return (row[0], row[1]) if row else None

    def put_lease(self, project: str, holder: str, task: str, now: int, expire: int) -> None:
        # A renewal keeps the lease's age, so `leases` stays oldest first.
        self._run(
            "INSERT INTO leases VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, holder) DO UPDATE "
            "SET acquire_ns = CASE WHEN leases.task = excluded.task AND leases.expire_ns > ? "
            "THEN leases.acquire_ns ELSE excluded.acquire_ns END, "
            "task = excluded.task, expire_ns = excluded.expire_ns",
            project,
            holder,
            task,
            now,
            expire,
            now,
        )

    def end_lease(self, task: str, holder: str) -> None:
        self._run("DELETE FROM leases WHERE task=? AND holder=?", task, holder)
