"""Our own `manage.py` workers (the SLA clock, the notifier, the feedback worker) run as real
processes against the test database, killed and restarted by the tests that prove exactly-once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from django.db import connection

from tests.e2e.conftest import REPO, _server, subprocess_env


def worker_env(appname: str, **extra: str) -> dict[str, str]:
    """The environment of a worker pointed at the test database (the browser tests' helper).
    `PGAPPNAME` lets a test find the worker's session in pg_stat_activity."""
    env = subprocess_env(_server(), connection.settings_dict["NAME"])
    return env | {"PGAPPNAME": appname, "LOG_LEVEL": "INFO", **extra}


class Worker:
    """`manage.py <command> <args>` as a real process, its output in `<log_dir>/<name>.log`."""

    def __init__(self, log_dir: Path, name: str, command: str, *args: str, env: dict[str, str] | None = None):
        self.name, self.log = name, log_dir / f"{name}.log"
        self._out = self.log.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, "manage.py", command, *args], cwd=REPO, env=env or worker_env(name),
            stdout=self._out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (the worker finishes what it holds), SIGKILL after 15 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def run_once(command: str, name: str, *args: str) -> str:
    """`manage.py <command> --once` run to its end as a process of its own; its output."""
    done = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", command, "--once", *args], cwd=REPO, env=worker_env(name),
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
