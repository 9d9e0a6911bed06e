"""Issue 20, finding 10: the README's quick start runs, and prints the rows it shows.

Every ``$ command`` in the console blocks of the README's "Quick start" section
is run in order in an empty folder (``dom`` is this checkout's), at 80
columns; each line the README shows under it must be a line of the real output
(whitespace aside). Only what depends on the machine is left out: progress
timers, the wall time row, and the seconds column of the demo's comparison.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOM = Path(sys.executable).parent / "dom"
TIMER = re.compile(r"\d+:\d\d:\d\d$")
STRATEGY_ROW = re.compile(r"^(nearest|greedy|optimize|mip) .* (\d+\.\d)$")


def quick_start() -> list[tuple[str, list[str]]]:
    """(command, the output lines shown under it) from the README's quick start."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
    return steps


def normal(line: str) -> str | None:
    """A line as compared, or None when it depends on the machine."""
    line = " ".join(line.split())
    if not line or line == "..." or TIMER.search(line) or "wall time" in line:
        return None
    row = STRATEGY_ROW.match(line)
    return line[: row.start(2)] + "<s>" if row else line


def test_the_quick_start_has_the_four_steps() -> None:
    commands = [shlex.split(c)[:2] for c, _ in quick_start()]
    for step in (["dom", "generate"], ["dom", "plan"], ["dom", "check"], ["dom", "explain"]):
        assert step in commands


def test_the_quick_start_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    env.pop("DOM_DB_PATH", None)
    for command, shown in quick_start():
        argv = shlex.split(command)
        if argv[0] == "dom":
            argv[0] = str(DOM)
        run = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert run.returncode == 0, (command, run.stdout, run.stderr)
        printed = {normal(line) for line in (run.stdout + run.stderr).splitlines()}
        missing = [line for line in shown if normal(line) and normal(line) not in printed]
        assert not missing, (command, missing, run.stdout)


def test_the_api_walk_through_uses_the_served_port_and_real_routes() -> None:
    import inspect

    from api.app import create_app
    from cli.serve_cmd import serve_cmd

    text = (ROOT / "api" / "README.md").read_text()
    port = inspect.signature(serve_cmd).parameters["port"].default
    assert f"http://127.0.0.1:{port}" in text
    schema = create_app().openapi()["paths"]
    templates = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for p in schema]
    calls = re.findall(r'curl -s[^\n]*?(?:-X (\w+) )?"\$B(/[^"?]*)', text)
    assert len(calls) >= 6
    for method, path in calls:
        matching = [p for p, t in zip(schema, templates, strict=True) if t.match(path)]
        assert matching, path
        assert any((method or "GET").lower() in schema[p] for p in matching), (method, path)
