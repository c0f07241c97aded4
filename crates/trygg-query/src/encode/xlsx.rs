//! XLSX through `rust_xlsxwriter`: a "Data" sheet with a bold, frozen header row
//! and typed cells (numbers are numbers; a suppressed count is the text `<T`),
//! and a "Parametrar" sheet with the request's parameters and the data's provenance.

use rust_xlsxwriter::{Format as CellFormat, Workbook, Worksheet, XlsxError};

use super::rows::{About, Column};
use super::Cell;
use crate::disclosure::Count;
use crate::error::QueryError;

/// The most data rows one sheet holds (1,048,576 rows less the header).
pub const MAX_ROWS: u32 = 1_048_575;

fn err(e: XlsxError) -> QueryError {
    QueryError::Io(std::io::Error::other(e.to_string()))
}

/// An XLSX workbook being filled.
pub struct XlsxRows {
    data: Worksheet,
    about: Worksheet,
    next: u32,
}

impl XlsxRows {
    /// Both sheets, with the header row and the parameters written.
    pub fn new(columns: &[Column], about: &About<'_>) -> Result<XlsxRows, QueryError> {
        let bold = CellFormat::new().set_bold();
        let mut data = Worksheet::new();
        data.set_name("Data").map_err(err)?;
        for (i, c) in columns.iter().enumerate() {
            let col = u16::try_from(i)
                .map_err(|_| QueryError::invalid("format", "too many columns for xlsx"))?;
            data.write_string_with_format(0, col, c.name, &bold)
                .map_err(err)?;
            data.set_column_width(col, (c.name.len() as f64 + 2.0).max(10.0))
                .map_err(err)?;
        }
        data.set_freeze_panes(1, 0).map_err(err)?;
        let mut sheet = Worksheet::new();
        sheet.set_name("Parametrar").map_err(err)?;
        sheet
            .write_string_with_format(0, 0, "key", &bold)
            .map_err(err)?;
        sheet
            .write_string_with_format(0, 1, "value", &bold)
            .map_err(err)?;
        sheet.set_column_width(0, 24).map_err(err)?;
        sheet.set_column_width(1, 80).map_err(err)?;
        for (row, (k, v)) in (1u32..).zip(about.pairs()) {
            sheet.write_string(row, 0, k).map_err(err)?;
            sheet.write_string(row, 1, v).map_err(err)?;
        }
        Ok(XlsxRows {
            data,
            about: sheet,
            next: 1,
        })
    }

    /// Adds a data row.
    pub fn row(&mut self, cells: &[Cell]) -> Result<(), QueryError> {
        if self.next > MAX_ROWS {
            return Err(QueryError::invalid(
                "format",
                format!("an xlsx sheet holds at most {MAX_ROWS} rows: use csv, gpkg or parquet"),
            ));
        }
        let row = self.next;
        for (i, c) in cells.iter().enumerate() {
            let col = u16::try_from(i).unwrap_or(u16::MAX);
            match c {
                Cell::Empty => Ok(&mut self.data),
                Cell::Int(v) => self.data.write_number(row, col, *v as f64),
                Cell::Float(v) => self.data.write_number(row, col, *v),
                Cell::Text(s) => self.data.write_string(row, col, s),
                Cell::Count(Count::Value(v)) => self.data.write_number(row, col, *v as f64),
                Cell::Count(c @ Count::Suppressed(_)) => self.data.write_string(row, col, c.text()),
            }
            .map_err(err)?;
        }
        self.next += 1;
        Ok(())
    }

    /// The workbook's bytes.
    pub fn finish(self) -> Result<Vec<u8>, QueryError> {
        let mut book = Workbook::new();
        book.push_worksheet(self.data);
        book.push_worksheet(self.about);
        book.save_to_buffer().map_err(err)
    }
}
