"""Every report as an Excel file (openpyxl): the page's numbers under Chinese headers.

A report builds `Sheet`s from the same rows its API answers (never a second computation) and
`workbook_response` writes them: a bold frozen header row, column widths from the content,
percentages as Excel percentages (a rate is a fraction 0–1 in the rows, shown as 85.0 %), dates
and times as Excel dates in the sub-district's local time, and the report's title and period on
the sheet's first line so that a printed or forwarded file says what it is. Headers are built in
the active language; the reports' pages ask in the user's language (Chinese by default).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_WIDTH = 60


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text, int, float, rate (a fraction shown as a percentage), datetime


@dataclass
class Sheet:
    title: str  # the tab's name (31 characters at most, Excel's limit)
    heading: str  # first line: the report and its period
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]] = field(default_factory=list)


FORMATS = {"int": "0", "float": "0.00", "rate": "0.0%", "datetime": "yyyy-mm-dd hh:mm"}
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")


def _cell_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)  # Excel knows no time zones
    return value


def workbook(sheets: Sequence[Sheet]) -> Workbook:
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(title=sheet.title[:31])
        ws.append([sheet.heading])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append([c.header for c in sheet.columns])
        for index in range(1, len(sheet.columns) + 1):
            cell = ws.cell(row=2, column=index)
            cell.font, cell.fill = Font(bold=True), HEADER_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        widths = [len(str(c.header)) * 2 + 2 for c in sheet.columns]
        for row in sheet.rows:
            ws.append([_cell_value(v, c.kind) for v, c in zip(row, sheet.columns, strict=True)])
            for index, value in enumerate(row):
                widths[index] = max(widths[index], len(str(value or "")) + 2)
        for index, column in enumerate(sheet.columns, start=1):
            letter = get_column_letter(index)
            ws.column_dimensions[letter].width = min(widths[index - 1], MAX_WIDTH)
            if column.kind in FORMATS:
                for (cell,) in ws.iter_rows(min_row=3, min_col=index, max_col=index):
                    cell.number_format = FORMATS[column.kind]
        ws.freeze_panes = "A3"
        ws.print_options.gridLines = True
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
    return book


def workbook_response(filename: str, sheets: Sequence[Sheet]) -> HttpResponse:
    """The sheets as an .xlsx download named `filename` (UTF-8 name per RFC 6266)."""
    buffer = BytesIO()
    workbook(sheets).save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return response
