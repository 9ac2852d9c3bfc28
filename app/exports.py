"""Spreadsheet exports (CSV and XLSX), safe against formula injection.

A cell that starts with =, +, -, @, a tab or a carriage return would be run as a formula by
Excel or LibreOffice. In a workbook such text is written as a text cell, which is never run and
shows as typed. A CSV has no cell types, so there the text is prefixed with an apostrophe, except
a plain number or phone number ("-3", "+44 20 7946 0000"), which cannot call anything.

Dates and times are given as local (wall-clock) values: a workbook gets real Excel dates shown as
"30 Nov 2026 14:05"; a CSV gets that text. A `Percent` is a number in a workbook (shown "85%") and
that text in a CSV. A workbook's columns are as wide as what they hold (within limits) and its
header row has filter buttons.

Reading back: `read_table_upload` takes a CSV or an XLSX upload and gives its rows as lists of cells
(strings, or datetimes where a workbook holds real dates).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from flask import Response
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Percent(float):
    """A share (0.85) written as a percentage: a number formatted 0% in a workbook, "85%" in a CSV."""


CSV_UPLOAD_LIMIT = 2 * 1024 * 1024


def read_csv_upload(form) -> str | None:
    """The text of the CSV in `form.file`, or None with the reason on the field (nothing chosen, not
    UTF-8, too big)."""
    upload = form.file.data
    if not upload or not upload.filename:
        form.file.errors = ["Choose a CSV file to import"]
        return None
    raw = upload.read(CSV_UPLOAD_LIMIT + 1)
    if len(raw) > CSV_UPLOAD_LIMIT:
        form.file.errors = ["The file must be smaller than 2 MB"]
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.file.errors = ["The file must be a CSV saved as UTF-8"]
        return None


TABLE_UPLOAD_ROWS = 50_000


def read_table_upload(form) -> list[list] | None:
    """The rows of the CSV or XLSX in `form.file` (a workbook's first sheet), or None with the reason
    on the field. CSV cells are text with our formula guard taken off (see `from_cell`); workbook
    cells are text, numbers or datetimes (real dates in the sheet), with empty cells as ""."""
    upload = form.file.data
    if not upload or not upload.filename:
        form.file.errors = ["Choose a CSV or Excel file to import"]
        return None
    raw = upload.read(CSV_UPLOAD_LIMIT + 1)
    if len(raw) > CSV_UPLOAD_LIMIT:
        form.file.errors = ["The file must be smaller than 2 MB"]
        return None
    if raw[:4] == b"PK\x03\x04":  # a zip: an Excel workbook
        return _read_xlsx(form, raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.file.errors = ["The file must be a CSV saved as UTF-8, or an Excel workbook (.xlsx)"]
        return None
    return csv_rows(text)


def csv_rows(text: str) -> list[list[str]]:
    """A CSV's rows, one list per line of the file (a blank line is an empty list)."""
    return [[from_cell(cell) for cell in row] for row in csv.reader(io.StringIO(text.lstrip("\ufeff")))]


def _read_xlsx(form, raw: bytes) -> list[list] | None:
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - a damaged or disguised file: any reader error means "cannot read"
        form.file.errors = ["The file could not be read as an Excel workbook (.xlsx)"]
        return None
    try:
        rows = []
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            if len(rows) >= TABLE_UPLOAD_ROWS:
                form.file.errors = [f"The file has more than {TABLE_UPLOAD_ROWS:,} rows"]
                return None
            rows.append(["" if value is None else value for value in row])
        return rows
    finally:
        workbook.close()


def from_cell(text: str) -> str:
    """A cell read back from one of our own downloads: the apostrophe that made a formula inert goes."""
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text


# A sign, then only digits, spaces, brackets, dots and commas: a number or a phone number, no formula.
PLAIN_NUMBER = re.compile(r"[+-][\d ().,]*\d[\d ().,]*")
XLSX_DATETIME_FORMAT = "d mmm yyyy hh:mm"
XLSX_DATE_FORMAT = "d mmm yyyy"


def readable_datetime(value: datetime | date) -> str:
    """30 Nov 2026 14:05 (a datetime's own wall-clock time) or 30 Nov 2026."""
    if isinstance(value, datetime):
        return f"{value.day} {value:%b %Y %H:%M}"
    return f"{value.day} {value:%b %Y}"


def _is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text)


def safe_cell(value):
    """A value as CSV text (numbers stay numbers), with formula-like text made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Percent):
        return f"{round(value * 100)}%"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (datetime, date)):
        return readable_datetime(value)
    text = str(value)
    if _is_formula_like(text):
        return "'" + text
    return text


def _write_xlsx_cell(sheet, row: int, column: int, value) -> None:
    """One workbook cell: numbers and dates typed as such, all other text as a text cell, which
    Excel never runs as a formula, so no apostrophe is needed."""
    if isinstance(value, bool):
        value = "Yes" if value else "No"
    if isinstance(value, datetime):
        cell = sheet.cell(row=row, column=column, value=value.replace(tzinfo=None))
        cell.number_format = XLSX_DATETIME_FORMAT
    elif isinstance(value, date):
        cell = sheet.cell(row=row, column=column, value=value)
        cell.number_format = XLSX_DATE_FORMAT
    elif isinstance(value, Percent):
        cell = sheet.cell(row=row, column=column, value=float(value))
        cell.number_format = "0%"
    elif isinstance(value, (int, float)):
        sheet.cell(row=row, column=column, value=value)
    elif value is not None and value != "":
        cell = sheet.cell(row=row, column=column, value=str(value))
        cell.data_type = "s"  # openpyxl takes text starting "=" for a formula; this keeps it text


def to_csv(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    # A byte-order mark so Excel opens UTF-8 names correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _shown_width(value) -> int:
    """About how many characters a cell shows (a date as "30 Nov 2026 14:05")."""
    if isinstance(value, (datetime, date)):
        return len(readable_datetime(value))
    if isinstance(value, Percent):
        return 4
    return max((len(line) for line in str(value if value is not None else "").splitlines()), default=0)


def to_xlsx(headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "Export") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    rows = list(rows)
    for row_number, row in enumerate([headers, *rows], start=1):
        for column_number, value in enumerate(row, start=1):
            _write_xlsx_cell(sheet, row_number, column_number, value)
    # Columns as wide as their widest cell (a sample of the first rows is enough), from 10 to 60
    # characters, plus room for the header's filter button.
    sample = rows[:500]
    for index, header in enumerate(headers, start=1):
        widest = max([len(str(header)) + 3, *(_shown_width(r[index - 1]) for r in sample if len(r) >= index)])
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(60, widest + 2))
    sheet.freeze_panes = "A2"
    if headers:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def spreadsheet_response(fmt: str, headers: Sequence[str], rows: list, *, title: str, filename_stem: str) -> Response:
    """A CSV or XLSX download of the rows."""
    stem = "".join(c if c.isalnum() else "-" for c in filename_stem.lower()).strip("-")
    if fmt == "csv":
        body, mimetype = to_csv(headers, rows), "text/csv"
    else:
        body = to_xlsx(headers, rows, title=title)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})
