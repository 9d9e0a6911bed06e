"""Write a folder all at once: into a scratch sibling, then swap it in.

A reader never sees a half-written batch or plan, and a failed write leaves
whatever was there before untouched. The swap replaces only a folder this
product wrote (its files are all ones we write) or an empty one, unless the
caller forces it; it never replaces a file, the current folder or a folder
holding an input, whatever ``force`` says: those are how users lose work.
"""

import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from models.errors import DomError


class OutputPathError(DomError):
    """The output path holds something a write would destroy."""


@dataclass(frozen=True)
class Layout:
    """What a folder of ours holds: ``marker`` always, and nothing but ``names`` (when
    given; a report of many files says it is ours by its marker alone)."""

    what: str  # "batch", "plan": said in messages
    marker: str
    names: frozenset[str] | None = None

    def owns(self, folder: Path) -> bool:
        entries = list(folder.iterdir())
        if not any(e.name == self.marker for e in entries):
            return False
        return self.names is None or all(
            e.is_file() and not e.is_symlink() and e.name in self.names for e in entries
        )


def _protected(inputs: Iterable[str | Path]) -> set[Path]:
    """Folders no write may replace: the current one, home, inputs and their parents."""
    out = {Path.home().resolve()}
    for start in (Path.cwd(), *(Path(p) for p in inputs)):
        start = start.resolve()
        out.update((start, *start.parents))
    return out


def check_target(
    target: str | Path,
    layout: Layout,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> None:
    """Raise OutputPathError unless writing ``layout`` at ``target`` loses nothing."""
    target = Path(target)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise OutputPathError(f"{target} is a file, not a folder; choose another --out")
    if target.resolve() in _protected(inputs):
        raise OutputPathError(
            f"{target} is the current folder, an input or a folder holding one; "
            f"write the {layout.what} to a new folder"
        )
    if not target.exists() or force or not any(target.iterdir()) or layout.owns(target):
        return
    raise OutputPathError(
        f"{target} is not empty and is not a {layout.what} folder written by dom; "
        "choose a new folder, or pass --force to replace it"
    )


@contextmanager
def atomic_folder(
    target: str | Path,
    layout: Layout,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Iterator[Path]:
    """Yield a scratch folder; on success it replaces ``target`` whole.

    ``check_target`` runs first, so a refused target leaves no scratch behind.
    """
    target = Path(target)
    check_target(target, layout, force=force, inputs=inputs)
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkdir (not mkdtemp) so that the folder gets the user's umask, not 0700.
    scratch = target.with_name(f".{target.name}.{secrets.token_hex(6)}.new")
    scratch.mkdir()
    try:
        yield scratch
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    backup = None
    if target.exists():
        # A fresh name: whatever else sits beside the target is left alone.
        backup = target.with_name(f".{target.name}.{secrets.token_hex(6)}.old")
        target.rename(backup)
    os.replace(scratch, target)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
