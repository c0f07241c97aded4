//! A small dBase III reader for Shapefile attributes.
//!
//! The `shapefile` crate's own dBase reader (the `dbase` crate, built without its
//! code-page features here) replaces every non-UTF-8 byte with U+FFFD, which turns
//! Stockholm's Latin-1 "BJÖRKHAGEN" into "BJ�RKHAGEN". dBase III is simple enough to
//! read directly, with the text encoding GDAL would use: the sibling `.cpg` file when
//! there is one, otherwise UTF-8 where the bytes are valid UTF-8 and Windows-1252
//! (a superset of Latin-1) where they are not.

use std::borrow::Cow;
use std::path::Path;

use serde_json::{Map, Number, Value};

use super::AreaError;

/// How to turn the file's bytes into text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextEncoding {
    /// Named by a `.cpg` file.
    Known(&'static encoding_rs::Encoding),
    /// UTF-8 where valid, else Windows-1252.
    Guess,
}

impl TextEncoding {
    /// The encoding a `.cpg` file's text names ("UTF-8", "1252", "ISO-8859-1", ...);
    /// [`TextEncoding::Guess`] for names encoding_rs does not know.
    pub(crate) fn from_cpg(label: &str) -> TextEncoding {
        let label = label.trim();
        let label = match label {
            "65001" => "utf-8",
            digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                return encoding_rs::Encoding::for_label(format!("windows-{digits}").as_bytes())
                    .map_or(TextEncoding::Guess, TextEncoding::Known)
            }
            "8859_1" | "88591" => "iso-8859-1",
            other => other,
        };
        encoding_rs::Encoding::for_label(label.as_bytes())
            .map_or(TextEncoding::Guess, TextEncoding::Known)
    }

    fn decode<'a>(&self, bytes: &'a [u8]) -> Cow<'a, str> {
        match self {
            TextEncoding::Known(encoding) => encoding.decode_without_bom_handling(bytes).0,
            TextEncoding::Guess => match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => {
                    encoding_rs::WINDOWS_1252
                        .decode_without_bom_handling(bytes)
                        .0
                }
            },
        }
    }
}

struct Field {
    name: String,
    kind: u8,
    length: usize,
    decimals: u8,
}

/// The attribute rows of a `.dbf`, in file order; `None` marks a deleted record.
pub(crate) fn read(
    bytes: &[u8],
    file: &Path,
    encoding: TextEncoding,
) -> Result<Vec<Option<Map<String, Value>>>, AreaError> {
    let format_error = |reason: String| AreaError::Format {
        file: file.to_owned(),
        reason,
    };
    if bytes.len() < 32 {
        return Err(format_error(format!(
            "the dBase header needs 32 bytes, the file has {}",
            bytes.len()
        )));
    }
    let records = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let record_len = usize::from(u16::from_le_bytes([bytes[10], bytes[11]]));

    let mut fields = Vec::new();
    let mut pos = 32;
    while pos + 32 <= header_len.min(bytes.len()) && bytes[pos] != 0x0D {
        let d = &bytes[pos..pos + 32];
        let name_end = d[..11].iter().position(|&b| b == 0).unwrap_or(11);
        fields.push(Field {
            name: encoding.decode(&d[..name_end]).trim().to_owned(),
            kind: d[11].to_ascii_uppercase(),
            length: usize::from(d[16]),
            decimals: d[17],
        });
        pos += 32;
    }
    let needed = 1 + fields.iter().map(|f| f.length).sum::<usize>();
    if needed > record_len {
        return Err(format_error(format!(
            "the dBase fields need {needed} bytes per record but records are {record_len} bytes"
        )));
    }
    let end = header_len + records * record_len;
    if bytes.len() < end {
        return Err(format_error(format!(
            "the dBase file is truncated: {records} records of {record_len} bytes need {end} bytes, the file has {}",
            bytes.len()
        )));
    }

    let mut out = Vec::with_capacity(records);
    for record in 0..records {
        let start = header_len + record * record_len;
        let data = &bytes[start..start + record_len];
        if data[0] == b'*' {
            out.push(None);
            continue;
        }
        let mut at = 1;
        let mut row = Map::new();
        for field in &fields {
            let raw = &data[at..at + field.length];
            at += field.length;
            let value = value(field, raw, encoding).map_err(|reason| AreaError::Field {
                file: file.to_owned(),
                feature: record,
                field: field.name.clone(),
                reason,
            })?;
            row.insert(field.name.clone(), value);
        }
        out.push(Some(row));
    }
    Ok(out)
}

fn value(field: &Field, raw: &[u8], encoding: TextEncoding) -> Result<Value, String> {
    let text = encoding.decode(raw);
    let trimmed = text.trim_matches(|c: char| c == ' ' || c == '\0');
    Ok(match field.kind {
        b'N' | b'F' => {
            if trimmed.is_empty() || trimmed.starts_with('*') {
                Value::Null
            } else if field.decimals == 0 {
                match trimmed.parse::<i64>() {
                    Ok(i) => Value::from(i),
                    Err(_) => float(trimmed)?,
                }
            } else {
                float(trimmed)?
            }
        }
        b'L' => match trimmed.chars().next() {
            Some('T' | 't' | 'Y' | 'y') => Value::Bool(true),
            Some('F' | 'f' | 'N' | 'n') => Value::Bool(false),
            _ => Value::Null,
        },
        b'D' => match trimmed.len() {
            8 if trimmed.bytes().all(|b| b.is_ascii_digit()) => Value::String(format!(
                "{}-{}-{}",
                &trimmed[..4],
                &trimmed[4..6],
                &trimmed[6..]
            )),
            0 => Value::Null,
            _ => Value::String(trimmed.to_owned()),
        },
        _ => Value::String(text.trim_end_matches([' ', '\0']).to_owned()),
    })
}

fn float(text: &str) -> Result<Value, String> {
    let f: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-field-per-kind dBase III file, written by hand.
    fn dbf(fields: &[(&str, u8, u8, u8)], rows: &[(&[u8], bool)]) -> Vec<u8> {
        let record_len = 1 + fields.iter().map(|f| usize::from(f.2)).sum::<usize>();
        let header_len = 32 + 32 * fields.len() + 1;
        let mut out = vec![0u8; 32];
        out[0] = 3;
        out[4..8].copy_from_slice(&(rows.len() as u32).to_le_bytes());
        out[8..10].copy_from_slice(&(header_len as u16).to_le_bytes());
        out[10..12].copy_from_slice(&(record_len as u16).to_le_bytes());
        out[29] = 0x57;
        for (name, kind, len, dec) in fields {
            let mut d = [0u8; 32];
            d[..name.len()].copy_from_slice(name.as_bytes());
            d[11] = *kind;
            d[16] = *len;
            d[17] = *dec;
            out.extend_from_slice(&d);
        }
        out.push(0x0D);
        for (row, deleted) in rows {
            out.push(if *deleted { b'*' } else { b' ' });
            out.extend_from_slice(row);
        }
        out.push(0x1A);
        out
    }

    #[test]
    fn reads_latin1_text_numbers_dates_and_skips_deleted_records() {
        let fields = [
            ("namn", b'C', 10, 0),
            ("kod", b'N', 4, 0),
            ("yta", b'N', 8, 2),
            ("datum", b'D', 8, 0),
        ];
        let bytes = dbf(
            &fields,
            &[
                (b"BJ\xd6RKHAGEN  18   12.5020210413", false),
                (b"GONE         1    0.00        ", true),
            ],
        );
        let rows = read(&bytes, Path::new("t.dbf"), TextEncoding::Guess).expect("dbf");
        assert_eq!(rows.len(), 2);
        let row = rows[0].as_ref().expect("not deleted");
        assert_eq!(row["namn"], "BJÖRKHAGEN");
        assert_eq!(row["kod"], 18);
        assert_eq!(row["yta"], 12.5);
        assert_eq!(row["datum"], "2021-04-13");
        assert!(rows[1].is_none());
    }

    #[test]
    fn utf8_text_and_cpg_labels_are_honoured() {
        let bytes = dbf(
            &[("namn", b'C', 12, 0)],
            &[("BJÖRKHAGEN ".as_bytes(), false)],
        );
        let rows = read(&bytes, Path::new("t.dbf"), TextEncoding::from_cpg("UTF-8")).expect("dbf");
        assert_eq!(rows[0].as_ref().expect("row")["namn"], "BJÖRKHAGEN");
        assert!(
            matches!(TextEncoding::from_cpg("1252"), TextEncoding::Known(e) if e == encoding_rs::WINDOWS_1252)
        );
        assert!(matches!(
            TextEncoding::from_cpg("no such"),
            TextEncoding::Guess
        ));
    }

    #[test]
    fn bad_numbers_and_truncated_files_are_errors_naming_the_field() {
        let bytes = dbf(&[("kod", b'N', 4, 0)], &[(b"12x4", false)]);
        let err = read(&bytes, Path::new("t.dbf"), TextEncoding::Guess)
            .expect_err("bad number")
            .to_string();
        assert!(
            err.contains("t.dbf")
                && err.contains("feature 0")
                && err.contains("'kod'")
                && err.contains("12x4"),
            "{err}"
        );
        let err = read(
            &bytes[..bytes.len() - 4],
            Path::new("t.dbf"),
            TextEncoding::Guess,
        )
        .expect_err("truncated");
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
