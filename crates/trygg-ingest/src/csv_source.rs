//! CSV exports of the crimes, shootings, fires and survey sources, read through a
//! [`Mapping`]: the header is checked up front, then every record becomes one
//! [`Parsed`] row, lazily, without allocating per field on the common path.
//!
//! The file streams through: only the bytes since the current record's start
//! are held ([`Window`]), so a 1 GB export takes no 1 GB of memory.

use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;

use crate::candidate::{Parsed, RowError};
use crate::file_error::FileError;
use crate::json_text::push_json_string;
use crate::mapping::{Mapping, TextEncoding};
use crate::row::{Fields, PointInput, RowBuilder};

/// Bytes of passed-over records a [`Window`] keeps before it lets them go.
const WINDOW_SLACK: usize = 1 << 20;

/// The stream under the CSV parser. It keeps the bytes it has handed on since
/// the current record began (the parser reads ahead of the record it returns),
/// so that a record's raw text can be cut out by its stream offsets; what lies
/// before the current record is let go ([`Window::release_before`]).
struct Window<R> {
    inner: R,
    /// The stream's bytes from offset `base` on, as far as read from `inner`.
    kept: Vec<u8>,
    base: u64,
    /// The stream offset up to which bytes were handed to the parser.
    served: u64,
    eof: bool,
}

impl<R: Read> Window<R> {
    /// Reads at least `len` bytes into `kept` (fewer at the end of the stream).
    fn fill_to(&mut self, len: usize) -> std::io::Result<()> {
        let mut block = [0u8; 64 * 1024];
        while !self.eof && self.kept.len() < len {
            match self.inner.read(&mut block) {
                Ok(0) => self.eof = true,
                Ok(n) => self.kept.extend_from_slice(&block[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The kept bytes at stream offsets `start..end`, clipped to what is kept.
    fn bytes(&self, start: u64, end: u64) -> &[u8] {
        let at = |offset: u64| {
            usize::try_from(offset.saturating_sub(self.base))
                .unwrap_or(usize::MAX)
                .min(self.kept.len())
        };
        let (start, end) = (at(start), at(end));
        &self.kept[start..end.max(start)]
    }

    /// Lets go of the bytes before stream offset `offset` once they are many.
    fn release_before(&mut self, offset: u64) {
        let dead = usize::try_from(offset.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.kept.len());
        if dead >= WINDOW_SLACK {
            self.kept.drain(..dead);
            self.base += dead as u64;
        }
    }
}

impl<R: Read> Read for Window<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let ahead = usize::try_from(self.served - self.base).unwrap_or(usize::MAX);
        if ahead >= self.kept.len() {
            self.fill_to(ahead + out.len())?;
        }
        let have = &self.kept[ahead.min(self.kept.len())..];
        let n = have.len().min(out.len());
        out[..n].copy_from_slice(&have[..n]);
        self.served += n as u64;
        Ok(n)
    }
}

/// The rows of one CSV file, parsed as they are iterated from `R` (a file, or
/// bytes in memory).
pub struct CsvRows<'a, R: Read> {
    mapping: &'a Mapping,
    reader: csv::Reader<Window<R>>,
    /// The current record's raw bytes (without line breaks).
    raw: Vec<u8>,
    record: csv::ByteRecord,
    /// The header's column names (trimmed; empty names become `column_N`).
    header: Vec<String>,
    /// `"name":` for each header column, JSON-escaped once.
    keys: Vec<String>,
    /// For each of the mapping's columns, its index in the header.
    resolved: Vec<usize>,
    builder: RowBuilder<'a>,
    /// Field ranges of the current record in `decoded` or in the record's bytes.
    ranges: Vec<Range<usize>>,
    /// The current record's fields decoded from Windows-1252.
    decoded: String,
    done: bool,
}

impl<R: Read> std::fmt::Debug for CsvRows<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows")
            .field("mapping", &self.mapping.origin())
            .field("header", &self.header)
            .finish()
    }
}

/// Suggested when bytes are not UTF-8.
const ENCODING_HINT: &str =
    "if the file comes from Excel, set encoding = \"windows-1252\" in the mapping's [csv] section";

impl<'a, R: Read> CsvRows<'a, R> {
    /// Checks the header against the mapping and prepares to read the rows.
    ///
    /// Fails when the file is empty, in UTF-16, or lacks a column the mapping
    /// names; extra columns are fine and kept as attributes.
    pub fn new(input: R, mapping: &'a Mapping) -> Result<CsvRows<'a, R>, FileError> {
        let mut window = Window {
            inner: input,
            kept: Vec::new(),
            base: 0,
            served: 0,
            eof: false,
        };
        let unreadable = |e: std::io::Error| FileError::file(format!("cannot read the file: {e}"));
        window.fill_to(WINDOW_SLACK).map_err(unreadable)?;
        if window.kept.starts_with(&[0xFF, 0xFE]) || window.kept.starts_with(&[0xFE, 0xFF]) {
            return Err(FileError::file(
                "file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8 CSV",
            ));
        }
        if window.kept.starts_with(b"\xEF\xBB\xBF") {
            // Offsets (and so raw rows) count from after the byte-order mark.
            window.kept.drain(..3);
        }
        // Blank so far: read on until something is not (or the file ends).
        while !window.eof && window.kept.iter().all(u8::is_ascii_whitespace) {
            let len = window.kept.len() + WINDOW_SLACK;
            window.fill_to(len).map_err(unreadable)?;
        }
        if window.kept.iter().all(u8::is_ascii_whitespace) {
            return Err(FileError::file("file is empty"));
        }
        if window.kept.iter().take(200).any(|&b| b == 0) {
            return Err(FileError::file(
                "file contains NUL bytes (UTF-16 or binary?); save it as UTF-8 CSV",
            ));
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(mapping.delimiter())
            .has_headers(false)
            .flexible(true)
            .from_reader(window);
        let mut record = csv::ByteRecord::new();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Err(FileError::file("file is empty")),
            Err(e) => return Err(FileError::file(format!("cannot read the header: {e}"))),
        }
        let header = decode_header(&record, mapping.encoding())?;
        let resolved = resolve_columns(&header, mapping)?;
        let keys = header
            .iter()
            .map(|name| {
                let mut key = String::with_capacity(name.len() + 3);
                push_json_string(&mut key, name);
                key.push(':');
                key
            })
            .collect();
        Ok(CsvRows {
            mapping,
            reader,
            raw: Vec::new(),
            record,
            header,
            keys,
            resolved,
            builder: RowBuilder::new(mapping, mapping.delimiter() != b','),
            ranges: Vec::new(),
            decoded: String::new(),
            done: false,
        })
    }

    /// The header's column names, in file order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Decodes bytes in the mapping's encoding (invalid UTF-8 lossily).
    fn decode_lossy(&self, bytes: &[u8]) -> String {
        match self.mapping.encoding() {
            TextEncoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        }
    }

    fn reject(&self, row: u64, field: Option<String>, reason: String, raw: &[u8]) -> Parsed {
        Parsed::Reject(RowError {
            row: Some(row),
            field,
            reason,
            raw: Some(self.decode_lossy(raw)),
        })
    }

    /// Rejects a record that is not valid UTF-8, naming the first bad field.
    fn utf8_reject(&self, row: u64, raw: &[u8]) -> Parsed {
        let bad = self
            .record
            .iter()
            .position(|field| std::str::from_utf8(field).is_err());
        let byte = bad
            .and_then(|i| self.record.get(i))
            .and_then(|field| {
                let valid = std::str::from_utf8(field).err()?.valid_up_to();
                field.get(valid).copied()
            })
            .unwrap_or_default();
        let column = bad.and_then(|i| self.header.get(i).cloned());
        let reason = format!("text is not valid UTF-8 (byte 0x{byte:02X}); {ENCODING_HINT}");
        self.reject(row, column, reason, raw)
    }

    /// Parses the record just read.
    fn parse_record(&mut self) -> Parsed {
        let row = self.take_record_text();
        let raw = std::mem::take(&mut self.raw);
        let parsed = self.parse_fields(row, &raw);
        self.raw = raw;
        parsed
    }

    /// Parses the record just read, whose raw bytes are `raw`.
    fn parse_fields(&mut self, row: u64, raw: &[u8]) -> Parsed {
        let count = self.record.len();
        if count != self.header.len() {
            let reason = format!(
                "row has {count} fields, the header has {}",
                self.header.len()
            );
            return self.reject(row, None, reason, raw);
        }
        self.ranges.clear();
        // `text` holds the fields at `ranges`; `raw_text` is the validated raw row.
        let (text, raw_text): (&str, Option<&str>) = match self.mapping.encoding() {
            TextEncoding::Utf8 => {
                let Ok(raw_text) = std::str::from_utf8(raw) else {
                    return self.utf8_reject(row, raw);
                };
                // Without quotes, field i is the raw text between delimiters, i.e. at
                // its record offset plus the i delimiters before it: no second
                // UTF-8 check is needed. (Valid raw text means valid fields, since
                // csv only removes ASCII quotes and delimiters around them.)
                if !raw.contains(&b'"') {
                    self.ranges.extend(
                        (0..count)
                            .filter_map(|i| self.record.range(i))
                            .enumerate()
                            .map(|(i, r)| r.start + i..r.end + i),
                    );
                }
                if self.ranges.last().is_some_and(|r| r.end == raw.len())
                    && self.ranges.len() == count
                {
                    (raw_text, Some(raw_text))
                } else {
                    self.ranges.clear();
                    let Ok(text) = std::str::from_utf8(self.record.as_slice()) else {
                        return self.utf8_reject(row, raw);
                    };
                    self.ranges
                        .extend((0..count).filter_map(|i| self.record.range(i)));
                    (text, Some(raw_text))
                }
            }
            TextEncoding::Windows1252 => {
                self.decoded.clear();
                for field in &self.record {
                    let start = self.decoded.len();
                    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(field);
                    self.decoded.push_str(&text);
                    self.ranges.push(start..self.decoded.len());
                }
                (&self.decoded, None)
            }
        };
        let fields = CsvFields {
            text,
            ranges: &self.ranges,
            resolved: &self.resolved,
        };
        match self.builder.build(&fields, PointInput::Columns) {
            Ok(core) => {
                let raw_text = match raw_text {
                    Some(valid) => valid.to_owned(),
                    None => self.decode_lossy(raw),
                };
                let attributes = attributes_json(&self.keys, text, &self.ranges, raw.len());
                Parsed::Event(core.into_candidate(row, attributes, raw_text))
            }
            Err(fail) => Parsed::Reject(RowError {
                row: Some(row),
                field: fail.field,
                reason: fail.reason,
                raw: Some(raw_text.map_or_else(|| self.decode_lossy(raw), str::to_owned)),
            }),
        }
    }

    /// The current record's line number; its original bytes (without line
    /// breaks) go to `self.raw`.
    ///
    /// The reader's record position can point at the line break ending the previous
    /// record (CRLF files) or at blank lines before it, so those are skipped here,
    /// counting the lines they end.
    fn take_record_text(&mut self) -> u64 {
        let (mut line, start) = self
            .record
            .position()
            .map_or((1, 0), |p| (p.line(), p.byte()));
        let end = self.reader.position().byte();
        let mut raw = self.reader.get_ref().bytes(start, end);
        while let [first @ (b'\r' | b'\n'), rest @ ..] = raw {
            if *first == b'\n' {
                line += 1;
            }
            raw = rest;
        }
        while let [rest @ .., b'\r' | b'\n'] = raw {
            raw = rest;
        }
        self.raw.clear();
        self.raw.extend_from_slice(raw);
        line
    }
}

impl<R: Read> Iterator for CsvRows<'_, R> {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        if self.done {
            return None;
        }
        let next_record = self.reader.position().byte();
        self.reader.get_mut().release_before(next_record);
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => Some(self.parse_record()),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                // An I/O error of the file (the reader is flexible about field
                // counts, so nothing else is expected); stop cleanly.
                self.done = true;
                Some(Parsed::Reject(RowError {
                    row: None,
                    field: None,
                    reason: format!("CSV cannot be read past this point: {e}"),
                    raw: None,
                }))
            }
        }
    }
}

/// One record's fields, seen through the mapping's column indexes.
struct CsvFields<'r> {
    text: &'r str,
    ranges: &'r [Range<usize>],
    /// Mapping column → header index.
    resolved: &'r [usize],
}

impl Fields for CsvFields<'_> {
    fn value(&self, col: usize) -> &str {
        self.resolved
            .get(col)
            .and_then(|&i| self.ranges.get(i))
            .and_then(|r| self.text.get(r.clone()))
            .unwrap_or_default()
    }
}

/// All of a row's cells as a JSON object in header order, written directly.
fn attributes_json(keys: &[String], text: &str, ranges: &[Range<usize>], raw_len: usize) -> String {
    let key_len: usize = keys.iter().map(String::len).sum();
    let mut out = String::with_capacity(key_len + raw_len + 2 * keys.len() + 8);
    // One check for the whole row (a loop without early exit, which vectorises)
    // instead of one per cell; rows needing escapes take the careful path.
    let needs_escape = text.bytes().fold(false, |acc, b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    out.push('{');
    for (i, (key, range)) in keys.iter().zip(ranges).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        let value = text.get(range.clone()).unwrap_or_default();
        if needs_escape {
            push_json_string(&mut out, value);
        } else {
            out.push('"');
            out.push_str(value);
            out.push('"');
        }
    }
    out.push('}');
    out
}

/// Decodes and trims the header names; empty names become `column_N`. A name that
/// appears twice is an error naming it: which of the two columns a mapping or an
/// attribute key means would be a guess. Linear in the number of columns.
fn decode_header(
    record: &csv::ByteRecord,
    encoding: TextEncoding,
) -> Result<Vec<String>, FileError> {
    let mut names: Vec<String> = Vec::with_capacity(record.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let name = match encoding {
            TextEncoding::Utf8 => std::str::from_utf8(field)
                .map_err(|_| {
                    FileError::file(format!("the header is not valid UTF-8; {ENCODING_HINT}"))
                })?
                .trim()
                .to_owned(),
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(field)
                .0
                .trim()
                .to_owned(),
        };
        let name = if name.is_empty() {
            format!("column_{}", i + 1)
        } else {
            name
        };
        if let Some(first) = seen.insert(name.clone(), i) {
            return Err(FileError::field(
                name,
                format!(
                    "the header names this column twice (columns {} and {}); rename one",
                    first + 1,
                    i + 1
                ),
            ));
        }
        names.push(name);
    }
    Ok(names)
}

/// Finds each mapped column in the header: exactly, or else case-insensitively
/// when that match is unique.
fn resolve_columns(header: &[String], mapping: &Mapping) -> Result<Vec<usize>, FileError> {
    mapping
        .columns()
        .iter()
        .enumerate()
        .map(|(index, name)| {
            if let Some(i) = header.iter().position(|h| h == name) {
                return Ok(i);
            }
            let lower = name.to_lowercase();
            let mut matches = header.iter().enumerate().filter(|(_, h)| h.to_lowercase() == lower);
            if let (Some((i, _)), None) = (matches.next(), matches.next()) {
                return Ok(i);
            }
            let found = header.iter().map(|h| format!("'{h}'")).collect::<Vec<_>>().join(", ");
            let delimiter = char::from(mapping.delimiter());
            let hint = if delimiter != ';' && header.iter().any(|h| h.contains(';')) {
                format!(
                    "; the header contains ';' but the delimiter is '{delimiter}': set delimiter = \";\" in the mapping's [csv] section"
                )
            } else if delimiter != '\t' && header.iter().any(|h| h.contains('\t')) {
                format!(
                    "; the header contains tabs but the delimiter is '{delimiter}': set delimiter = \"\\t\" in the mapping's [csv] section"
                )
            } else {
                String::new()
            };
            Err(FileError::field(
                name.clone(),
                format!(
                    "mapping key '{}' ({}) names column '{name}', which is not in the header (columns found: {found}){hint}",
                    mapping.column_key(index),
                    mapping.origin(),
                ),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::{Candidate, RawLocation};
    use trygg_model::{NormCategory, Precision, Source};

    const HEADER: &str = "anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y";

    fn crimes() -> Mapping {
        Mapping::default_for(Source::Crimes).expect("built in")
    }

    fn parse(text: &[u8], mapping: &Mapping) -> Vec<Parsed> {
        CsvRows::new(text, mapping).expect("valid header").collect()
    }

    fn event(parsed: &Parsed) -> &Candidate {
        match parsed {
            Parsed::Event(c) => c,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    fn reject(parsed: &Parsed) -> &RowError {
        match parsed {
            Parsed::Reject(e) => e,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../tests/fixtures/bad/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// A reader that hands out at most `step` bytes per read, as a file or
    /// pipe may, so records straddle reads.
    struct Trickle<'b> {
        bytes: &'b [u8],
        step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_file_larger_than_the_window_keeps_rows_lines_and_raw_text() {
        // Several windows' worth of rows, then a quoted field over two lines
        // and a bad row: their line numbers and raw text come from bytes the
        // window let go of long before.
        let row = |i: usize| {
            format!("{i},9301,\"Misshandel\",2024-01-05,21:30,,,2024-01-06,exact,,674032,6580821")
        };
        let mut text = format!("\u{feff}{HEADER}\r\n");
        let rows = 3 * WINDOW_SLACK / row(0).len();
        for i in 0..rows {
            text.push_str(&row(i));
            text.push_str("\r\n");
        }
        let multi =
            "x1,9301,\"Misshandel,\ngrov\",2024-01-05,21:30,,,2024-01-06,exact,,674032,6580821";
        text.push_str(multi);
        text.push_str(
            "\r\nx2,9301,\"Misshandel\",2024-13-05,21:30,,,2024-01-06,exact,,674032,6580821\r\n",
        );
        for step in [7, 64 * 1024 + 3] {
            let input = Trickle {
                bytes: text.as_bytes(),
                step,
            };
            let parsed: Vec<Parsed> = CsvRows::new(input, &crimes()).expect("header").collect();
            assert_eq!(parsed.len(), rows + 2);
            let last = event(&parsed[rows - 1]);
            assert_eq!(
                (last.row, last.raw.as_str()),
                (rows as u64 + 1, row(rows - 1).as_str())
            );
            let m = event(&parsed[rows]);
            assert_eq!(
                (m.row, m.raw.as_str(), m.category.as_str()),
                (rows as u64 + 2, multi, "Misshandel,\ngrov")
            );
            let bad = reject(&parsed[rows + 1]);
            assert_eq!(bad.row, Some(rows as u64 + 4), "after the two-line row");
            assert!(
                bad.raw.as_deref().is_some_and(|r| r.starts_with("x2,9301")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reads_a_crime_row_with_attributes_and_raw_text() {
        let text = format!(
            "{HEADER}\n1001,9301,\"Misshandel, grov\",2024-01-05,21:30,,,2024-01-06,exact,Södermalm,674032,6580821\n"
        );
        let rows = parse(text.as_bytes(), &crimes());
        assert_eq!(rows.len(), 1);
        let c = event(&rows[0]);
        assert_eq!(c.row, 2);
        assert_eq!(c.source_id, "1001");
        assert_eq!(c.category, "Misshandel, grov");
        assert_eq!(c.category_norm, NormCategory::Violence);
        assert_eq!(c.occurred_at.to_rfc3339(), "2024-01-05T21:30:00+01:00");
        assert_eq!(c.occurred_to, None);
        assert_eq!(c.raw, "1001,9301,\"Misshandel, grov\",2024-01-05,21:30,,,2024-01-06,exact,Södermalm,674032,6580821");
        let attributes: serde_json::Value =
            serde_json::from_str(&c.attributes).expect("valid JSON");
        assert_eq!(attributes["brottskategori"], "Misshandel, grov");
        assert_eq!(attributes["omrade"], "Södermalm");
        assert_eq!(attributes["till_tid"], "");
        let keys: Vec<&str> = c
            .attributes
            .split("\":")
            .map(|k| k.rsplit('"').next().unwrap_or_default())
            .collect();
        assert_eq!(
            keys[..3],
            ["anmalan_id", "brottskod", "brottskategori"],
            "header order"
        );
    }

    #[test]
    fn row_numbers_are_line_numbers_also_with_crlf_blank_lines_and_quoted_breaks() {
        let text = format!(
            "{HEADER}\r\n1,1,Rån,2024-01-05,21:30,,,,,,674032,6580821\r\n\r\n2,1,\"Rån\r\nväpnat\",2024-01-05,21:30,,,,,,674032,6580821\r\n3,1,Rån,2024-01-05,21:30,,,,,,674032,6580821"
        );
        let rows = parse(text.as_bytes(), &crimes());
        let lines: Vec<u64> = rows.iter().map(|r| event(r).row).collect();
        assert_eq!(lines, [2, 4, 6]);
        assert_eq!(
            event(&rows[2]).raw,
            "3,1,Rån,2024-01-05,21:30,,,,,,674032,6580821"
        );
        assert_eq!(event(&rows[1]).category, "Rån\r\nväpnat");
    }

    #[test]
    fn header_only_file_has_no_rows_and_bom_is_skipped() {
        let text = format!("\u{feff}{HEADER}\n");
        assert!(parse(text.as_bytes(), &crimes()).is_empty());
    }

    #[test]
    fn extra_columns_and_other_column_order_are_fine() {
        let text = "y,x,anmalan_id,extra,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade\n\
                    6580821,674032,7,\"a \"\"b\"\"\",Stöld,2024-06-01,12:00,,,,,\n";
        let rows = parse(text.as_bytes(), &crimes());
        let c = event(&rows[0]);
        assert!(
            matches!(c.location, RawLocation::Point { x, y, .. } if x == 674032.0 && y == 6580821.0)
        );
        let attributes: serde_json::Value =
            serde_json::from_str(&c.attributes).expect("valid JSON");
        assert_eq!(attributes["extra"], "a \"b\"");
        assert_eq!(c.occurred_at.to_rfc3339(), "2024-06-01T12:00:00+02:00");
    }

    #[test]
    fn header_columns_match_case_insensitively_and_empty_names_are_numbered() {
        let text = "ANMALAN_ID,Brottskategori,FRAN_DATUM,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,X,Y,,\n\
                    1,Rån,2024-01-05,21:30,,,,,,674032,6580821,a,b\n";
        let mapping = crimes();
        let mut rows = CsvRows::new(text.as_bytes(), &mapping).expect("valid header");
        assert_eq!(rows.header()[11..], ["column_12", "column_13"]);
        let parsed = rows.next().expect("one row");
        assert_eq!(event(&parsed).source_id, "1");
    }

    #[test]
    fn regression_a_column_named_twice_is_an_error_naming_it() {
        let text = "anmalan_id,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y,x\n";
        let err = CsvRows::new(text.as_bytes(), &crimes()).expect_err("duplicate column");
        assert_eq!(err.field.as_deref(), Some("x"));
        assert!(err.reason.contains("columns 10 and 12"), "{}", err.reason);
    }

    #[test]
    fn regression_a_huge_header_is_read_in_linear_time() {
        // 200,000 distinct extra columns: quadratic duplicate checks took minutes.
        let mut text = String::from("anmalan_id,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y");
        for i in 0..200_000 {
            text.push_str(&format!(",extra{i}"));
        }
        text.push('\n');
        let mapping = crimes();
        let started = std::time::Instant::now();
        let rows = CsvRows::new(text.as_bytes(), &mapping).expect("valid header");
        assert_eq!(rows.header().len(), 200_011);
        // Generous: linear takes well under a second even unoptimised.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn survey_rows_are_located_by_area_with_a_composite_id() {
        let mapping = Mapping::default_for(Source::Survey).expect("built in");
        let text = "respondent_id,omgang,datum,stadsdel,vikt,aldersgrupp,kon,otrygg_kvall,sett_narkotika\n\
                    17,2023,2023-10-02,Rinkeby,1.25,30-44,K,Ganska otrygg,Ja\n";
        let rows = parse(text.as_bytes(), &mapping);
        let c = event(&rows[0]);
        assert_eq!(c.source_id, "2023:17");
        assert_eq!(c.category, "Trygghetsmätning");
        assert_eq!(c.category_norm, NormCategory::SurveyResponse);
        assert_eq!(
            c.location,
            RawLocation::Area {
                name: "Rinkeby".into(),
                field: "stadsdel".into()
            }
        );
        assert!(
            c.attributes.contains("\"sett_narkotika\":\"Ja\""),
            "{}",
            c.attributes
        );
    }

    #[test]
    fn fires_and_shootings_use_their_defaults() {
        let fires = Mapping::default_for(Source::Fires).expect("built in");
        let text = "larmnummer,larmtid,handelsetyp,objekttyp,orsak,e_3011,n_3011\n\
                    L-1,2024-07-01 23:05:10,Brand,Bil,Anlagd,153000.5,6578000\n";
        let c = event(&parse(text.as_bytes(), &fires)[0]).clone();
        assert_eq!(
            (c.category.as_str(), c.category_norm),
            ("Bil", NormCategory::Fire)
        );
        assert_eq!(c.occurred_at.to_rfc3339(), "2024-07-01T23:05:10+02:00");
        let shootings = Mapping::default_for(Source::Shootings).expect("built in");
        let text = "id,datum,tid,plats,lat,lon,skadade,doda,status\nS1,2024-02-03,,Rinkeby torg,59.388,17.928,1,0,preliminär\n";
        let c = event(&parse(text.as_bytes(), &shootings)[0]).clone();
        assert_eq!(
            (c.category.as_str(), c.category_norm),
            ("Skjutning", NormCategory::Shooting)
        );
        assert_eq!(c.occurred_at.to_rfc3339(), "2024-02-03T00:00:00+01:00");
        assert_eq!(
            c.location,
            RawLocation::Point {
                x: 17.928,
                y: 59.388,
                precision: Precision::Exact,
                fields: std::sync::Arc::new(("lon".into(), "lat".into()))
            }
        );
    }

    #[test]
    fn empty_file_is_a_file_error() {
        let err = CsvRows::new(fixture("empty.csv").as_slice(), &crimes()).expect_err("empty");
        assert_eq!(err, FileError::file("file is empty"));
        assert!(CsvRows::new(&b""[..], &crimes()).is_err());
    }

    #[test]
    fn utf16_file_is_a_file_error() {
        let err =
            CsvRows::new(fixture("crimes-utf16.csv").as_slice(), &crimes()).expect_err("UTF-16");
        assert!(err.reason.contains("UTF-16"), "{err}");
    }

    #[test]
    fn missing_column_names_key_column_and_header() {
        let err = CsvRows::new(fixture("crimes-missing-column.csv").as_slice(), &crimes())
            .expect_err("missing");
        assert_eq!(err.field.as_deref(), Some("brottskategori"));
        assert!(
            err.reason.contains("mapping key 'columns.category'"),
            "{err}"
        );
        assert!(
            err.reason
                .contains("'anmalan_id', 'brottskod', 'fran_datum'"),
            "{err}"
        );
    }

    #[test]
    fn semicolon_file_with_comma_mapping_hints_at_the_delimiter() {
        let bytes = fixture("crimes-semicolon.csv");
        let err = CsvRows::new(bytes.as_slice(), &crimes()).expect_err("wrong delimiter");
        assert_eq!(err.field.as_deref(), Some("anmalan_id"));
        assert!(err.reason.contains("set delimiter = \";\""), "{err}");
        // With the right delimiter the decimal commas in the coordinates are read.
        let text = Mapping::builtin_toml("crimes")
            .expect("built in")
            .replace("delimiter = \",\"", "delimiter = \";\"");
        let mapping = Mapping::from_toml(&text, "semicolon").expect("valid");
        let rows = parse(&bytes, &mapping);
        assert!(!rows.is_empty());
        for row in &rows {
            let c = event(row);
            assert!(
                matches!(c.location, RawLocation::Point { x, .. } if x.fract() != 0.0),
                "{:?}",
                c.location
            );
        }
    }

    #[test]
    fn latin1_file_is_rejected_as_utf8_and_read_as_windows_1252() {
        let bytes = fixture("crimes-latin1.csv");
        let rows = parse(&bytes, &crimes());
        let e = reject(&rows[0]);
        assert_eq!(e.field.as_deref(), Some("omrade"));
        assert!(
            e.reason.contains("encoding = \"windows-1252\""),
            "{}",
            e.reason
        );
        assert!(e
            .raw
            .as_deref()
            .is_some_and(|r| r.contains("S\u{fffd}dermalm")));
        let text = Mapping::builtin_toml("crimes")
            .expect("built in")
            .replace("utf-8", "windows-1252");
        let mapping = Mapping::from_toml(&text, "latin1").expect("valid");
        let rows = parse(&bytes, &mapping);
        let c = event(&rows[0]);
        assert!(
            c.attributes.contains("\"omrade\":\"Södermalm\""),
            "{}",
            c.attributes
        );
        assert!(c.raw.contains("Södermalm"));
        assert!(rows.iter().all(|r| matches!(r, Parsed::Event(_))));
    }

    #[test]
    fn ragged_rows_are_rejected_with_their_text() {
        let rows = parse(&fixture("crimes-ragged-rows.csv"), &crimes());
        let rejects: Vec<&RowError> = rows
            .iter()
            .filter_map(|r| match r {
                Parsed::Reject(e) => Some(e),
                _ => None,
            })
            .collect();
        assert_eq!(rejects.len(), 2, "{rows:?}");
        assert_eq!(rejects[0].row, Some(3));
        assert_eq!(rejects[0].reason, "row has 13 fields, the header has 12");
        assert_eq!(rejects[1].reason, "row has 11 fields, the header has 12");
        assert!(rejects[0]
            .raw
            .as_deref()
            .is_some_and(|r| r.starts_with("2002,")));
        assert_eq!(
            rows.iter()
                .filter(|r| matches!(r, Parsed::Event(_)))
                .count(),
            2
        );
    }

    #[test]
    fn bad_dates_name_the_time_columns_and_formats() {
        let rows = parse(&fixture("crimes-bad-dates.csv"), &crimes());
        let reasons: Vec<(Option<&str>, &str)> = rows
            .iter()
            .map(reject)
            .map(|e| (e.field.as_deref(), e.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 5);
        assert_eq!(reasons[0].0, Some("fran_datum+fran_tid"));
        assert!(
            reasons[0].1.contains("'2024-02-30 12:00'"),
            "{}",
            reasons[0].1
        );
        assert!(
            reasons[0].1.contains("%Y-%m-%d %H:%M, %Y-%m-%d"),
            "{}",
            reasons[0].1
        );
        assert!(reasons[1].1.contains("'igår 12:00'"), "{}", reasons[1].1);
        assert!(
            reasons[2].1.contains("'2024-01-05 25:10'"),
            "{}",
            reasons[2].1
        );
        assert_eq!(reasons[3].0, Some("till_datum+till_tid"));
        assert!(
            reasons[3].1.contains("is before its start"),
            "{}",
            reasons[3].1
        );
        assert_eq!(reasons[4].0, Some("anmald_datum"));
        assert!(reasons[4].1.contains("'05/01/2024'"), "{}", reasons[4].1);
    }

    #[test]
    fn nan_and_non_numeric_coordinates_are_rejected() {
        let rows = parse(&fixture("crimes-nan-coords.csv"), &crimes());
        let got: Vec<(Option<&str>, &str)> = rows
            .iter()
            .map(reject)
            .map(|e| (e.field.as_deref(), e.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("x"), "coordinate 'NaN' is not a finite number"),
                (Some("y"), "coordinate 'inf' is not a finite number"),
                (Some("x"), "coordinate 'abc' is not a number"),
                (Some("y"), "coordinate '6580821,5' is not a number"),
                (Some("x"), "coordinate is empty"),
            ]
        );
    }

    #[test]
    fn files_that_parse_fine_and_are_rejected_later() {
        for name in ["crimes-outside-extent.csv", "crimes-duplicate-ids.csv"] {
            let rows = parse(&fixture(name), &crimes());
            assert!(rows.len() >= 2, "{name}");
            assert!(
                rows.iter().all(|r| matches!(r, Parsed::Event(_))),
                "{name}: {rows:?}"
            );
        }
        let rows = parse(&fixture("crimes-duplicate-ids.csv"), &crimes());
        assert_eq!(event(&rows[0]).source_id, event(&rows[1]).source_id);
        // Swapped lat/lon: the parser cannot tell; the locator rejects it.
        let shootings = Mapping::default_for(Source::Shootings).expect("built in");
        let rows = parse(&fixture("crimes-swapped-latlon.csv"), &shootings);
        for row in &rows {
            assert!(
                matches!(event(row).location, RawLocation::Point { x, y, .. } if x > 50.0 && y < 25.0)
            );
        }
    }

    #[test]
    fn empty_id_is_rejected() {
        let rows = parse(&fixture("crimes-empty-id.csv"), &crimes());
        let e = reject(&rows[0]);
        assert_eq!(
            (e.field.as_deref(), e.reason.as_str()),
            (Some("anmalan_id"), "id is empty")
        );
        assert_eq!(e.row, Some(2));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mapping = crimes();
            let mut input = format!("{HEADER}\n").into_bytes();
            input.extend_from_slice(&bytes);
            if let Ok(rows) = CsvRows::new(input.as_slice(), &mapping) {
                for row in rows {
                    if let Parsed::Event(c) = row {
                        proptest::prop_assert!(serde_json::from_str::<serde_json::Value>(&c.attributes).is_ok());
                    }
                }
            }
            let _ = CsvRows::new(bytes.as_slice(), &mapping).map(Iterator::count);
        }
    }

    /// Throughput check, run by hand:
    /// `cargo test --release -p trygg-ingest csv_source::tests::throughput -- --nocapture`.
    #[test]
    fn throughput() {
        let rows = if cfg!(debug_assertions) {
            2_000
        } else {
            200_000
        };
        let mut text = String::with_capacity(rows * 110);
        text.push_str(HEADER);
        text.push('\n');
        let categories = [
            "Misshandel",
            "Stöld",
            "Skadegörelse",
            "Narkotikabrott",
            "Bedrägeri",
            "Rån",
        ];
        for i in 0..rows {
            let day = 1 + i % 28;
            let month = 1 + (i / 28) % 12;
            text.push_str(&format!(
                "{i},{code},{cat},2024-{month:02}-{day:02},{h:02}:{m:02},2024-{month:02}-{day:02},23:59,2024-{month:02}-{day:02},exact,Södermalm,{x}.5,{y}.25\n",
                code = 9000 + i % 500,
                cat = categories[i % categories.len()],
                h = i % 24,
                m = i % 60,
                x = 660_000 + i % 30_000,
                y = 6_570_000 + i % 30_000,
            ));
        }
        let mapping = crimes();
        // Best of five, so that a busy machine disturbs the figure less.
        let mut best = std::time::Duration::MAX;
        for _ in 0..5 {
            let start = std::time::Instant::now();
            let events = CsvRows::new(text.as_bytes(), &mapping)
                .expect("valid header")
                .filter(|r| matches!(r, Parsed::Event(_)))
                .count();
            best = best.min(start.elapsed());
            assert_eq!(events, rows);
        }
        // Baseline: the csv crate alone, to see what the parser adds.
        let mut baseline = std::time::Duration::MAX;
        for _ in 0..5 {
            let start = std::time::Instant::now();
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(text.as_bytes());
            let mut record = csv::ByteRecord::new();
            let mut fields = 0;
            while reader.read_byte_record(&mut record).expect("in memory") {
                fields += record.len();
            }
            baseline = baseline.min(start.elapsed());
            assert_eq!(fields, rows * 12);
        }
        println!(
            "csv crate alone: {:.0} rows/s",
            rows as f64 / baseline.as_secs_f64()
        );
        println!(
            "parsed {rows} crime rows ({} MB) in {best:?}: {:.0} rows/s",
            text.len() / 1_000_000,
            rows as f64 / best.as_secs_f64()
        );
    }
}
