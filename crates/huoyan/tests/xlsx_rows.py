"""An independent reader for Huoyan's xlsx exports: openpyxl (PyPI), which shares no code with the
Rust writer, opens the workbook and prints every sheet as JSON, so the API tests can compare what a
spreadsheet program sees with what the API answers.

Usage: xlsx_rows.py FILE.xlsx. Prints [{"name": sheet, "rows": [[cell, ...], ...]}, ...] with
numbers as numbers, empty cells as null and text as text; each cell's number format is given
alongside in "formats" (same shape) so percentages and hours can be checked as displayed.
"""

import datetime
import json
import sys

from openpyxl import load_workbook


def value(v):
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    return v


book = load_workbook(sys.argv[1], data_only=True)
sheets = []
for ws in book.worksheets:
    rows, formats = [], []
    for row in ws.iter_rows():
        rows.append([value(c.value) for c in row])
        formats.append([c.number_format for c in row])
    sheets.append({"name": ws.title, "rows": rows, "formats": formats})
json.dump(sheets, sys.stdout, ensure_ascii=False)
