"""The parsed-array cache: hits skip the parser, bad entries are misses, writes are atomic."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from backtune.data import cache, load_csv, load_csv_bytes, loader

ROLES = ("time", "open", "high", "low", "close", "volume")
TEXT = "time,open,high,low,close,Volume\n" + "".join(
    f"{1_700_000_000 + 900 * i},{10 + i},{12 + i},{9 + i},{11 + i},{100 + i}\n" for i in range(5)
)


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(TEXT)
    return path


@pytest.fixture
def parse_calls(monkeypatch):
    """Counts real parses by wrapping the parser the loader calls."""
    calls = []
    real = loader.parse_csv

    def counting(data, name):
        calls.append(name)
        return real(data, name)

    monkeypatch.setattr(loader, "parse_csv", counting)
    return calls


def assert_same(first, second):
    for role in ROLES:
        np.testing.assert_array_equal(getattr(first.bars, role), getattr(second.bars, role))
        assert getattr(first.bars, role).dtype == getattr(second.bars, role).dtype
    assert first.bars.has_volume == second.bars.has_volume
    assert first.summary == second.summary


def only_entry(cache_dir):
    entries = list(cache_dir.iterdir())
    assert len(entries) == 1, entries
    return entries[0]


def test_second_load_is_served_from_cache_without_parsing(tmp_path, csv_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    first = load_csv(csv_path, cache_dir=cache_dir)
    entry = only_entry(cache_dir)
    assert entry.name == f"{first.summary.sha256}.v{cache.FORMAT_VERSION}.npz"

    def must_not_parse(data, name):
        raise AssertionError("parser called despite a cache entry")

    monkeypatch.setattr(loader, "parse_csv", must_not_parse)
    second = load_csv(csv_path, cache_dir=cache_dir)
    assert_same(first, second)
    renamed = load_csv_bytes(TEXT.encode(), "copy.csv", cache_dir=cache_dir)
    assert renamed.summary.file_name == "copy.csv"
    assert renamed.summary.columns == first.summary.columns


def test_edited_file_misses_the_cache(tmp_path, csv_path, parse_calls):
    cache_dir = tmp_path / "cache"
    load_csv(csv_path, cache_dir=cache_dir)
    csv_path.write_text(TEXT.replace(",100\n", ",250\n"))
    edited = load_csv(csv_path, cache_dir=cache_dir)
    assert parse_calls == ["prices.csv", "prices.csv"]
    assert edited.bars.volume[0] == 250
    assert len(list(cache_dir.iterdir())) == 2


def test_new_format_version_misses_old_entries(tmp_path, csv_path, parse_calls, monkeypatch):
    cache_dir = tmp_path / "cache"
    load_csv(csv_path, cache_dir=cache_dir)
    monkeypatch.setattr(cache, "FORMAT_VERSION", cache.FORMAT_VERSION + 1)
    load_csv(csv_path, cache_dir=cache_dir)
    assert len(parse_calls) == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"not a zip file"),
        lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
        lambda path: np.savez(path.open("wb"), time=np.arange(3)),
        lambda path: np.savez(
            path.open("wb"),
            **{role: np.zeros(3) for role in ROLES},
            has_volume=np.bool_(True),
            columns=np.str_("{}"),
        ),
    ],
    ids=["garbage", "truncated", "missing-arrays", "wrong-dtype-and-times"],
)
def test_corrupt_entry_is_ignored_and_rewritten(tmp_path, csv_path, parse_calls, damage, caplog):
    cache_dir = tmp_path / "cache"
    fresh = load_csv(csv_path, cache_dir=cache_dir)
    entry = only_entry(cache_dir)
    damage(entry)

    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        recovered = load_csv(csv_path, cache_dir=cache_dir)
    assert_same(fresh, recovered)
    assert len(parse_calls) == 2
    assert "ignoring" in caplog.text

    repaired = cache.load_cached(cache_dir, fresh.summary.sha256)
    assert repaired is not None
    np.testing.assert_array_equal(repaired.bars.close, fresh.bars.close)
    assert only_entry(cache_dir) == entry


def test_unwritable_cache_does_not_fail_the_load(tmp_path, csv_path, caplog):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache directory should be")
    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        data = load_csv(csv_path, cache_dir=blocked)
    assert len(data.bars) == 5
    assert "could not write cache entry" in caplog.text


def test_bad_files_are_never_cached(tmp_path):
    cache_dir = tmp_path / "cache"
    with pytest.raises(ValueError):
        load_csv_bytes(b"time,open,high,low,close\n1,1,2,3,1\n2,1,2,0.5,1\n", "bad.csv", cache_dir=cache_dir)
    assert not cache_dir.exists() or not any(cache_dir.iterdir())
