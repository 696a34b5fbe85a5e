"""``/api/datasets``: stored CSVs, their summaries and previews."""

from __future__ import annotations

from pydantic import Field

from app.web.contract.base import Form, Reply, Time
from backtune.data.store import CHART_POINTS, PREVIEW_ROWS


class DataSummary(Reply):
    rows: int
    first_time: Time
    last_time: Time
    interval_seconds: int
    interval_label: str = Field(examples=["15m"])
    columns: dict[str, str] = Field(description="Role (time, open, ...) -> header as written in the file")
    file_name: str
    sha256: str


class ParseFailure(Reply):
    message: str = Field(description="Located: file, row and column, then the reason")
    reason: str
    row: int | None = Field(description="Line in the file")
    column: str | None = Field(description="Header as written in the file")


class Dataset(Reply):
    id: str = Field(pattern="^[0-9a-f]{16}$")
    name: str
    file_name: str
    uploaded_at: Time
    sample: bool
    description: str
    sha256: str
    format_version: int = Field(description="Version of the reading rules that made the summary")
    summary: DataSummary | None = Field(description="null when the current reading rules reject the file")
    error: ParseFailure | None = Field(description="Why the current reading rules reject the file")


class DatasetList(Reply):
    datasets: list[Dataset]
    total: int


class Bar(Reply):
    time: Time
    open: float
    high: float
    low: float
    close: float
    volume: float | None


class Preview(Reply):
    head: list[Bar] = Field(max_length=PREVIEW_ROWS)
    tail: list[Bar] = Field(max_length=PREVIEW_ROWS)


class DatasetDetail(Dataset):
    preview: Preview
    chart: list[tuple[Time, float]] = Field(
        max_length=CHART_POINTS, description="[iso_time, close], min/max-preserving downsample"
    )


class UploadForm(Form):
    """multipart/form-data; the upload code reads the file part itself."""

    file: bytes = Field(description="An OHLCV CSV")
