"""Spreadsheet exports (CSV and XLSX), safe against formula injection.

A cell that starts with =, +, -, @, a tab or a carriage return would be run as a formula by
Excel or LibreOffice; such text cells are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
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


def safe_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


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
    sheet.append([safe_cell(h) for h in headers])
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
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
