//! What the source parsers hand to the locator: one parsed row that is not yet
//! located (its coordinates are still in the file's CRS, or only a place is named).

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use trygg_model::{NormCategory, Precision};

/// Where a parsed row says the event happened, before any transform or area lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum RawLocation {
    /// Coordinates in the file's CRS, x/easting/longitude first as the mapping says.
    Point {
        /// First axis value (easting or longitude).
        x: f64,
        /// Second axis value (northing or latitude).
        y: f64,
        /// The mapping's (or the row's) precision for this point.
        precision: Precision,
        /// The field names of the two values, for error messages (shared by all
        /// rows of a file: one allocation per file, not per row).
        fields: Arc<(String, String)>,
    },
    /// Only an area is named (a stadsdel name or code), as survey respondents are.
    Area {
        /// The area's name or code as written in the file.
        name: String,
        /// The column it came from.
        field: String,
    },
    /// A police event: the centroid of the municipality or county named in
    /// `location.name`, and the texts to search for a stadsdel name.
    Police {
        /// Latitude of `location.gps`.
        lat: f64,
        /// Longitude of `location.gps`.
        lon: f64,
        /// `location.name`, e.g. "Stockholm" or "Stockholms län".
        location_name: String,
        /// The summary (and any other free text) that may name one place.
        text: String,
    },
}

/// One parsed input row.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The row number (CSV: file line number with the header on line 1; JSON:
    /// 1-based array index; GeoJSON: 1-based feature index).
    pub row: u64,
    /// The source's identifier for the row.
    pub source_id: String,
    /// When it happened (interval start), with offset.
    pub occurred_at: DateTime<FixedOffset>,
    /// Interval end, if given.
    pub occurred_to: Option<DateTime<FixedOffset>>,
    /// When it was reported or published, if given.
    pub reported_at: Option<DateTime<FixedOffset>>,
    /// The source's own category text.
    pub category: String,
    /// The normalised category.
    pub category_norm: NormCategory,
    /// Where it happened, unresolved.
    pub location: RawLocation,
    /// How precisely the time of day is known.
    pub time_precision: trygg_model::TimePrecision,
    /// A local time of the row in a daylight-saving gap or repeated hour, and so
    /// read by the documented rule ([`trygg_model::time::stockholm_local`]).
    pub time_note: Option<trygg_model::time::LocalNote>,
    /// The source's own attributes, verbatim, as a JSON object text.
    pub attributes: String,
    /// The raw text of the row (for rejections that happen after parsing).
    pub raw: String,
}

/// What a parser makes of one input row.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A row that becomes an event once located.
    Event(Candidate),
    /// A well-formed row that is not an event (e.g. a police "Sammanfattning").
    Skip {
        /// Row number, as in [`Candidate::row`].
        row: u64,
        /// Why it is not an event; rows are counted per reason.
        reason: String,
    },
    /// A malformed row.
    Reject(RowError),
}

/// A row-level error from a parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Row number, as in [`Candidate::row`]; `None` for a file-level problem
    /// that still let earlier rows through (e.g. JSON truncated after element 40).
    pub row: Option<u64>,
    /// The field at fault.
    pub field: Option<String>,
    /// What is wrong, naming the offending value.
    pub reason: String,
    /// The raw row text, when there is one.
    pub raw: Option<String>,
}

impl RowError {
    /// The rejection of this row of `file`, as stored and reported (clipped).
    pub fn rejection(self, file: &str) -> trygg_model::Rejection {
        trygg_model::Rejection {
            file: file.to_owned(),
            row: self.row,
            field: self.field,
            reason: self.reason,
            raw: self.raw,
        }
        .clipped()
    }
}
