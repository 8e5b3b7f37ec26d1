"""The command a worker of each kind of trainer runs, and the trainers this server cannot
run, refused with the spec's reasons."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lepton.training.v1 import training_job_pb2 as tj
from lepton_server.runtime.errors import InvalidArgument, Unimplemented
from lepton_server.training.trainer_commands import worker_argv


def test_builtin_trainers_run_their_module_in_this_python():
    conformance = tj.Trainer(builtin=tj.BuiltinTrainer(id="lepton.conformance"))
    assert worker_argv(conformance) == [
        sys.executable,
        "-m",
        "lepton_server.training.conformance_trainer",
    ]
    forest = tj.Trainer(builtin=tj.BuiltinTrainer(id="sklearn.random_forest_classifier"))
    assert worker_argv(forest)[-2:] == [
        "lepton_server.training.library_worker",
        "sklearn.random_forest_classifier",
    ]


def test_an_entrypoint_runs_in_a_shell():
    argv = worker_argv(tj.Trainer(entrypoint=tj.EntrypointTrainer(command="echo $((2 + 3))")))
    assert subprocess.run(argv, capture_output=True, text=True, check=True).stdout == "5\n"


@pytest.mark.parametrize(
    ("trainer", "error", "reason"),
    [
        (
            tj.Trainer(builtin=tj.BuiltinTrainer(id="sklearn.svm")),
            InvalidArgument,
            "UNKNOWN_TRAINER",
        ),
        (
            tj.Trainer(entrypoint=tj.EntrypointTrainer(command="  ")),
            InvalidArgument,
            "INVALID_FIELD",
        ),
        (
            tj.Trainer(container=tj.ContainerTrainer(image="a/b:1")),
            Unimplemented,
            "FEATURE_NOT_SUPPORTED",
        ),
        (tj.Trainer(), InvalidArgument, "INVALID_FIELD"),
    ],
    ids=["unknown", "empty-command", "container", "no-kind"],
)
def test_trainers_this_server_cannot_run_are_refused(trainer, error, reason):
    with pytest.raises(error) as refused:
        worker_argv(trainer)
    assert refused.value.reason == reason
