"""Spreadsheet exports (CSV and XLSX), safe against formula injection.

A cell that starts with =, +, -, @, a tab or a carriage return would be run as a formula by
Excel or LibreOffice. In a workbook such text is written as a text cell, which is never run and
shows as typed. A CSV has no cell types, so there the text is prefixed with an apostrophe, except
a plain number or phone number ("-3", "+44 20 7946 0000"), which cannot call anything.

Dates and times are given as local (wall-clock) values: a workbook gets real Excel dates shown as
"30 Nov 2026 14:05"; a CSV gets that text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from flask import Response
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def to_xlsx(headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "Export") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    for row_number, row in enumerate([headers, *rows], start=1):
        for column_number, value in enumerate(row, start=1):
            _write_xlsx_cell(sheet, row_number, column_number, value)
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(50, len(str(header)) + 4))
    sheet.freeze_panes = "A2"
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
