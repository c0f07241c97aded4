//! Trygg's domain model: the five sources, events with their location precision and
//! assigned areas, normalised categories, the study extent, and Stockholm local time.
//!
//! This crate does no I/O and knows nothing of storage, HTTP or file formats; every
//! other crate speaks in these types.

mod category;
mod event;
mod extent;
pub mod names;
mod source;
pub mod time;

pub use category::NormCategory;
pub use event::{
    clip_middle, AreaAssignment, Event, Precision, Rejection, TimePrecision, MAX_RAW_BYTES,
    MAX_REASON_CHARS,
};
pub use extent::Extent;
pub use source::Source;

/// The EPSG code of the metric CRS every stored geometry uses (SWEREF 99 TM).
pub const STORE_EPSG: u32 = 3006;

/// An error from parsing one of the model's enumerations from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}' (expected one of: {expected})")]
pub struct ParseEnumError {
    /// What was being parsed ("source", "precision", ...).
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
    /// The accepted spellings, comma separated.
    pub expected: String,
}

/// Reads a decimal number as Swedish exports write it: surrounding whitespace
/// ignored, a decimal comma accepted ("1,25"); `None` unless it is finite. Ingest
/// validates numeric attributes with it and statistics read them with it, so a
/// value accepted at ingest is always readable later.
pub fn parse_decimal(text: &str) -> Option<f64> {
    let text = text.trim();
    let value: f64 = if text.contains(',') && !text.contains('.') {
        text.replacen(',', ".", 1).parse().ok()?
    } else {
        text.parse().ok()?
    };
    value.is_finite().then_some(value)
}
