"""Start and stop a real ``dom serve`` process on loopback for process-level tests."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "proc-admin-key"
STARTUP_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One ``dom serve`` subprocess on a DuckDB file; stopped gently or killed."""

    def __init__(
        self,
        db_path: Path,
        extra_env: dict[str, str] | None = None,
        module: str = "cli.main",
        port: int | None = None,
        root: Path = ROOT,
    ) -> None:
        """``root``: the checkout whose code serves (benchmarks compare two)."""
        self.db_path = db_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DOM_API_KEYS": json.dumps({ADMIN_KEY: "admin"}),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.log = open(db_path.with_suffix(f".{self.port}.log"), "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "serve",
                "--db",
                str(db_path),
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=root,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dom serve exited: {self.read_log()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"dom serve did not start: {self.read_log()[-2000:]}")

    def read_log(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.db_path.with_suffix(f".{self.port}.log").read_text()

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": ADMIN_KEY}

    def stop(self) -> None:
        """SIGTERM: uvicorn shuts down and the store is closed (checkpointed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, as if the machine lost power mid-request."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.log.close()
