//! The parts every request shares, as a requester writes them (text and numbers,
//! `Deserialize` from JSON, query strings or CLI flags), and their validation into
//! the analytics crate's typed values. What a filter means is decided here, once.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use trygg_analytics::gistar::ClassBasis;
use trygg_analytics::grid::SquareGrid;
use trygg_analytics::selection::Selection;
use trygg_analytics::study_area::Neighbourhood;
use trygg_analytics::window::{day_range_utc, Period, WindowKind};
use trygg_model::{NormCategory, Source};

use crate::error::{Field, QueryError};

/// Which events: sources, categories, local hours and weekdays. No source means
/// the incident sources (the survey counts only when named).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SelectionParams {
    /// Sources by name (`crimes`, `police-events`, `shootings`, `fires`, `survey`).
    pub source: Vec<String>,
    /// Normalised categories (`violence`, `robbery`, …).
    pub category: Vec<String>,
    /// Local hours, e.g. `22-04` or `8,9,10`.
    pub hours: Option<String>,
    /// Weekdays, e.g. `fri-sun` or `mån-fre`.
    pub weekdays: Option<String>,
}

/// A range of Stockholm days, both included (`2024-01-01`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RangeParams {
    /// First day.
    pub from: Option<String>,
    /// Last day (included whole).
    pub to: Option<String>,
}

/// Reads a `YYYY-MM-DD` day.
pub(crate) fn day(field: &str, text: &str) -> Result<NaiveDate, QueryError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        QueryError::invalid(field, format!("cannot read '{text}' as a day (YYYY-MM-DD)"))
    })
}

/// Reads an optional day.
pub(crate) fn opt_day(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, QueryError> {
    text.map(|t| day(field, t)).transpose()
}

/// Reads a period (`2024-03-05`, `2024-W05`, `2024-03`, `2024-Q1`, `2024`, or
/// `2024-01-01..2024-03-31`).
pub(crate) fn period(field: &str, text: &str) -> Result<Period, QueryError> {
    text.trim()
        .parse::<Period>()
        .map_err(|e| QueryError::invalid(field, format!("cannot read '{text}': {e}")))
}

/// Reads a period length (`day`, `week`, `month`, `quarter`, `year`; default month).
pub(crate) fn window(text: Option<&str>) -> Result<WindowKind, QueryError> {
    text.unwrap_or("month").parse().field("window")
}

impl RangeParams {
    /// Both ends, required (for series and tables).
    pub(crate) fn both(&self) -> Result<(NaiveDate, NaiveDate), QueryError> {
        match self.days()? {
            (Some(from), Some(to)) => Ok((from, to)),
            (None, _) => Err(QueryError::invalid("from", "needs a first day")),
            (_, None) => Err(QueryError::invalid("to", "needs a last day")),
        }
    }

    /// The range's days, validated (a reversed range is an error naming `from`).
    pub fn days(&self) -> Result<(Option<NaiveDate>, Option<NaiveDate>), QueryError> {
        let from = opt_day("from", self.from.as_deref())?;
        let to = opt_day("to", self.to.as_deref())?;
        day_range_utc(from, to).field("from")?;
        Ok((from, to))
    }
}

impl SelectionParams {
    /// The selection, with the time range of `range` (when given).
    pub fn validate(&self, range: Option<&RangeParams>) -> Result<Selection, QueryError> {
        let sources = self
            .source
            .iter()
            .map(|s| s.trim().parse::<Source>().field("source"))
            .collect::<Result<Vec<_>, _>>()?;
        let categories = self
            .category
            .iter()
            .map(|c| c.trim().parse::<NormCategory>().field("category"))
            .collect::<Result<Vec<_>, _>>()?;
        let (from_utc, to_utc) = match range {
            Some(r) => {
                let (from, to) = r.days()?;
                day_range_utc(from, to).field("from")?
            }
            None => (None, None),
        };
        Ok(Selection {
            sources: (!sources.is_empty()).then_some(sources),
            categories: (!categories.is_empty()).then_some(categories),
            from_utc,
            to_utc,
            hours: self
                .hours
                .as_deref()
                .map(|h| h.parse().field("hours"))
                .transpose()?,
            weekdays: self
                .weekdays
                .as_deref()
                .map(|w| w.parse().field("weekdays"))
                .transpose()?,
        })
    }
}

/// The cells of a hotspot analysis: a SWEREF square grid or H3 hexagons.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CellParams {
    /// Square cell size in metres (default 250).
    pub grid: Option<f64>,
    /// H3 resolution instead of squares.
    pub h3: Option<u8>,
    /// `queen` (default) or `band:R` (cells within R cell sizes).
    pub neighbourhood: Option<String>,
    /// Class by the raw p instead of the FDR-adjusted p.
    pub no_fdr: bool,
}

/// Validated cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cells {
    /// Squares or hexagons.
    pub system: CellChoice,
    /// Which cells are neighbours.
    pub neighbourhood: Neighbourhood,
    /// Which p classes cells.
    pub class_basis: ClassBasis,
}

/// The validated cell system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellChoice {
    /// A square grid.
    Square(SquareGrid),
    /// H3 at a resolution.
    H3(u8),
}

/// The default square cell, in metres (the Swedish statistics grid).
pub const DEFAULT_GRID_M: f64 = 250.0;

impl CellParams {
    /// Validates the cells.
    pub fn validate(&self) -> Result<Cells, QueryError> {
        let system = match (self.grid, self.h3) {
            (Some(_), Some(_)) => {
                return Err(QueryError::invalid(
                    "h3",
                    "give either grid or h3, not both",
                ))
            }
            (_, Some(res)) => {
                if res > 15 {
                    return Err(QueryError::invalid(
                        "h3",
                        format!("resolution {res} is not 0..=15"),
                    ));
                }
                CellChoice::H3(res)
            }
            (grid, None) => {
                CellChoice::Square(SquareGrid::new(grid.unwrap_or(DEFAULT_GRID_M)).field("grid")?)
            }
        };
        let text = self.neighbourhood.as_deref().unwrap_or("queen").trim();
        let neighbourhood = match text.split_once(':') {
            None if text == "queen" => Neighbourhood::Queen,
            Some(("band", r)) => Neighbourhood::Band {
                radius_cells: r.trim().parse().map_err(|_| {
                    QueryError::invalid(
                        "neighbourhood",
                        format!("band radius '{r}' is not a number"),
                    )
                })?,
            },
            _ => {
                return Err(QueryError::invalid(
                    "neighbourhood",
                    format!("unknown neighbourhood '{text}': use queen or band:R"),
                ))
            }
        };
        Ok(Cells {
            system,
            neighbourhood,
            class_basis: if self.no_fdr {
                ClassBasis::Raw
            } else {
                ClassBasis::Fdr
            },
        })
    }
}

/// Small-count protection asked for (the server forces it for viewers).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
pub struct DisclosureParams {
    /// Publish counts below this as "<N" (and everything derived from them absent).
    pub suppress: Option<u64>,
}

impl DisclosureParams {
    /// The threshold, validated (at least 1).
    pub fn threshold(&self) -> Result<Option<u64>, QueryError> {
        match self.suppress {
            Some(0) => Err(QueryError::invalid(
                "suppress",
                "a threshold must be at least 1",
            )),
            other => Ok(other),
        }
    }
}

/// Restricting a series or matrix to one area of a layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AreaParams {
    /// The area's layer (default `stadsdel`).
    pub layer: Option<String>,
    /// The area's code or name in the layer.
    pub area: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_and_the_value() {
        let e = period("period", "2024-W54").expect_err("no week 54");
        assert_eq!(e.field(), Some("period"));
        assert!(e.to_string().starts_with("period: "), "{e}");
        assert!(
            e.to_string().contains("2024-W54") || e.to_string().contains("54"),
            "{e}"
        );
        let bad = SelectionParams {
            hours: Some("25-26".into()),
            ..SelectionParams::default()
        };
        assert_eq!(
            bad.validate(None).expect_err("bad hours").field(),
            Some("hours")
        );
        let bad = SelectionParams {
            source: vec!["twitter".into()],
            ..SelectionParams::default()
        };
        assert_eq!(
            bad.validate(None).expect_err("bad source").field(),
            Some("source")
        );
        let reversed = RangeParams {
            from: Some("2024-05-01".into()),
            to: Some("2024-04-01".into()),
        };
        assert_eq!(reversed.days().expect_err("reversed").field(), Some("from"));
        let not_a_day = RangeParams {
            from: Some("yesterday".into()),
            to: None,
        };
        assert_eq!(not_a_day.days().expect_err("text").field(), Some("from"));
        assert_eq!(
            CellParams {
                grid: Some(-5.0),
                ..CellParams::default()
            }
            .validate()
            .expect_err("negative")
            .field(),
            Some("grid")
        );
        assert_eq!(
            DisclosureParams { suppress: Some(0) }
                .threshold()
                .expect_err("zero")
                .field(),
            Some("suppress")
        );
    }
}
