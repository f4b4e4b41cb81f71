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

/// Writes one sheet: a bold header and text or number cells.
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

/// Writes several sheets into one workbook, in order.
pub fn write_workbook(sheets: &[Sheet]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(sheet.name)?;
        for (c, h) in sheet.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                match cell {
                    Cell::Text(s) => ws.write_string(r, c, s)?,
                    Cell::Number(n) => ws.write_number(r, c, *n)?,
                    Cell::Formatted(n, f) => ws.write_number_with_format(
                        r,
                        c,
                        *n,
                        &rust_xlsxwriter::Format::new().set_num_format(*f),
                    )?,
                    Cell::Empty => ws,
                };
            }
        }
        ws.autofit();
    }
    Ok(book.save_to_buffer()?)
}

pub enum Cell {
    Text(String),
    Number(f64),
    /// A number shown with an Excel number format (`0.00`, `0.0%`): the cell keeps the exact
    /// value, only its display is rounded.
    Formatted(f64, &'static str),
    Empty,
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
