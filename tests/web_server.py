"""A live ``dom serve`` app on a loopback port in a thread, for browser tests.

The app is the real one (``create_app``) over the lifecycle test network, so
the browser sees exactly what ``dom serve`` serves.
"""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from api.app import create_app
from api.settings import Settings
from data.lifecycle_db import Database

# Ports this project's tests may use; the first free one is taken.
PORTS = range(18500, 18600)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@contextmanager
def serve(db: Database, run_time_limit: float = 2.0) -> Iterator[str]:
    """Serve the app over ``db``; yields the base URL; stops the server afterwards."""
    settings = Settings(
        db_path=Path(":memory:"),
        bootstrap_admin=False,
        run_time_limit=run_time_limit,
        web_secret="test-console-secret",
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, db=db), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
