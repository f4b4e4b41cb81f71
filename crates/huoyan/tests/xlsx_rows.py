"""An independent reader for Huoyan's xlsx exports: openpyxl (PyPI), which shares no code with the
Rust writer, opens the workbook and prints every sheet as JSON, so the API tests can compare what a
spreadsheet program sees with what the API answers.

Usage: xlsx_rows.py FILE.xlsx. Prints [{"name": sheet, "rows": [[cell, ...], ...]}, ...] with
numbers as numbers, empty cells as null, text as text and date-times as ISO 8601 text
(`2022-08-20T20:00:00`, as the cell holds it, without a zone); each cell's number format is given
alongside in "formats" (same shape) so percentages and hours can be checked as displayed, and
"types" says which cells are date-times ("datetime") and which are not ("value"). Each sheet also
carries what a person sees on opening it: "freeze_panes" (the top-left unfrozen cell, e.g. "A2"),
"auto_filter" (the filtered range, e.g. "A1:N5") and "widths" (column letter to width).
"""

import datetime
import json
import sys

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter


def value(v):
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    return v


book = load_workbook(sys.argv[1], data_only=True)
sheets = []
for ws in book.worksheets:
    rows, formats, types = [], [], []
    for row in ws.iter_rows():
        rows.append([value(c.value) for c in row])
        formats.append([c.number_format for c in row])
        types.append(["datetime" if isinstance(c.value, datetime.datetime) else "value" for c in row])
    # Adjacent columns of one width are stored as one range (min..max).
    widths = {}
    for d in ws.column_dimensions.values():
        for i in range(d.min or 0, (d.max or -1) + 1):
            widths[get_column_letter(i)] = d.width
    sheets.append({
        "name": ws.title,
        "rows": rows,
        "formats": formats,
        "types": types,
        "freeze_panes": ws.freeze_panes,
        "auto_filter": ws.auto_filter.ref,
        "widths": widths,
    })
json.dump(sheets, sys.stdout, ensure_ascii=False)
