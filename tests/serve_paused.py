"""``dom serve`` whose sourcing runs stop inside their apply transaction.

Run as ``python -m tests.serve_paused serve …``: the crash test kills this
process while a run's writes are made but not committed.
"""

import time

from cli.main import main
from data.lifecycle_db import Database

PAUSE_S = 30.0


def _pause(run_id: str) -> None:
    time.sleep(PAUSE_S)


if __name__ == "__main__":
    Database.on_apply = staticmethod(_pause)  # type: ignore[assignment]
    main()
