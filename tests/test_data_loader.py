"""CSV ingestion: accepted formats, located errors and the real data files."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtune.data import DataError, Dataset, load_csv, load_csv_bytes
from backtune.data.summary import interval_label
from tests.conftest import LINK_15M as LINK_CSV
from tests.conftest import SUI_30M as SUI_CSV

# Any warning from the loader (pandas truncating a row, say) hides a bug: fail on it.
pytestmark = pytest.mark.filterwarnings("error")

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
NS = 1_000_000_000


def load_text(tmp_path: Path, text: str | bytes, name: str = "prices.csv", **kwargs) -> Dataset:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return load_csv(path, **kwargs)


def csv_rows(times: list[object], delimiter: str = ",") -> str:
    """Consistent bars (open 10, high 12, low 9, close 11, volume 100) at the given times."""
    return "".join(f"{delimiter.join([str(t), '10', '12', '9', '11', '100'])}\n" for t in times)


# --- accepted formats -------------------------------------------------------------


def test_tradingview_export_gives_contiguous_int64_ns_and_float64_arrays(tmp_path):
    text = "time,open,high,low,close,Volume\n" + "".join(
        f"{T0 + 900 * i},{10 + i},{12 + i},{9 + i},{11 + i},{100.5 * i}\n" for i in range(4)
    )
    data = load_text(tmp_path, text)
    bars = data.bars
    np.testing.assert_array_equal(bars.time, (T0 + 900 * np.arange(4)) * NS)
    np.testing.assert_array_equal(bars.open, [10, 11, 12, 13])
    np.testing.assert_array_equal(bars.high, [12, 13, 14, 15])
    np.testing.assert_array_equal(bars.low, [9, 10, 11, 12])
    np.testing.assert_array_equal(bars.close, [11, 12, 13, 14])
    np.testing.assert_array_equal(bars.volume, [0, 100.5, 201, 301.5])
    assert bars.has_volume
    assert bars.time.dtype == np.int64
    for array in (bars.open, bars.high, bars.low, bars.close, bars.volume):
        assert array.dtype == np.float64
    for array in (bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume):
        assert array.flags.c_contiguous
    summary = data.summary
    assert summary.rows == 4
    assert summary.first_time == "2023-11-14T22:13:20Z"
    assert summary.last_time == "2023-11-14T22:58:20Z"
    assert (summary.interval_seconds, summary.interval_label) == (900, "15m")
    assert summary.columns == {
        "time": "time",
        "open": "open",
        "high": "high",
        "low": "low",
        "close": "close",
        "volume": "Volume",
    }
    assert summary.file_name == "prices.csv"
    assert summary.sha256 == hashlib.sha256(text.encode()).hexdigest()


def test_binance_klines_in_milliseconds_with_extra_columns(tmp_path):
    header = (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        "taker_buy_volume,taker_buy_quote_volume,ignore\n"
    )
    rows = "".join(
        f"{(T0 + 60 * i) * 1000},10,12,9,11,5,{(T0 + 60 * i) * 1000 + 59999},55,7,2,22,0\n" for i in range(3)
    )
    data = load_text(tmp_path, header + rows)
    np.testing.assert_array_equal(data.bars.time, (T0 + 60 * np.arange(3)) * NS)
    np.testing.assert_array_equal(data.bars.volume, [5, 5, 5])
    assert data.summary.columns["time"] == "open_time"
    assert data.summary.columns["volume"] == "volume"
    assert data.summary.interval_label == "1m"


def test_fractional_epoch_seconds_keep_sub_second_precision(tmp_path):
    data = load_text(tmp_path, "time,open,high,low,close,volume\n" + csv_rows([f"{T0}.5", f"{T0 + 1}.125"]))
    np.testing.assert_array_equal(data.bars.time, [T0 * NS + 500_000_000, (T0 + 1) * NS + 125_000_000])


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("2024-01-02", "2024-01-03", ["2024-01-02T00:00:00", "2024-01-03T00:00:00"]),
        ("2024-01-02 09:30", "2024-01-02 09:45", ["2024-01-02T09:30:00", "2024-01-02T09:45:00"]),
        ("2024-01-02 09:30:15", "2024-01-02T09:30:16", ["2024-01-02T09:30:15", "2024-01-02T09:30:16"]),
        ("2024-01-02T10:00:00+01:00", "2024-01-02T09:15:00Z", ["2024-01-02T09:00:00", "2024-01-02T09:15:00"]),
        ("2024-01-02T09:00:00-05:00", "2024-01-02 14:15:00", ["2024-01-02T14:00:00", "2024-01-02T14:15:00"]),
    ],
    ids=["date", "minutes", "seconds-and-T", "offset-and-Z", "offset-and-naive"],
)
def test_text_times_are_read_as_utc(tmp_path, first, second, expected):
    data = load_text(tmp_path, "Date,Open,High,Low,Close,Volume\n" + csv_rows([first, second]))
    np.testing.assert_array_equal(data.bars.time, np.array(expected, dtype="datetime64[ns]").view(np.int64))


@pytest.mark.parametrize(
    "name", ["Date", "DATETIME", "timestamp", "Time", "open_time", " Open Time ", "", "Unnamed: 0"]
)
def test_time_column_names(tmp_path, name):
    data = load_text(tmp_path, f"{name},open,high,low,close,volume\n" + csv_rows(["2024-01-02", "2024-01-03"]))
    assert data.summary.columns["time"] == name.strip()
    assert data.summary.first_time == "2024-01-02T00:00:00Z"


def test_open_time_is_preferred_over_other_time_columns(tmp_path):
    text = "timestamp,datetime,open,high,low,close\n" + "".join(
        f"{(T0 + 60 * i) * 1000},2001-01-01,10,12,9,11\n" for i in range(2)
    )
    data = load_text(tmp_path, text)
    assert data.summary.columns["time"] == "timestamp"
    assert data.bars.time[0] == T0 * NS


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    header = delimiter.join(["time", "open", "high", "low", "close", "volume"]) + "\n"
    data = load_text(tmp_path, header + csv_rows([T0, T0 + 60], delimiter))
    np.testing.assert_array_equal(data.bars.close, [11, 11])
    np.testing.assert_array_equal(data.bars.volume, [100, 100])


def test_bom_header_case_whitespace_and_quotes(tmp_path):
    text = '\ufeff DATE ; "Open" ;HIGH; low ;Close ; VOL \n' + csv_rows(["2024-01-02", "2024-01-03"], ";")
    data = load_text(tmp_path, text)
    assert data.summary.columns == {
        "time": "DATE",
        "open": "Open",
        "high": "HIGH",
        "low": "low",
        "close": "Close",
        "volume": "VOL",
    }
    np.testing.assert_array_equal(data.bars.volume, [100, 100])


def test_missing_volume_gives_zeros_and_has_volume_false(tmp_path):
    data = load_text(tmp_path, "time,open,high,low,close\n" + "".join(f"{T0 + i},1,2,0.5,1.5\n" for i in range(3)))
    assert not data.bars.has_volume
    np.testing.assert_array_equal(data.bars.volume, np.zeros(3))
    assert data.bars.volume.dtype == np.float64
    assert "volume" not in data.summary.columns


def test_newest_first_file_is_reversed(tmp_path):
    header = "time,open,high,low,close\n"
    rows = [f"{T0 + 60 * i},{10 + i},{12 + i},{9 + i},{11 + i}\n" for i in range(5)]
    ascending = load_text(tmp_path, header + "".join(rows), "up.csv")
    descending = load_text(tmp_path, header + "".join(reversed(rows)), "down.csv")
    for role in ("time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(descending.bars, role), getattr(ascending.bars, role))
        assert getattr(descending.bars, role).flags.c_contiguous
    assert descending.summary.first_time == ascending.summary.first_time


def test_blank_lines_are_skipped(tmp_path):
    text = "\n\ntime,open,high,low,close,volume\n\n" + csv_rows([T0]) + "   \n,,,,,\n" + csv_rows([T0 + 60]) + "\n\n"
    data = load_text(tmp_path, text)
    np.testing.assert_array_equal(data.bars.time, [T0 * NS, (T0 + 60) * NS])


def test_extra_trailing_delimiter_everywhere_is_accepted(tmp_path):
    data = load_text(tmp_path, "time,open,high,low,close,\n" + "".join(f"{T0 + i},1,2,0.5,1.5,\n" for i in range(2)))
    assert len(data.bars) == 2


@pytest.mark.parametrize("tz", [None, "UTC", "America/New_York"])
def test_pandas_to_csv_output_round_trips(tmp_path, tz):
    index = pd.date_range("2024-03-08", periods=6, freq="12h", tz=tz)
    frame = pd.DataFrame(
        {"Open": 10.0, "High": 12.5, "Low": 9.25, "Close": np.arange(6) / 4 + 10.0, "Volume": 3.0}, index=index
    )
    path = tmp_path / "frame.csv"
    frame.to_csv(path)
    data = load_csv(path)
    expected = (index.tz_convert("UTC") if tz else index).as_unit("ns").asi8
    np.testing.assert_array_equal(data.bars.time, expected)
    np.testing.assert_array_equal(data.bars.close, frame["Close"].to_numpy())
    assert data.summary.columns["time"] == ""


def test_bytes_and_path_loading_agree(tmp_path):
    text = "time,open,high,low,close,Volume\n" + csv_rows([T0, T0 + 60, T0 + 120])
    from_path = load_text(tmp_path, text)
    from_bytes = load_csv_bytes(text.encode(), "prices.csv")
    assert from_bytes.summary == from_path.summary
    for role in ("time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(from_bytes.bars, role), getattr(from_path.bars, role))


def utc_ns(*times: str) -> np.ndarray:
    return np.array(times, dtype="datetime64[ns]").view(np.int64)


@pytest.mark.parametrize("delimiter", [",", ";"], ids=["comma", "semicolon"])
def test_yyyymmdd_integers_are_utc_dates(tmp_path, delimiter):
    header = delimiter.join(["Date", "Open", "High", "Low", "Close", "Volume"]) + "\n"
    data = load_text(tmp_path, header + csv_rows(["20231229", "20240102", '"20240229"'], delimiter))
    np.testing.assert_array_equal(data.bars.time, utc_ns("2023-12-29", "2024-01-02", "2024-02-29"))
    assert data.summary.columns["time"] == "Date"


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([100_000_000, 100_000_060], ["1973-03-03T09:46:40", "1973-03-03T09:47:40"]),
        ([9_999_940, 9_999_999], ["1970-04-26T17:45:40", "1970-04-26T17:46:39"]),
    ],
    ids=["9-digits", "7-digits"],
)
def test_numbers_of_other_lengths_stay_unix_seconds(tmp_path, times, expected):
    data = load_text(tmp_path, "time,open,high,low,close,volume\n" + csv_rows(times))
    np.testing.assert_array_equal(data.bars.time, utc_ns(*expected))


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("1234", 1234.0),
        ("1234,5", 1234.5),
        ("0,000001", 0.000001),
        ("1.234,5", 1234.5),
        ("1.234.567", 1234567.0),
        ("1 234,25", 1234.25),
        ("1\u00a0234", 1234.0),
        ("12\u202f345\u202f678,5", 12345678.5),
    ],
    ids=[
        "integer",
        "decimal-comma",
        "small",
        "point-thousands",
        "point-groups",
        "space-thousands",
        "no-break-space",
        "narrow-no-break-space",
    ],
)
def test_decimal_commas_in_semicolon_files(tmp_path, cell, value):
    text = "Date;Open;High;Low;Close;Volume\n" + "".join(
        f"{day};1,2345;1,2400;1,2300;1,2350;{cell}\n" for day in ("2024-01-02", "2024-01-03")
    )
    data = load_text(tmp_path, text)
    np.testing.assert_array_equal(data.bars.open, [1.2345, 1.2345])
    np.testing.assert_array_equal(data.bars.high, [1.24, 1.24])
    np.testing.assert_array_equal(data.bars.volume, [value, value])


def test_semicolon_file_with_decimal_points_reads_points(tmp_path):
    text = "Date;Open;High;Low;Close;Volume\n2024-01-02;1.2345;1.24;1.23;1.235;1.5\n2024-01-03;1;2;1;2;0\n"
    data = load_text(tmp_path, text)
    np.testing.assert_array_equal(data.bars.open, [1.2345, 1])
    np.testing.assert_array_equal(data.bars.volume, [1.5, 0])


@pytest.mark.parametrize(
    ("text", "expected", "columns"),
    [
        pytest.param(
            "Date,Time,Open,High,Low,Close,Volume\n2024.01.02,13:45,1,2,0.5,1.5,10\n"
            "2024.01.02,13:50,1,2,0.5,1.5,10\n2024.01.03,00:00,1,2,0.5,1.5,10\n",
            ["2024-01-02T13:45", "2024-01-02T13:50", "2024-01-03T00:00"],
            ("Date", "Time"),
            id="metatrader-4",
        ),
        pytest.param(
            "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
            "2024.01.02\t09:05:00\t1.1\t1.2\t1.0\t1.15\t100\t10\t2\n"
            "2024.01.02\t9:10:30.25\t1.1\t1.2\t1.0\t1.15\t100\t10\t2\n",
            ["2024-01-02T09:05:00", "2024-01-02T09:10:30.25"],
            ("<DATE>", "<TIME>"),
            id="metatrader-5",
        ),
        pytest.param(
            "date;time;open;high;low;close\n20240102;23:59:59;1,1;1,2;1,0;1,15\n20240103;00:00:00;1,1;1,2;1,0;1,15\n",
            ["2024-01-02T23:59:59", "2024-01-03T00:00:00"],
            ("date", "time"),
            id="yyyymmdd-decimal-comma",
        ),
    ],
)
def test_date_and_time_of_day_columns_are_combined(tmp_path, text, expected, columns):
    data = load_text(tmp_path, text)
    np.testing.assert_array_equal(data.bars.time, utc_ns(*expected))
    assert (data.summary.columns["time"], data.summary.columns["time_of_day"]) == columns
    assert list(data.summary.columns)[:2] == ["time", "time_of_day"]


def test_metatrader_headers_in_angle_brackets_pick_real_volume(tmp_path):
    text = "<DATE>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\n" + csv_rows(["2024.01.02", "2024.01.03"], "\t")
    data = load_text(tmp_path, text.replace("\t100\n", "\t100\t7\n"))
    assert data.summary.columns == {
        "time": "<DATE>",
        "open": "<OPEN>",
        "high": "<HIGH>",
        "low": "<LOW>",
        "close": "<CLOSE>",
        "volume": "<VOL>",
    }
    np.testing.assert_array_equal(data.bars.volume, [7, 7])


def test_a_full_timestamp_column_wins_over_date_and_time(tmp_path):
    text = "timestamp,date,time,open,high,low,close\n" + "".join(
        f"{T0 + 60 * i},2001-01-01,09:30,10,12,9,11\n" for i in range(2)
    )
    data = load_text(tmp_path, text)
    assert data.summary.columns["time"] == "timestamp" and "time_of_day" not in data.summary.columns
    assert data.bars.time[0] == T0 * NS


@pytest.mark.parametrize(
    ("seconds", "label"),
    [
        (1, "1s"),
        (90, "90s"),
        (60, "1m"),
        (900, "15m"),
        (5400, "90m"),
        (3600, "1h"),
        (14400, "4h"),
        (86400, "1D"),
        (172800, "2D"),
        (604800, "1W"),
        (2678400, "1M"),
        (2592000, "1M"),
        (0, "<1s"),
    ],
)
def test_interval_label(seconds, label):
    assert interval_label(seconds) == label


# --- errors -----------------------------------------------------------------------

HEADER = "time,open,high,low,close,volume\n"
GOOD = f"{T0},10,12,9,11,100\n"
NEXT = f"{T0 + 60},10,12,9,11,100\n"
DAILY = "Date,open,high,low,close,volume\n"
EURO = "Date;Open;High;Low;Close;Volume\n2024-01-02;1,2345;1,2400;1,2300;1,2350;5\n"
SPLIT = "Date,Time,open,high,low,close\n"


@pytest.mark.parametrize(
    ("text", "row", "column", "reason"),
    [
        pytest.param("", None, None, "the file is empty", id="empty-file"),
        pytest.param(" \n\n\t\n", None, None, "the file is empty", id="blank-file"),
        pytest.param(GOOD + NEXT, 1, None, "the first line is not a header", id="no-header"),
        pytest.param("time,open,low,close\n" + GOOD, 1, None, "missing high column", id="missing-high"),
        pytest.param("time,open,close\n", 1, None, "missing high, low columns", id="missing-high-low"),
        pytest.param("date_x,open,high,low,close\n", 1, None, "missing time column", id="missing-time"),
        pytest.param(
            "time,Close,open,high,low,close\n",
            1,
            "close",
            "columns 'Close' and 'close' both look like close",
            id="ambiguous-column",
        ),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},10,12,abc,11,100\n",
            3,
            "low",
            "low 'abc' is not a number",
            id="non-numeric-price",
        ),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},10,12,9,nan,100\n",
            3,
            "close",
            "close nan is not a finite number",
            id="nan-price",
        ),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},10,inf,9,11,100\n", 3, "high", "high inf is not a finite number", id="inf-price"
        ),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},10,12,9,11,lots\n",
            3,
            "volume",
            "volume 'lots' is not a number",
            id="non-numeric-volume",
        ),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},11,10.5,11.0,11,100\n",
            3,
            "high",
            "high 10.5 is below low 11.0",
            id="high-below-low",
        ),
        pytest.param(
            HEADER + f"{T0},13,12,9,11,100\n" + NEXT,
            2,
            "open",
            "open 13.0 is outside the bar's range [low 9.0, high 12.0]",
            id="open-above-high",
        ),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},10,12,9,8.5,100\n",
            3,
            "close",
            "close 8.5 is outside the bar's range [low 9.0, high 12.0]",
            id="close-below-low",
        ),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},10,12,0,11,100\n", 3, "low", "low 0.0 is not positive", id="zero-price"
        ),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},-1,-1,-1,-1,100\n", 3, "open", "open -1.0 is not positive", id="negative-price"
        ),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},10,12,9,11,-5\n", 3, "volume", "volume -5.0 is negative", id="negative-volume"
        ),
        pytest.param(
            HEADER + GOOD + NEXT + NEXT, 4, "time", "time 2023-11-14T22:14:20Z repeats row 3", id="duplicate-time"
        ),
        pytest.param(
            HEADER + csv_rows([T0, T0 + 120, T0 + 60, T0 + 180]),
            4,
            "time",
            "time 2023-11-14T22:14:20Z is earlier than 2023-11-14T22:15:20Z on row 3",
            id="out-of-order",
        ),
        pytest.param(
            HEADER + csv_rows([T0 + 180, T0 + 120, T0 + 240, T0]),
            4,
            "time",
            "is later than 2023-11-14T22:15:20Z on row 3, but the file is in newest-first time order",
            id="newest-first-out-of-order",
        ),
        pytest.param(
            "Date,open,high,low,close,volume\n" + csv_rows(["2024-01-02", "2024-02-30"]),
            3,
            "Date",
            "cannot read time '2024-02-30'",
            id="unparseable-date",
        ),
        pytest.param(
            HEADER + GOOD + csv_rows(["yesterday"]), 3, "time", "cannot read time 'yesterday'", id="unparseable-epoch"
        ),
        pytest.param(
            "Date,open,high,low,close,volume\n" + csv_rows(["2024-01-02", "2300-01-01"]),
            3,
            "Date",
            "cannot read time '2300-01-01'",
            id="time-out-of-range",
        ),
        pytest.param(
            DAILY + csv_rows(["20240131", "20240230"]),
            3,
            "Date",
            "cannot read time 20240230: expected a YYYYMMDD date",
            id="yyyymmdd-impossible-date",
        ),
        pytest.param(
            DAILY + csv_rows(["21991231", "22000101"]),
            3,
            "Date",
            "cannot read time 22000101: expected a YYYYMMDD date such as 20240131 like most of the column, "
            "between the years 1800 and 2199",
            id="yyyymmdd-out-of-range",
        ),
        pytest.param(
            DAILY + csv_rows(["20240131", "20240201", "202402020"]),
            4,
            "Date",
            "cannot read time 202402020: expected a YYYYMMDD date",
            id="yyyymmdd-with-9-digit-typo",
        ),
        pytest.param(
            DAILY + csv_rows(["2024013", "20240201", "20240202"]),
            2,
            "Date",
            "cannot read time 2024013: expected a YYYYMMDD date",
            id="yyyymmdd-with-7-digit-typo",
        ),
        pytest.param(
            DAILY + csv_rows(["20240131", "20240201.5"]),
            3,
            "Date",
            "cannot read time 20240201.5: expected a YYYYMMDD date",
            id="yyyymmdd-with-fraction",
        ),
        pytest.param(
            HEADER + csv_rows([10_000_000, 10_000_060]),
            2,
            "time",
            "(8-digit numbers as Unix seconds would fall in 1970-1973)",
            id="8-digit-unix-seconds",
        ),
        pytest.param(
            HEADER + csv_rows([T0, T0 + 60, 17_000_120]),
            4,
            "time",
            "cannot read time 17000120: expected Unix seconds, milliseconds or microseconds like the "
            "column's other numbers",
            id="8-digit-number-among-unix-seconds",
        ),
        # Issue 9, row 12: 19-digit epochs were read silently as nanoseconds, bars 1 ns apart.
        pytest.param(
            HEADER + csv_rows([1_700_000_000_000_000_000 + i for i in range(3)]),
            2,
            "time",
            "nanoseconds, 18 or 19 digits, are not read",
            id="19-digit-nanosecond-epochs",
        ),
        pytest.param(
            HEADER + csv_rows([1_700_000_000_000_000, 1_700_000_060_000_000, 1_700_000_000_000_000_000]),
            4,
            "time",
            "cannot read time 1700000000000000000",
            id="19-digits-among-microseconds",
        ),
        pytest.param(
            EURO + "2024-01-03;1,2;1,3;1.1;1,2;5\n",
            3,
            "Low",
            "low '1.1' is not a number: expected a number with a decimal comma, as the file writes '1,2345'",
            id="decimal-point-in-decimal-comma-file",
        ),
        pytest.param(
            EURO + "2024-01-03;1,2;1,3;1,1;1,2;1.234\n",
            3,
            "Volume",
            "volume '1.234' is not a number: expected a number with a decimal comma",
            id="lone-thousands-point",
        ),
        pytest.param(
            HEADER + GOOD + f'{T0 + 60},10,12,9,"11,5",100\n',
            3,
            "close",
            "close '11,5' is not a number: expected a number such as 1234.5 (decimal commas only in "
            "semicolon-separated files)",
            id="decimal-comma-in-comma-file",
        ),
        pytest.param(
            "time\topen\thigh\tlow\tclose\n" + f"{T0}\t10\t12\t9\t11\n{T0 + 60}\t10\t12\t9\t1,234\n",
            3,
            "close",
            "close '1,234' is not a number: expected a number such as 1234.5",
            id="decimal-comma-in-tab-file",
        ),
        pytest.param(
            SPLIT + "2024.01.02,13:45,10,12,9,11\n2024.01.02,24:00,10,12,9,11\n",
            3,
            "Time",
            "cannot read time '24:00': expected a time of day such as 09:30 or 13:45:30",
            id="bad-time-of-day",
        ),
        pytest.param(
            SPLIT + "20240102,1345,10,12,9,11\n20240102,1350,10,12,9,11\n",
            2,
            "Time",
            "cannot read time 1345: expected a time of day",
            id="time-of-day-as-number",
        ),
        pytest.param(
            SPLIT + "2024.01.02 13:00,13:45,10,12,9,11\n2024.01.02,13:50,10,12,9,11\n",
            2,
            "Date",
            "cannot read time '2024.01.02 13:00': expected a date such as 2024-01-31, 2024.01.31 or 20240131 "
            "without a time of day ('Time' has it)",
            id="time-of-day-in-date-column",
        ),
        pytest.param(
            SPLIT + "2024.01.02,,10,12,9,11\n2024.01.02,13:50,10,12,9,11\n",
            2,
            "Time",
            "the value is missing",
            id="missing-time-of-day",
        ),
        pytest.param(
            SPLIT + "2024.01.02,13:45,10,12,9,11\n2024.01.02,13:45:00,10,12,9,11\n",
            3,
            "Date",
            "time 2024-01-02T13:45:00Z repeats row 2",
            id="repeated-date-and-time",
        ),
        pytest.param(
            "Date,Time,DATE,open,high,low,close\n",
            1,
            "DATE",
            "columns 'Date' and 'DATE' both look like time",
            id="two-date-columns-beside-time",
        ),
        pytest.param(HEADER + GOOD, None, None, "at least 2 bars are needed, the file has 1", id="one-row"),
        pytest.param(HEADER, None, None, "at least 2 bars are needed, the file has 0", id="header-only"),
        pytest.param(HEADER + GOOD + f"{T0 + 60},10,12,9\n", 3, "close", "the value is missing", id="short-row"),
        pytest.param(HEADER + GOOD + f"{T0 + 60},10,,9,11,100\n", 3, "high", "the value is missing", id="empty-cell"),
        pytest.param(
            HEADER + GOOD + f"{T0 + 60},10,12,9,11,100,7\n",
            3,
            None,
            "the row has 7 fields but the header has 6",
            id="long-row",
        ),
        pytest.param(
            HEADER + f"{T0},10,12,9,11,100,7\n" + NEXT,
            2,
            None,
            "the row has 7 fields but the header has 6",
            id="long-first-row",
        ),
        pytest.param(
            HEADER + "\n\n" + GOOD + "\n" + f"{T0 + 60},10,12,9,11,100,7\n",
            6,
            None,
            "the row has 7 fields but the header has 6",
            id="long-row-after-blank-lines",
        ),
        pytest.param(
            "\ufeff\n" + HEADER + GOOD + "\n" + f"{T0 + 60},10,12,9,11,-5\n",
            5,
            "volume",
            "volume -5.0 is negative",
            id="bad-row-after-bom-and-blank-lines",
        ),
        pytest.param(
            HEADER + GOOD + f'"{T0 + 60},10,12,9,11,100\n',
            3,
            None,
            "a quoted field is never closed",
            id="unclosed-quote",
        ),
        pytest.param(
            (HEADER + GOOD + NEXT).replace("\n", "\r"),
            1,
            None,
            "cannot split the line into fields",
            id="bare-carriage-returns",
        ),
        pytest.param(
            (HEADER + GOOD).encode() + f"{T0 + 60},10,12,9,11,1\xe9\n".encode("latin-1"),
            3,
            None,
            "the file is not UTF-8 text",
            id="not-utf8",
        ),
    ],
)
def test_bad_files_raise_located_errors(tmp_path, text, row, column, reason):
    with pytest.raises(DataError) as caught:
        load_text(tmp_path, text)
    error = caught.value
    assert (error.file, error.row, error.column) == ("prices.csv", row, column)
    assert reason in error.reason
    where = ", ".join(["prices.csv"] + ([f"row {row}"] if row else []) + ([f"column {column!r}"] if column else []))
    assert str(error) == f"{where}: {error.reason}"


def test_earliest_bad_row_is_reported_first(tmp_path):
    text = HEADER + GOOD + f"{T0 + 60},10,12,9,11,-5\n" + f"{T0 + 120},10,,9,11,100\n"
    with pytest.raises(DataError) as caught:
        load_text(tmp_path, text)
    assert (caught.value.row, caught.value.column) == (3, "volume")


def test_empty_cell_is_reported_before_other_problems_on_its_row(tmp_path):
    with pytest.raises(DataError) as caught:
        load_text(tmp_path, HEADER + GOOD + f"{T0 + 60},10,,99,abc,100\n")
    assert (caught.value.row, caught.value.column) == (3, "high")
    assert "missing" in caught.value.reason


def test_size_limit_applies_to_paths_and_bytes(tmp_path):
    text = HEADER + GOOD + NEXT
    limit = len(text) - 1
    for load in (
        lambda: load_text(tmp_path, text, max_bytes=limit),
        lambda: load_csv_bytes(text.encode(), "prices.csv", max_bytes=limit),
    ):
        with pytest.raises(DataError) as caught:
            load()
        assert (caught.value.file, caught.value.row, caught.value.column) == ("prices.csv", None, None)
        assert f"over the {limit:,}-byte limit" in str(caught.value)
    assert len(load_text(tmp_path, text, max_bytes=len(text)).bars) == 2
    assert len(load_text(tmp_path, text, max_bytes=None).bars) == 2


def test_data_package_does_not_import_flask():
    # Optimisation workers import the loader on hosts without the web stack.
    code = "import sys, backtune.data; sys.exit('flask' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_data_error_is_a_value_error_that_survives_pickling():
    error = DataError("high 1.0 is below low 2.0", file="prices.csv", row=17, column="high")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.file, copy.row, copy.column, copy.reason) == ("prices.csv", 17, "high", error.reason)
    assert str(copy) == "prices.csv, row 17, column 'high': high 1.0 is below low 2.0"


# --- real files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "interval", "label"), [(LINK_CSV, 900, "15m"), (SUI_CSV, 1800, "30m")], ids=["LINK-15m", "SUI-30m"]
)
def test_shared_tradingview_exports(path, interval, label):
    data = load_csv(path)
    reference = pd.read_csv(path)
    assert data.summary.rows == len(reference) == len(data.bars)
    np.testing.assert_array_equal(data.bars.time, reference["time"].to_numpy() * NS)
    for role in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(data.bars, role), reference[role].to_numpy())
    np.testing.assert_array_equal(data.bars.volume, reference["Volume"].to_numpy())
    assert np.all(np.diff(data.bars.time) > 0)
    assert (data.summary.interval_seconds, data.summary.interval_label) == (interval, label)
    assert data.summary.first_time == pd.Timestamp(reference["time"].iloc[0], unit="s", tz="UTC").strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert data.summary.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data.summary.file_name == path.name


@pytest.mark.parametrize(("name", "rows", "label"), [("GOOG.csv", 2148, "1D"), ("EURUSD.csv", 5000, "1h")])
def test_backtesting_bundled_files(name, rows, label):
    path = Path(pytest.importorskip("backtesting").__file__).parent / "test" / name
    data = load_csv(path)
    reference = pd.read_csv(path, index_col=0, parse_dates=True)
    assert len(data.bars) == rows == len(reference)
    np.testing.assert_array_equal(data.bars.time, reference.index.as_unit("ns").asi8)
    for role in ("Open", "High", "Low", "Close", "Volume"):
        np.testing.assert_array_equal(getattr(data.bars, role.lower()), reference[role].to_numpy(dtype=np.float64))
    assert data.summary.interval_label == label
    assert data.summary.columns["time"] == ""
