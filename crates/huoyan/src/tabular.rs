//! Reading uploaded tables (xlsx and csv) into rows of text, and writing lists to xlsx: the one
//! place spreadsheet formats are handled, for every context's imports and exports.

use std::io::Cursor;
use std::path::Path;

use calamine::Reader;

use crate::error::{AppError, AppResult, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
    GeoJson,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "xlsx" => Some(Format::Xlsx),
            "csv" => Some(Format::Csv),
            "geojson" | "json" => Some(Format::GeoJson),
            _ => None,
        }
    }

    pub fn from_path(path: &Path) -> anyhow::Result<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::parse)
            .ok_or_else(|| {
                anyhow::anyhow!("{}: use a .xlsx, .csv or .geojson file", path.display())
            })
    }
}

/// The query of a route that imports a sheet sent as the raw body.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SheetQuery {
    /// `xlsx` or `csv`.
    pub format: String,
}

impl SheetQuery {
    /// The sheet's format: xlsx or csv, else the field `format` fails.
    pub fn sheet(&self) -> AppResult<Format> {
        Format::parse(&self.format)
            .filter(|f| *f != Format::GeoJson)
            .ok_or_else(|| AppError::invalid("format", "xlsx or csv"))
    }
}

/// How many rows a sheet import wrote.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub imported: usize,
}

/// A sheet as text: the header row (trimmed, as written) and data rows with their spreadsheet
/// row numbers (the header is row 1).
#[derive(Debug)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    /// The column holding `names` (an English key and its Chinese aliases); `None` when absent.
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    }

    /// Fails naming every required column that is missing.
    pub fn require(&self, columns: &[&[&str]]) -> AppResult<Vec<usize>> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for names in columns {
            match self.column(names) {
                Some(i) => found.push(i),
                None => missing.push(FieldError::new(
                    format!("row 1: {}", names[0]),
                    format!("missing column (also accepted: {})", names[1..].join(", ")),
                )),
            }
        }
        if missing.is_empty() {
            Ok(found)
        } else {
            Err(AppError::Invalid(missing))
        }
    }
}

pub fn read(format: Format, bytes: &[u8]) -> AppResult<Table> {
    let mut all: Vec<Vec<String>> = match format {
        Format::Xlsx => {
            let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
                .map_err(|e| {
                AppError::invalid("file", format!("not a readable xlsx workbook: {e}"))
            })?;
            let range = book
                .worksheet_range_at(0)
                .ok_or_else(|| AppError::invalid("file", "the workbook has no sheet"))?
                .map_err(|e| {
                    AppError::invalid("file", format!("cannot read the first sheet: {e}"))
                })?;
            range
                .rows()
                .map(|r| r.iter().map(|c| c.to_string().trim().to_string()).collect())
                .collect()
        }
        Format::Csv => {
            let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
                .map_err(|_| AppError::invalid("file", "a csv file must be UTF-8"))?;
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut rows = Vec::new();
            for (i, rec) in reader.records().enumerate() {
                let rec = rec.map_err(|e| {
                    AppError::invalid(format!("row {}", i + 1), format!("unreadable csv: {e}"))
                })?;
                rows.push(rec.iter().map(|c| c.trim().to_string()).collect());
            }
            rows
        }
        Format::GeoJson => {
            return Err(AppError::invalid(
                "format",
                "GeoJSON holds zones, not a table",
            ));
        }
    };
    if all.is_empty() {
        return Err(AppError::invalid("file", "the file is empty"));
    }
    let headers = all.remove(0);
    let rows = all
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i + 2, r))
        .filter(|(_, r)| r.iter().any(|c| !c.is_empty()))
        .collect();
    Ok(Table { headers, rows })
}

/// Writes one sheet (see `write_workbook`).
/// The headers of an xlsx download named `name`.
pub fn xlsx_headers(name: &str) -> [(axum::http::header::HeaderName, String); 2] {
    use axum::http::header;
    [
        (
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
        ),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ),
    ]
}

pub fn write_xlsx(sheet: &str, headers: &[&str], rows: &[Vec<Cell>]) -> anyhow::Result<Vec<u8>> {
    write_workbook(&[Sheet {
        name: sheet,
        headers,
        rows,
    }])
}

/// One sheet of a workbook: its name (at most 31 characters, none of `[]:*?/\`), a bold header
/// row and the data rows.
pub struct Sheet<'a> {
    pub name: &'a str,
    pub headers: &'a [&'a str],
    pub rows: &'a [Vec<Cell>],
}

/// How every exported time is shown: Beijing wall time to the minute (the cell keeps seconds).
pub const TIME_FORMAT: &str = "yyyy-mm-dd hh:mm";

/// Column widths, in Excel's character units: at least room for a header's filter button, at
/// most what a screen shows beside other columns (longer text is cut at the cell's edge and read
/// in the cell itself).
const MIN_WIDTH: f64 = 8.0;
const MAX_WIDTH: f64 = 50.0;
/// Rows measured for a column's width: enough to see what a column holds, bounded so a large
/// export costs no more than this to lay out.
const MEASURED_ROWS: usize = 1_000;

/// Writes several sheets into one workbook, in order, each one as a person opens it to work:
/// the bold header row frozen above the data, a filter over every column, columns as wide as
/// what they hold (Chinese characters count twice) within bounds, and times as Excel date-time
/// cells in Beijing time, which sort and filter as times.
pub fn write_workbook(sheets: &[Sheet]) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::Format;
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = Format::new().set_bold();
    let time = Format::new().set_num_format(TIME_FORMAT);
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(sheet.name)?;
        for (c, h) in sheet.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            write_row(ws, r as u32 + 1, row, &time)?;
        }
        let columns = sheet
            .rows
            .iter()
            .map(Vec::len)
            .chain([sheet.headers.len()])
            .max()
            .unwrap_or(0);
        let widths: Vec<f64> = (0..columns).map(|c| column_width(sheet, c)).collect();
        lay_out(ws, sheet.rows.len() as u32, &widths)?;
    }
    Ok(book.save_to_buffer()?)
}

/// A sheet as a person opens it to work: the header row frozen, a filter over every column and
/// the columns `widths` wide (within bounds), over `rows` data rows.
fn lay_out(ws: &mut rust_xlsxwriter::Worksheet, rows: u32, widths: &[f64]) -> anyhow::Result<()> {
    if widths.is_empty() {
        return Ok(());
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows, widths.len() as u16 - 1)?;
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, w.clamp(MIN_WIDTH, MAX_WIDTH))?;
    }
    Ok(())
}

fn write_row(
    ws: &mut rust_xlsxwriter::Worksheet,
    r: u32,
    row: &[Cell],
    time: &rust_xlsxwriter::Format,
) -> anyhow::Result<()> {
    use rust_xlsxwriter::Format;
    for (c, cell) in row.iter().enumerate() {
        let c = c as u16;
        match cell {
            Cell::Text(s) => ws.write_string(r, c, s)?,
            Cell::Number(n) => ws.write_number(r, c, *n)?,
            Cell::Formatted(n, f) => {
                ws.write_number_with_format(r, c, *n, &Format::new().set_num_format(*f))?
            }
            Cell::Time(ms) => ws.write_datetime_with_format(r, c, excel_time(*ms)?, time)?,
            Cell::Empty => ws,
        };
    }
    Ok(())
}

/// One sheet written row by row for an export of any size: each row goes to a temporary file
/// as it comes (rust_xlsxwriter's constant-memory mode, strings inline), so memory does not grow
/// with the rows; laid out as `write_workbook` lays out a sheet, its widths measured on the first
/// `MEASURED_ROWS` rows.
pub struct StreamedSheet {
    book: rust_xlsxwriter::Workbook,
    widths: Vec<f64>,
    rows: u32,
    time: rust_xlsxwriter::Format,
}

impl StreamedSheet {
    pub fn new(name: &str, headers: &[&str]) -> anyhow::Result<Self> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let ws = book.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        Ok(StreamedSheet {
            book,
            widths: headers.iter().map(|h| text_width(h) + 3.0).collect(),
            rows: 0,
            time: rust_xlsxwriter::Format::new().set_num_format(TIME_FORMAT),
        })
    }

    /// Appends one data row.
    pub fn push(&mut self, row: &[Cell]) -> anyhow::Result<()> {
        if (self.rows as usize) < MEASURED_ROWS {
            for (c, cell) in row.iter().enumerate() {
                match self.widths.get_mut(c) {
                    Some(w) => *w = w.max(cell.width()),
                    None => self.widths.push(cell.width()),
                }
            }
        }
        self.rows += 1;
        let ws = self.book.worksheet_from_index(0)?;
        write_row(ws, self.rows, row, &self.time)
    }

    /// How many data rows were pushed.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Writes the workbook to `out`.
    pub fn finish(mut self, out: impl std::io::Write + Send) -> anyhow::Result<()> {
        lay_out(self.book.worksheet_from_index(0)?, self.rows, &self.widths)?;
        self.book.save_to_writer(out)?;
        Ok(())
    }
}

/// An instant as Beijing wall time in an Excel date-time (Excel keeps no zone).
fn excel_time(ms: i64) -> anyhow::Result<rust_xlsxwriter::ExcelDateTime> {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| anyhow::anyhow!("time {ms} out of range"))?
        .with_timezone(&chrono_tz::Asia::Shanghai);
    Ok(
        rust_xlsxwriter::ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)?
            .and_hms(t.hour() as u16, t.minute() as u8, t.second())?,
    )
}

/// Column `c`'s width: its widest header or measured cell, plus room for the filter button.
fn column_width(sheet: &Sheet, c: usize) -> f64 {
    let header = sheet.headers.get(c).map_or(0.0, |h| text_width(h) + 3.0);
    sheet
        .rows
        .iter()
        .take(MEASURED_ROWS)
        .filter_map(|row| row.get(c))
        .map(Cell::width)
        .fold(header, f64::max)
        .clamp(MIN_WIDTH, MAX_WIDTH)
}

/// Display columns of `s` with a character's padding: wide (CJK) characters count two.
fn text_width(s: &str) -> f64 {
    let widest_line = s
        .lines()
        .map(unicode_width::UnicodeWidthStr::width)
        .max()
        .unwrap_or(0);
    widest_line as f64 + 1.0
}

pub enum Cell {
    Text(String),
    Number(f64),
    /// A number shown with an Excel number format (`0.00`, `0.0%`): the cell keeps the exact
    /// value, only its display is rounded.
    Formatted(f64, &'static str),
    /// An instant (epoch milliseconds), written as a date-time in Beijing time.
    Time(i64),
    Empty,
}

impl Cell {
    /// An RFC 3339 time from the API as a time cell; text that is not one stays text.
    pub fn time(rfc3339: &str) -> Cell {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| Cell::Time(t.timestamp_millis()))
            .unwrap_or_else(|_| Cell::Text(rfc3339.to_string()))
    }

    /// How wide the cell shows, in Excel's character units.
    fn width(&self) -> f64 {
        match self {
            Cell::Text(s) => text_width(s),
            // General format shows at most eleven digits.
            Cell::Number(n) => text_width(&n.to_string()).min(12.0),
            // A rounded display: the integer part, a separator and two decimals or a percent.
            Cell::Formatted(n, _) => text_width(&format!("{n:.2}")),
            Cell::Time(_) => TIME_FORMAT.len() as f64 + 1.0,
            Cell::Empty => 0.0,
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}
impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Number(n as f64)
    }
}
impl From<Option<i64>> for Cell {
    fn from(n: Option<i64>) -> Self {
        n.map(Cell::from).unwrap_or(Cell::Empty)
    }
}
impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        s.map(Cell::Text).unwrap_or(Cell::Empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xlsx_round_trip() {
        let bytes = write_xlsx(
            "people",
            &["name", "birth_year"],
            &[
                vec!["张伟".into(), 1980i64.into()],
                vec!["李娜".into(), Cell::Empty],
            ],
        )
        .unwrap();
        let t = read(Format::Xlsx, &bytes).unwrap();
        assert_eq!(t.headers, vec!["name", "birth_year"]);
        assert_eq!(t.rows[0], (2, vec!["张伟".to_string(), "1980".to_string()]));
        assert_eq!(t.rows[1].1[0], "李娜");
    }

    #[test]
    fn columns_fit_what_they_hold_within_bounds() {
        let rows = vec![vec![
            Cell::Text("景程小区".into()),
            Cell::Text("x".repeat(300)),
            Cell::time("2022-08-20T12:00:00Z"),
            Cell::Number(7.0),
        ]];
        let sheet = Sheet {
            name: "s",
            headers: &["名称", "description", "reported_at", "id"],
            rows: &rows,
        };
        let widths: Vec<f64> = (0..4).map(|c| column_width(&sheet, c)).collect();
        // Four Chinese characters are eight columns; long text stops at the bound; a time shows
        // whole; a short column keeps room for its filter button.
        assert_eq!(widths, [9.0, MAX_WIDTH, 17.0, MIN_WIDTH]);
        assert!(matches!(rows[0][2], Cell::Time(1_660_996_800_000)));
        assert!(matches!(Cell::time("soon"), Cell::Text(_)));
    }

    #[test]
    fn broken_files_are_refused_by_name() {
        let e = read(Format::Xlsx, b"PK\x03\x04 not really").unwrap_err();
        assert_eq!(e.fields()[0].field, "file");
        let e = read(Format::Csv, &[0xff, 0xfe, 0x00]).unwrap_err();
        assert_eq!(e.fields()[0].field, "file");
    }

    #[test]
    fn csv_with_bom_and_blank_lines() {
        let t = read(
            Format::Csv,
            "\u{feff}name,phone\n张伟,13800001234\n,\n李娜,13900001234\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(t.headers[0], "name");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].0, 4);
    }
}
