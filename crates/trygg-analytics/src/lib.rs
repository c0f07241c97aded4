//! Trygg's analytics: area statistics (counts, rates, change tests, hour × weekday,
//! trends), hotspots (SWEREF grids, H3, kernel density, Getis-Ord Gi* with FDR),
//! emerging hotspots and hotspot change, and survey indicators.
//!
//! Everything here is synchronous, pure and deterministic: it reads the in-memory
//! [`trygg_store::EventView`] and plain data passed in, does no I/O, and knows
//! nothing of HTTP or JSON. Every result carries the parameters that produced it.

pub mod mann_kendall;
pub mod normal;
