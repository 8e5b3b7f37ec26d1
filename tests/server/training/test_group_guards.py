"""The launcher a local trainer runs under (TRN-063): the command it becomes gets exactly its
own environment, signals at their defaults, and the launcher itself is not changed by what the
job's environment or working directory hold."""

from __future__ import annotations

import os
import shutil
import subprocess

from lepton_server.training.group_guards import guarded_argv

ENV = {"PATH": os.environ["PATH"], "JOB_SETTING": "kept", "PYTHONHOME": "/no/such/python"}


def _run(argv: list[str], cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        guarded_argv(argv, ENV),
        env=ENV,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        check=False,
    )


def test_the_command_gets_its_environment_and_default_signals(tmp_path):
    # A file of the job's working directory named like a module Python imports on its way.
    (tmp_path / "inspect.py").write_text("raise SystemExit(3)\n")
    printed = _run([shutil.which("env")], tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert dict(line.split("=", 1) for line in printed.stdout.splitlines()) == ENV
    status = _run([shutil.which("cat"), "/proc/self/status"], tmp_path).stdout
    ignored = int(
        next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16
    )
    for signum in (13, 25):  # SIGPIPE, SIGXFSZ
        assert not ignored & (1 << (signum - 1))


def test_a_command_that_cannot_run_exits_127_with_a_reason(tmp_path):
    failed = _run([str(tmp_path / "missing-trainer")], tmp_path)
    assert failed.returncode == 127
    assert "cannot run" in failed.stderr and "No such file" in failed.stderr
