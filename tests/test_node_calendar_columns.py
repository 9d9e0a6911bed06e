"""Node calendar columns in batch files and the store: optional, defaulted, checked."""

from datetime import date
from pathlib import Path

import pytest

from data.batch_io import batch_from_frames, read_batch, write_batch
from data.store import Store
from models.errors import BatchValidationError
from tests.tiny import frames


def test_old_batches_get_the_defaults_and_new_columns_round_trip(tmp_path: Path) -> None:
    f = frames()
    batch = batch_from_frames(date(2026, 12, 7), None, **f)
    assert list(batch.nodes["cutoff_hour"]) == [14, 14, 14]
    assert set(batch.nodes["closed_weekdays"]) == {"sat,sun"}
    f["nodes"]["cutoff_hour"] = [16, "", 12]
    f["nodes"]["closed_weekdays"] = ["sun", "", "none"]
    f["nodes"]["closed_dates"] = ["2026-12-26", "", ""]
    batch = batch_from_frames(date(2026, 12, 7), None, **f)
    assert list(batch.nodes["cutoff_hour"]) == [16, 14, 12]
    assert list(batch.nodes["closed_weekdays"]) == ["sun", "sat,sun", "none"]
    write_batch(batch, tmp_path / "b")
    again = read_batch(tmp_path / "b")
    assert list(again.nodes["closed_dates"]) == ["2026-12-26", "", ""]
    with Store(":memory:") as s:
        s.load_batch(again)
        out = s.export_batch()
    assert list(out.nodes["cutoff_hour"]) == [16, 14, 12]
    assert list(out.nodes["closed_weekdays"]) == ["sun", "sat,sun", "none"]


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("cutoff_hour", 25, "<= 24"),
        ("closed_weekdays", "funday", "weekday names"),
        ("holiday_calendar", "XX-YY-ZZ", "holiday calendar"),
        ("holiday_calendar", "ZZ", "unknown calendar"),
        ("closed_dates", "2026-02-30", "not a date"),
        ("closed_weekdays", "mon tue wed thu fri sat sun", "some weekday"),
    ],
)
def test_bad_calendar_cells_name_file_row_and_column(column: str, value: object, says: str) -> None:
    f = frames()
    f["nodes"][column] = [f["nodes"][column].iloc[0] if column in f["nodes"] else None] * 3
    f["nodes"].loc[1, column] = value
    with pytest.raises(BatchValidationError) as e:
        batch_from_frames(date(2026, 12, 7), None, **f)
    (p,) = e.value.problems
    assert (p.file, p.row, p.column) == ("nodes", 2, column)
    assert says in p.message
