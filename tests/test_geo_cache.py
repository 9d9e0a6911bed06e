"""The ZIP table is kept in the user's cache folder: a later process loads it instead of
building it from ``zipcodes`` again (about 1 s), and gets the very same table."""

from pathlib import Path

import numpy as np
import pytest

from data import geo


def test_the_zip_table_is_cached_and_read_back_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOM_CACHE_DIR", str(tmp_path))
    built = geo._zip_table_from_package()
    geo.zip_table.cache_clear()
    try:
        first = geo.zip_table()  # builds and saves
        saved = list(tmp_path.glob("zips-*.npz"))
        assert len(saved) == 1
        geo.zip_table.cache_clear()
        monkeypatch.setattr(geo, "_zip_table_from_package", lambda: pytest.fail("not cached"))
        second = geo.zip_table()  # read from the file
        for table in (first, second):
            assert np.array_equal(table.zips, built.zips)
            assert np.array_equal(table.lat, built.lat) and np.array_equal(table.lon, built.lon)
            assert np.array_equal(table.state, built.state)
            assert np.array_equal(table.city, built.city)
        assert second.state_of("02139") == "MA"
    finally:
        geo.zip_table.cache_clear()


def test_a_damaged_cache_file_is_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOM_CACHE_DIR", str(tmp_path))
    geo.zip_table.cache_clear()
    try:
        geo.zip_table()
        (path,) = tmp_path.glob("zips-*.npz")
        path.write_bytes(b"not a zip file")
        geo.zip_table.cache_clear()
        assert geo.zip_table().state_of("10001") == "NY"
        assert path.stat().st_size > 1000  # saved again
    finally:
        geo.zip_table.cache_clear()
