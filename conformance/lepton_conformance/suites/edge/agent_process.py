"""The device agent under test as a process: started from the run's `--agent-command`
template with its placeholders filled in, killed with SIGKILL (a crash or power cut of the
agent, not of the OS), stopped, and started again on the same state directory."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from lepton_conformance.harness.case import Failed

PLACEHOLDERS = ("fleet", "state_dir", "serve", "trust_roots", "bootstrap_token", "device_id")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def check_template(template: str) -> None:
    """ValueError when `template` names a placeholder the harness does not fill."""
    unknown = sorted(set(PLACEHOLDER.findall(template)) - set(PLACEHOLDERS))
    if unknown:
        raise ValueError(
            f"--agent-command names unknown placeholder(s) {', '.join(unknown)}; "
            f"known: {', '.join(PLACEHOLDERS)}"
        )


def command(template: str, values: dict[str, str]) -> list[str]:
    """The argument list of `template` (split as a POSIX shell would) with every
    placeholder replaced by its value, so paths with spaces stay one argument."""
    check_template(template)
    return [PLACEHOLDER.sub(lambda m: values[m.group(1)], word) for word in shlex.split(template)]


@dataclass
class AgentProcess:
    """One agent: its command, where it serves, and the log files it writes to."""

    argv: list[str]
    serve: str
    log_dir: Path
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> None:
        """Start the agent and wait until its inference endpoint accepts connections."""
        if self.running:
            raise RuntimeError("the agent is already running")
        self.starts += 1
        out = (self.log_dir / f"agent-{self.starts}.out").open("wb")
        err = (self.log_dir / f"agent-{self.starts}.err").open("wb")
        with out, err:
            self.process = subprocess.Popen(
                self.argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        with grpc.insecure_channel(self.serve) as channel:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise Failed(
                        f"the agent to start and serve at {self.serve}",
                        f"it exited with status {self.process.returncode}: {self.stderr_tail()}",
                    )
                try:
                    grpc.channel_ready_future(channel).result(timeout=0.5)
                    return
                except grpc.FutureTimeoutError:
                    continue
        raise Failed(
            f"the agent to serve at {self.serve} within {START_TIMEOUT_S:g} s", "no listener"
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the agent gets no chance to flush or close anything."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL when it does not end in time."""
        if not self.running:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self, kill: bool = True) -> None:
        (self.kill if kill else self.stop)()
        self.start()

    def stderr_tail(self, lines: int = 5) -> str:
        path = self.log_dir / f"agent-{self.starts}.err"
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"
