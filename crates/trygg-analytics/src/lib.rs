//! Trygg's analytics: area statistics (counts, rates, change tests, hour × weekday,
//! trends), hotspots (SWEREF grids, H3, kernel density, Getis-Ord Gi* with FDR),
//! emerging hotspots and hotspot change, and survey indicators.
//!
//! Everything here is synchronous, pure and deterministic: it reads the in-memory
//! [`trygg_store::EventView`] and plain data passed in, does no I/O, and knows
//! nothing of HTTP or JSON. Every result carries the parameters that produced it.

pub mod areas;
pub mod binomial;
pub mod budget;
pub mod change;
pub mod counts;
pub mod emerging;
pub mod fdr;
pub mod gistar;
pub mod grid;
pub mod hex;
pub mod kde;
pub mod mann_kendall;
pub mod matrix;
pub mod normal;
mod par;
pub mod selection;
pub mod student_t;
pub mod study_area;
pub mod survey;
pub mod trend;
pub mod window;
