"""The ``dom`` command: thin typer commands over library calls."""

import time

# The package loads first (before typer): the closest reading to the process's start.
IMPORTED = time.perf_counter()
# When the running ``dom`` command began: set by ``cli.main.main``, None when the commands
# run inside another program (tests). ``dom plan``'s time limit counts from it.
PROCESS_STARTED: float | None = None
# Set by a command once its output is written and flushed to skip the interpreter's
# teardown of a large heap (0.5-1 s after ``dom plan`` on 30,000 orders).
QUICK_EXIT = False
