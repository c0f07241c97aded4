//! Mapping files: how the CSV (or GeoJSON) export of one source is read, i.e. which
//! columns hold the id, category, coordinates, area and times, in which delimiter,
//! encoding, CRS and time formats.
//!
//! A mapping is a small TOML file; [`MappingFile`] and its sections document every
//! key, and [`Mapping`] is the validated form the parsers use. Built-in mappings for
//! the crimes, shootings, fires and survey sources ship in `data/mappings/` and are
//! also the format the demo data generator writes. A complete example:
//!
//! ```toml
//! source = "crimes"
//! [csv]
//! delimiter = ","
//! encoding = "utf-8"
//! [columns]
//! id = "anmalan_id"
//! category = "brottskategori"
//! x = "x"
//! y = "y"
//! area = "omrade"
//! precision = "precision"
//! [coordinates]
//! crs = "EPSG:3006"
//! precision = "exact"
//! [time]
//! start = ["fran_datum", "fran_tid"]
//! end = ["till_datum", "till_tid"]
//! formats = ["%Y-%m-%d %H:%M", "%Y-%m-%d"]
//! reported = ["anmald_datum"]
//! reported_formats = ["%Y-%m-%d"]
//! [categories]
//! "Misshandel" = "violence"
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use trygg_model::{NormCategory, Precision, Source};

use crate::timefmt::{TimeFormat, DEFAULT_FORMATS};

/// An invalid or unreadable mapping file. Every variant names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The file could not be read.
    #[error("cannot read mapping file {origin}: {reason}")]
    Read {
        /// The mapping file (path or built-in name).
        origin: String,
        /// The I/O error.
        reason: String,
    },
    /// A key is unknown, missing, of the wrong type or has an invalid value.
    #[error("mapping file {origin}: key '{key}': {reason}")]
    Key {
        /// The mapping file (path or built-in name).
        origin: String,
        /// The dotted key, e.g. `csv.delimiter` or `columns.x`.
        key: String,
        /// What is wrong, naming the value.
        reason: String,
    },
    /// The file is not valid TOML.
    #[error("mapping file {origin}: {reason}")]
    Syntax {
        /// The mapping file (path or built-in name).
        origin: String,
        /// The TOML parser's message with its line number.
        reason: String,
    },
}

/// One column name or a list of them, written `"a"` or `["a", "b"]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnList(pub Vec<String>);

impl<'de> Deserialize<'de> for ColumnList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = ColumnList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column name or a list of column names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnList, E> {
                Ok(ColumnList(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ColumnList, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(ColumnList(names))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// The TOML document of a mapping file, key for key (see the module docs for an
/// example). Unknown keys anywhere are errors, so a typo never goes unnoticed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// The source this mapping is for (`crimes`, `shootings`, `fires`, `survey`,
    /// `police-events`); optional. The CLI checks it against `--source`.
    pub source: Option<String>,
    /// How the CSV text is split and decoded; optional.
    #[serde(default)]
    pub csv: CsvSection,
    /// Which columns (CSV header names or GeoJSON property names) hold what.
    pub columns: ColumnsSection,
    /// The CRS and default precision of the coordinates; optional.
    #[serde(default)]
    pub coordinates: CoordinatesSection,
    /// Where the times are and how they are written.
    pub time: TimeSection,
    /// Constant values for sources that have no column for them; optional.
    #[serde(default)]
    pub defaults: DefaultsSection,
    /// Exact category text → normalised category name (`violence`, `theft`, ...),
    /// overriding the built-in classifier for those texts; optional.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
    /// Numeric columns that statistics read later (a survey weight, the number
    /// injured), checked on every row at ingest: column name → rule; optional.
    #[serde(default)]
    pub numbers: BTreeMap<String, NumberRuleFile>,
}

/// `[numbers]`: one numeric column's rule, e.g. `vikt = { min = 0, required = true }`.
/// The value must be a finite decimal number (a decimal comma is accepted).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberRuleFile {
    /// The smallest value allowed.
    pub min: Option<f64>,
    /// The largest value allowed.
    pub max: Option<f64>,
    /// Only whole numbers.
    #[serde(default)]
    pub integer: bool,
    /// An empty cell is a rejection (otherwise it means "not known").
    #[serde(default)]
    pub required: bool,
}

/// A validated `[numbers]` rule for one column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NumberRule {
    /// Index into [`Mapping::columns`].
    pub(crate) col: usize,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) integer: bool,
    pub(crate) required: bool,
}

impl NumberRule {
    /// Checks one cell; the error names the value and the rule it breaks.
    pub(crate) fn check(&self, text: &str) -> Result<(), String> {
        let text = text.trim();
        if text.is_empty() {
            return if self.required {
                Err("value is empty".into())
            } else {
                Ok(())
            };
        }
        let Some(value) = trygg_model::parse_decimal(text) else {
            return Err(format!("'{text}' is not a finite number"));
        };
        if self.integer && value.fract() != 0.0 {
            return Err(format!("'{text}' is not a whole number"));
        }
        if let Some(min) = self.min.filter(|m| value < *m) {
            return Err(format!("{value} is below the minimum {min}"));
        }
        if let Some(max) = self.max.filter(|m| value > *m) {
            return Err(format!("{value} is above the maximum {max}"));
        }
        Ok(())
    }
}

/// `[csv]`: how the text is split into fields and decoded.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSection {
    /// One ASCII character separating fields; default `","`. Swedish Excel exports
    /// use `";"` (and a decimal comma, which is then accepted in coordinates).
    pub delimiter: Option<String>,
    /// `utf-8` (default; a UTF-8 byte-order mark is skipped), `windows-1252` or
    /// `latin-1` (both read as Windows-1252, as browsers do).
    pub encoding: Option<String>,
}

/// `[columns]`: which columns hold what.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsSection {
    /// The row's identifier: one column or several, joined with `:` into the
    /// source id (e.g. `["omgang", "respondent_id"]` → `"2023:1017"`). Required.
    pub id: Option<ColumnList>,
    /// The source's category text; optional when `[defaults].category` is set.
    pub category: Option<String>,
    /// Easting or longitude; with `y`, or leave both out and give `area`.
    pub x: Option<String>,
    /// Northing or latitude.
    pub y: Option<String>,
    /// A stadsdel name or code, used when `x` and `y` are both empty (or absent
    /// from the mapping, as for survey respondents).
    pub area: Option<String>,
    /// A column holding `exact`, `address` or `street` per row; an empty cell means
    /// `[coordinates].precision`.
    pub precision: Option<String>,
}

/// `[coordinates]`: what the coordinate columns mean.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinatesSection {
    /// The CRS of `x`/`y`, e.g. `EPSG:3006` (default), `EPSG:3011`, `EPSG:4326`
    /// (then `x` is longitude). Kept as text: the caller parses it.
    pub crs: Option<String>,
    /// The precision of rows with coordinates: `exact` (default), `address` or
    /// `street`.
    pub precision: Option<String>,
}

/// `[time]`: where the times are and how they are written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSection {
    /// When it happened (or the interval start): one column or several, whose
    /// non-empty cells are joined with one space and then parsed. Required.
    pub start: Option<ColumnList>,
    /// The interval end, read like `start`; empty cells mean no end. A date-only
    /// end means the end of that day; a bare clock time (`01:30`) means that time
    /// on the start's date, or the next day when it is earlier than the start.
    pub end: Option<ColumnList>,
    /// chrono strftime formats tried in order; default `%Y-%m-%d %H:%M:%S`,
    /// `%Y-%m-%d %H:%M`, `%Y-%m-%dT%H:%M:%S`, `%Y-%m-%d`. A date-only format gives
    /// 00:00; a format with `%z`/`%:z` carries its own offset.
    pub formats: Option<Vec<String>>,
    /// When set, a start value containing this separator is an interval
    /// `from<sep>to` (e.g. `" - "`). Cannot be combined with `end`.
    pub interval_separator: Option<String>,
    /// The time zone of times without an offset; only `Europe/Stockholm` (the
    /// default) is supported.
    pub timezone: Option<String>,
    /// When it was reported: columns read like `start`; optional.
    pub reported: Option<ColumnList>,
    /// Formats for `reported`; default: `formats`.
    pub reported_formats: Option<Vec<String>>,
}

/// `[defaults]`: constants for sources without a column for them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsSection {
    /// The category of rows whose category column is absent or empty.
    pub category: Option<String>,
    /// The normalised category of every row not listed in `[categories]`
    /// (overrides the classifier), e.g. `fire` or `survey_response`.
    pub category_norm: Option<String>,
}

/// The text encodings a CSV file may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 (a byte-order mark is skipped).
    Utf8,
    /// Windows-1252, which is also how `latin-1` files are read.
    Windows1252,
}

impl TextEncoding {
    /// The name used in mapping files.
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }
}

/// What each role reads: indexes into [`Mapping::columns`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Roles {
    pub(crate) id: Vec<usize>,
    pub(crate) category: Option<usize>,
    pub(crate) xy: Option<(usize, usize)>,
    pub(crate) area: Option<usize>,
    pub(crate) precision: Option<usize>,
}

/// The validated `[time]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeSpec {
    pub(crate) start: Vec<usize>,
    pub(crate) end: Vec<usize>,
    pub(crate) reported: Vec<usize>,
    pub(crate) formats: Vec<TimeFormat>,
    pub(crate) reported_formats: Vec<TimeFormat>,
    pub(crate) interval_separator: Option<String>,
    /// Field names for messages, e.g. `fran_datum+fran_tid`.
    pub(crate) start_field: String,
    pub(crate) end_field: String,
    pub(crate) reported_field: String,
}

/// A validated mapping: how to read one source's CSV or GeoJSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    origin: String,
    source: Option<Source>,
    delimiter: u8,
    encoding: TextEncoding,
    crs: String,
    /// Every column the mapping names, each once, in order of first mention.
    columns: Vec<String>,
    /// For each column, the first mapping key that names it (for error messages).
    column_keys: Vec<String>,
    pub(crate) roles: Roles,
    pub(crate) time: TimeSpec,
    pub(crate) default_precision: Precision,
    pub(crate) default_category: Option<String>,
    pub(crate) default_norm: Option<NormCategory>,
    pub(crate) categories: HashMap<String, NormCategory>,
    pub(crate) numbers: Vec<NumberRule>,
}

/// The names of the built-in mappings, as accepted by [`Mapping::builtin`].
pub const BUILTIN_NAMES: [&str; 5] = ["crimes", "shootings", "fires", "survey", "survey-places"];

fn builtin_text(name: &str) -> Option<&'static str> {
    Some(match name {
        "crimes" => include_str!("../../../data/mappings/crimes.toml"),
        "shootings" => include_str!("../../../data/mappings/shootings.toml"),
        "fires" => include_str!("../../../data/mappings/fires.toml"),
        "survey" => include_str!("../../../data/mappings/survey.toml"),
        "survey-places" => include_str!("../../../data/mappings/survey-places.toml"),
        _ => return None,
    })
}

impl Mapping {
    /// Parses and validates a mapping; `origin` names it in errors (a path or
    /// `built-in crimes`).
    pub fn from_toml(text: &str, origin: &str) -> Result<Mapping, MappingError> {
        let file: MappingFile =
            toml::from_str(text).map_err(|e| toml_error(text, origin, e.message(), e.span()))?;
        Mapping::from_file(file, origin)
    }

    /// Reads, parses and validates a mapping file.
    pub fn load(path: impl AsRef<Path>) -> Result<Mapping, MappingError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MappingError::Read {
            origin: origin.clone(),
            reason: e.to_string(),
        })?;
        Mapping::from_toml(&text, &origin)
    }

    /// The built-in mapping of a source (`data/mappings/<source>.toml`); `None` for
    /// police events, which have their own parser.
    pub fn default_for(source: Source) -> Option<Mapping> {
        match source {
            Source::PoliceEvents => None,
            other => Mapping::builtin(other.as_str()),
        }
    }

    /// A built-in mapping by name (one of [`BUILTIN_NAMES`], e.g. `survey-places`).
    pub fn builtin(name: &str) -> Option<Mapping> {
        let text = builtin_text(name)?;
        // The built-in files are tested; should one be broken, it is simply absent.
        Mapping::from_toml(text, &format!("built-in {name}")).ok()
    }

    /// The TOML text of a built-in mapping (for `trygg demo` and documentation).
    pub fn builtin_toml(name: &str) -> Option<&'static str> {
        builtin_text(name)
    }

    /// Where the mapping came from (path or `built-in <name>`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The source named by the `source` key, if any.
    pub fn source(&self) -> Option<Source> {
        self.source
    }

    /// The CRS of the coordinates as written (default `EPSG:3006`).
    pub fn crs_text(&self) -> &str {
        &self.crs
    }

    /// The CSV field delimiter.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The CSV text encoding.
    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// Every column the mapping reads, each once.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The first mapping key naming column `index` of [`Mapping::columns`].
    pub(crate) fn column_key(&self, index: usize) -> &str {
        self.column_keys
            .get(index)
            .map_or("columns", String::as_str)
    }

    /// The name of column `index` of [`Mapping::columns`].
    pub(crate) fn column_name(&self, index: usize) -> &str {
        self.columns.get(index).map_or("", String::as_str)
    }

    /// The columns joined into the source id.
    pub fn id_columns(&self) -> Vec<&str> {
        self.roles.id.iter().map(|&i| self.column_name(i)).collect()
    }

    /// The x and y columns, when the mapping has coordinates.
    pub fn xy_columns(&self) -> Option<(&str, &str)> {
        self.roles
            .xy
            .map(|(x, y)| (self.column_name(x), self.column_name(y)))
    }

    /// The area column, if any.
    pub fn area_column(&self) -> Option<&str> {
        self.roles.area.map(|i| self.column_name(i))
    }

    /// The precision of rows with coordinates and no precision of their own.
    pub fn default_precision(&self) -> Precision {
        self.default_precision
    }

    fn from_file(file: MappingFile, origin: &str) -> Result<Mapping, MappingError> {
        let err = |key: &str, reason: String| MappingError::Key {
            origin: origin.to_owned(),
            key: key.to_owned(),
            reason,
        };
        let source = file
            .source
            .as_deref()
            .map(|s| {
                s.parse::<Source>()
                    .map_err(|e| err("source", e.to_string()))
            })
            .transpose()?;
        let delimiter = match file.csv.delimiter.as_deref() {
            None => b',',
            Some(d) => match d.as_bytes() {
                [b] if b.is_ascii() && !matches!(b, b'"' | b'\r' | b'\n') => *b,
                _ => {
                    return Err(err(
                        "csv.delimiter",
                        format!(
                            "'{d}' is not one ASCII character other than a quote or line break"
                        ),
                    ))
                }
            },
        };
        let encoding = match file
            .csv
            .encoding
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("utf-8" | "utf8") => TextEncoding::Utf8,
            Some("windows-1252" | "cp1252" | "latin-1" | "latin1" | "iso-8859-1") => {
                TextEncoding::Windows1252
            }
            Some(other) => {
                return Err(err(
                    "csv.encoding",
                    format!("unsupported encoding '{other}' (use utf-8, windows-1252 or latin-1)"),
                ))
            }
        };

        let mut columns = Columns::default();
        let c = &file.columns;
        let id_list =
            c.id.as_ref()
                .ok_or_else(|| err("columns.id", "is missing".into()))?;
        let id = columns
            .list("columns.id", id_list)
            .map_err(|r| err("columns.id", r))?;
        let mut single =
            |key: &str, name: &Option<String>| -> Result<Option<usize>, MappingError> {
                name.as_deref()
                    .map(|n| columns.one(key, n).map_err(|r| err(key, r)))
                    .transpose()
            };
        let category = single("columns.category", &c.category)?;
        let x = single("columns.x", &c.x)?;
        let y = single("columns.y", &c.y)?;
        let area = single("columns.area", &c.area)?;
        let precision_col = single("columns.precision", &c.precision)?;
        let xy = match (x, y) {
            (Some(x), Some(y)) => Some((x, y)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(err("columns.y", "is missing (columns.x is set)".into()))
            }
            (None, Some(_)) => {
                return Err(err("columns.x", "is missing (columns.y is set)".into()))
            }
        };
        if xy.is_none() && area.is_none() {
            return Err(err(
                "columns.x",
                "the mapping has neither coordinates (x and y) nor an area column, so rows could not be located".into(),
            ));
        }
        let default_category = match file.defaults.category {
            Some(c) if c.trim().is_empty() => {
                return Err(err("defaults.category", "is empty".into()))
            }
            other => other,
        };
        if category.is_none() && default_category.is_none() {
            return Err(err(
                "columns.category",
                "is missing and [defaults].category is not set; rows would have no category".into(),
            ));
        }

        let t = &file.time;
        let start_list = t
            .start
            .as_ref()
            .ok_or_else(|| err("time.start", "is missing".into()))?;
        let start = columns
            .list("time.start", start_list)
            .map_err(|r| err("time.start", r))?;
        let end = match &t.end {
            Some(list) => columns
                .list("time.end", list)
                .map_err(|r| err("time.end", r))?,
            None => Vec::new(),
        };
        let reported = match &t.reported {
            Some(list) => columns
                .list("time.reported", list)
                .map_err(|r| err("time.reported", r))?,
            None => Vec::new(),
        };
        let parse_formats = |key: &str, list: &[String]| -> Result<Vec<TimeFormat>, MappingError> {
            if list.is_empty() {
                return Err(err(key, "is an empty list".into()));
            }
            list.iter()
                .map(|f| TimeFormat::new(f).map_err(|r| err(key, r)))
                .collect()
        };
        let default_formats: Vec<String> =
            DEFAULT_FORMATS.iter().map(|f| (*f).to_owned()).collect();
        let formats = parse_formats(
            "time.formats",
            t.formats.as_deref().unwrap_or(&default_formats),
        )?;
        let reported_formats = match &t.reported_formats {
            Some(_) if t.reported.is_none() => {
                return Err(err(
                    "time.reported_formats",
                    "is set but time.reported is not".into(),
                ));
            }
            Some(list) => parse_formats("time.reported_formats", list)?,
            None => formats.clone(),
        };
        let interval_separator =
            match &t.interval_separator {
                Some(_) if t.end.is_some() => return Err(err(
                    "time.interval_separator",
                    "cannot be combined with time.end (the interval comes from one or the other)"
                        .into(),
                )),
                Some(sep) if sep.is_empty() => {
                    return Err(err("time.interval_separator", "is empty".into()))
                }
                other => other.clone(),
            };
        match t.timezone.as_deref() {
            None | Some("Europe/Stockholm") => {}
            Some(other) => {
                return Err(err(
                    "time.timezone",
                    format!("'{other}' is not supported; only Europe/Stockholm is (use a format with %z for times with an offset)"),
                ))
            }
        }

        let crs = match file.coordinates.crs {
            Some(crs) if crs.trim().is_empty() => {
                return Err(err("coordinates.crs", "is empty".into()))
            }
            Some(crs) => crs.trim().to_owned(),
            None => "EPSG:3006".to_owned(),
        };
        let default_precision = match file.coordinates.precision.as_deref() {
            None => Precision::Exact,
            Some(p) => parse_point_precision(p).map_err(|r| err("coordinates.precision", r))?,
        };
        let default_norm = file
            .defaults
            .category_norm
            .as_deref()
            .map(|n| {
                n.parse::<NormCategory>()
                    .map_err(|e| err("defaults.category_norm", e.to_string()))
            })
            .transpose()?;
        let mut categories = HashMap::new();
        for (text, norm) in &file.categories {
            let norm = norm
                .parse::<NormCategory>()
                .map_err(|e| err(&format!("categories.\"{text}\""), e.to_string()))?;
            categories.insert(text.clone(), norm);
        }

        let mut numbers = Vec::new();
        for (name, rule) in &file.numbers {
            let key = format!("numbers.\"{name}\"");
            let col = columns.one(&key, name).map_err(|r| err(&key, r))?;
            let bound = |b: Option<f64>, which: &str| match b {
                Some(v) if !v.is_finite() => {
                    Err(err(&key, format!("{which} is not a finite number")))
                }
                other => Ok(other),
            };
            let (min, max) = (bound(rule.min, "min")?, bound(rule.max, "max")?);
            if let (Some(lo), Some(hi)) = (min, max) {
                if lo > hi {
                    return Err(err(&key, format!("min {lo} is above max {hi}")));
                }
            }
            numbers.push(NumberRule {
                col,
                min,
                max,
                integer: rule.integer,
                required: rule.required,
            });
        }

        let field_name = |cols: &[usize]| -> String {
            cols.iter()
                .map(|&i| columns.names.get(i).map_or("", String::as_str))
                .collect::<Vec<_>>()
                .join("+")
        };
        let time = TimeSpec {
            start_field: field_name(&start),
            end_field: field_name(&end),
            reported_field: field_name(&reported),
            start,
            end,
            reported,
            formats,
            reported_formats,
            interval_separator,
        };
        Ok(Mapping {
            origin: origin.to_owned(),
            source,
            delimiter,
            encoding,
            crs,
            roles: Roles {
                id,
                category,
                xy,
                area,
                precision: precision_col,
            },
            columns: columns.names,
            column_keys: columns.keys,
            time,
            default_precision,
            default_category,
            default_norm,
            categories,
            numbers,
        })
    }
}

/// Reads `exact`, `address` or `street` (any case): the precisions a coordinate
/// pair can have.
pub(crate) fn parse_point_precision(text: &str) -> Result<Precision, String> {
    let lower = text.trim().to_ascii_lowercase();
    match lower.parse::<Precision>() {
        Ok(p) if p.is_point() => Ok(p),
        _ => Err(format!(
            "precision '{text}' is not one of exact, address, street"
        )),
    }
}

/// The distinct column names a mapping reads, interned in order of first mention.
#[derive(Default)]
struct Columns {
    names: Vec<String>,
    keys: Vec<String>,
}

impl Columns {
    fn one(&mut self, key: &str, name: &str) -> Result<usize, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("column name is empty".into());
        }
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return Ok(i);
        }
        self.names.push(name.to_owned());
        self.keys.push(key.to_owned());
        Ok(self.names.len() - 1)
    }

    fn list(&mut self, key: &str, list: &ColumnList) -> Result<Vec<usize>, String> {
        if list.0.is_empty() {
            return Err("is an empty list; name at least one column".into());
        }
        list.0.iter().map(|name| self.one(key, name)).collect()
    }
}

/// Turns a TOML error into a [`MappingError`] that names the key when the error's
/// position allows it (the line's key and the table it is in).
fn toml_error(text: &str, origin: &str, message: &str, span: Option<Range<usize>>) -> MappingError {
    let message = message.trim();
    let start = span.map_or(0, |s| s.start).min(text.len());
    let line_no = text.get(..start).map_or(1, |t| t.matches('\n').count() + 1);
    let mut table = String::new();
    let mut key_on_line = None;
    for (i, line) in text.lines().enumerate() {
        if i + 1 > line_no {
            break;
        }
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[') {
            table = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            key_on_line = (i + 1 == line_no).then(|| table.clone());
        } else if i + 1 == line_no {
            key_on_line = trimmed.split_once('=').map(|(k, _)| {
                let k = k.trim().trim_matches('"');
                if table.is_empty() {
                    k.to_owned()
                } else {
                    format!("{table}.{k}")
                }
            });
        }
    }
    // "missing field `id`" points at the table, not at a key.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(|field| {
            if table.is_empty() {
                field.to_owned()
            } else {
                format!("{table}.{field}")
            }
        });
    match missing.or(key_on_line) {
        Some(key) => MappingError::Key {
            origin: origin.to_owned(),
            key,
            reason: format!("{message} (line {line_no})"),
        },
        None => MappingError::Syntax {
            origin: origin.to_owned(),
            reason: format!("line {line_no}: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[columns]
id = "id"
category = "kat"
x = "x"
y = "y"
[time]
start = "t"
"#;

    fn key_error(text: &str) -> (String, String) {
        match Mapping::from_toml(text, "test.toml") {
            Err(MappingError::Key {
                origin,
                key,
                reason,
            }) => {
                assert_eq!(origin, "test.toml");
                (key, reason)
            }
            other => panic!("expected a key error, got {other:?}"),
        }
    }

    #[test]
    fn all_builtin_mappings_load() {
        for name in BUILTIN_NAMES {
            let text = Mapping::builtin_toml(name).expect("embedded");
            let mapping = Mapping::from_toml(text, name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(mapping.origin(), name);
        }
        for source in Source::ALL {
            let mapping = Mapping::default_for(source);
            assert_eq!(
                mapping.is_none(),
                source == Source::PoliceEvents,
                "{source}"
            );
            if let Some(m) = mapping {
                assert_eq!(m.source(), Some(source));
            }
        }
    }

    #[test]
    fn builtin_column_lists_are_the_generator_contract() {
        let crimes = Mapping::default_for(Source::Crimes).expect("built in");
        assert_eq!(crimes.crs_text(), "EPSG:3006");
        assert_eq!(crimes.id_columns(), ["anmalan_id"]);
        assert_eq!(crimes.xy_columns(), Some(("x", "y")));
        assert_eq!(crimes.area_column(), Some("omrade"));
        let shootings = Mapping::default_for(Source::Shootings).expect("built in");
        assert_eq!(shootings.crs_text(), "EPSG:4326");
        assert_eq!(shootings.xy_columns(), Some(("lon", "lat")));
        assert_eq!(shootings.default_norm, Some(NormCategory::Shooting));
        let fires = Mapping::default_for(Source::Fires).expect("built in");
        assert_eq!(fires.crs_text(), "EPSG:3011");
        assert_eq!(fires.xy_columns(), Some(("e_3011", "n_3011")));
        let survey = Mapping::default_for(Source::Survey).expect("built in");
        assert_eq!(survey.id_columns(), ["omgang", "respondent_id"]);
        assert_eq!(survey.xy_columns(), None);
        assert_eq!(survey.area_column(), Some("stadsdel"));
        let places = Mapping::builtin("survey-places").expect("built in");
        assert_eq!(places.id_columns(), ["omgang", "punkt_id"]);
        assert_eq!(places.default_norm, Some(NormCategory::UnsafePlace));
        assert_eq!(places.source(), Some(Source::Survey));
    }

    #[test]
    fn minimal_mapping_gets_the_defaults() {
        let m = Mapping::from_toml(MINIMAL, "test.toml").expect("valid");
        assert_eq!(m.delimiter(), b',');
        assert_eq!(m.encoding(), TextEncoding::Utf8);
        assert_eq!(m.crs_text(), "EPSG:3006");
        assert_eq!(m.default_precision(), Precision::Exact);
        assert_eq!(m.time.formats.len(), DEFAULT_FORMATS.len());
        assert_eq!(m.columns(), ["id", "kat", "x", "y", "t"]);
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let (key, reason) = key_error(&format!("{MINIMAL}\n[csv]\ndelimeter = \";\"\n"));
        assert_eq!(key, "csv.delimeter");
        assert!(reason.contains("unknown field `delimeter`"), "{reason}");
        let (key, _) = key_error(&format!("{MINIMAL}\ncolour = \"red\"\n"));
        assert_eq!(key, "time.colour");
        let (key, _) = key_error(&format!("{MINIMAL}\n[extra]\na = 1\n"));
        assert_eq!(key, "extra");
    }

    #[test]
    fn missing_and_wrongly_typed_keys_are_named() {
        let (key, reason) = key_error("[columns]\nid = \"id\"\nx = \"x\"\ny = \"y\"\ncategory = \"k\"\n[time]\nformats = []\n");
        assert_eq!(key, "time.start", "{reason}");
        let (key, reason) =
            key_error("[columns]\nid = 5\nx = \"x\"\ny = \"y\"\n[time]\nstart = \"t\"\n");
        assert_eq!(key, "columns.id", "{reason}");
        let (key, _) =
            key_error("[columns]\nx = \"x\"\ny = \"y\"\ncategory = \"k\"\n[time]\nstart = \"t\"\n");
        assert_eq!(key, "columns.id");
    }

    #[test]
    fn invalid_values_are_named() {
        let cases = [
            ("[csv]\ndelimiter = \";;\"\n", "csv.delimiter", "';;'"),
            ("[csv]\nencoding = \"utf-16\"\n", "csv.encoding", "utf-16"),
            (
                "[coordinates]\nprecision = \"stadsdel\"\n",
                "coordinates.precision",
                "stadsdel",
            ),
            (
                "[defaults]\ncategory_norm = \"arson\"\n",
                "defaults.category_norm",
                "arson",
            ),
            (
                "[categories]\n\"Misshandel\" = \"violent\"\n",
                "categories.\"Misshandel\"",
                "violent",
            ),
            ("source = \"police\"\n", "source", "police"),
        ];
        for (extra, key, needle) in cases {
            // Root keys must come before the first table.
            let text = if extra.starts_with('[') {
                format!("{MINIMAL}{extra}")
            } else {
                format!("{extra}{MINIMAL}")
            };
            let (got, reason) = key_error(&text);
            assert_eq!(got, key, "{reason}");
            assert!(reason.contains(needle), "{reason}");
        }
        let (key, reason) =
            key_error(&MINIMAL.replace("start = \"t\"", "start = \"t\"\nformats = [\"%H:%M\"]"));
        assert_eq!(key, "time.formats");
        assert!(reason.contains("full date"), "{reason}");
        let (key, _) =
            key_error(&MINIMAL.replace("start = \"t\"", "start = \"t\"\ntimezone = \"UTC\""));
        assert_eq!(key, "time.timezone");
        let (key, _) = key_error(&MINIMAL.replace("y = \"y\"\n", ""));
        assert_eq!(key, "columns.y");
        let (key, _) = key_error(&MINIMAL.replace("category = \"kat\"\n", ""));
        assert_eq!(key, "columns.category");
        let (key, _) = key_error(&MINIMAL.replace(
            "start = \"t\"",
            "start = \"t\"\nend = \"u\"\ninterval_separator = \" - \"",
        ));
        assert_eq!(key, "time.interval_separator");
    }

    #[test]
    fn syntax_errors_name_the_file_and_line() {
        let err = Mapping::from_toml("[columns\nid = \"x\"\n", "broken.toml").expect_err("invalid");
        let text = err.to_string();
        assert!(text.starts_with("mapping file broken.toml"), "{text}");
        assert!(text.contains("line 1"), "{text}");
    }

    #[test]
    fn load_reads_a_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("m.toml");
        std::fs::write(&path, MINIMAL).expect("write");
        assert!(Mapping::load(&path).is_ok());
        let missing = dir.path().join("nope.toml");
        let err = Mapping::load(&missing).expect_err("missing file");
        assert!(
            matches!(&err, MappingError::Read { origin, .. } if origin.ends_with("nope.toml")),
            "{err}"
        );
    }
}
