//! Small-count suppression, decided here for every output (JSON, CSV, GeoJSON and
//! whatever is built on the results: XLSX, tiles, charts, reports).
//!
//! The rule, with a threshold T (default 5 for viewers):
//! 1. **Primary**: a published count below T is shown as `"<T"`, zero included.
//! 2. **Derived values**: a rate, ratio, difference, p-value or trend statistic
//!    computed from a suppressed count is absent (a rate and a population give
//!    the count back; so does a ratio beside the other count).
//! 3. **Secondary (complementary) suppression**: wherever a shown total is the sum
//!    of shown parts (the municipality over its areas, an area over its groups, an
//!    hour row of the matrix), one suppressed part could be recovered by
//!    subtraction. So in every such margin with exactly one suppressed part, the
//!    smallest other part is suppressed too (the total itself when there is no
//!    other part); repeated until no margin has a single suppressed part. Parts
//!    the result does not show (events in no area) count as known to an attacker.
//!
//! After this, every margin's suppressed parts are at least two, and the
//! attacker's arithmetic (total − the shown parts) yields only their sum.

use serde::{Serialize, Serializer};

/// A published count: the value, or `"<T"` when suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Shown.
    Value(u64),
    /// Suppressed below this threshold.
    Suppressed(u64),
}

impl Count {
    /// The value when shown.
    pub fn value(self) -> Option<u64> {
        match self {
            Count::Value(v) => Some(v),
            Count::Suppressed(_) => None,
        }
    }

    /// Whether it is suppressed.
    pub fn is_suppressed(self) -> bool {
        matches!(self, Count::Suppressed(_))
    }

    /// The text a table shows.
    pub fn text(self) -> String {
        match self {
            Count::Value(v) => v.to_string(),
            Count::Suppressed(t) => format!("<{t}"),
        }
    }
}

impl schemars::JsonSchema for Count {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Count".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A published count: a whole number, or \"<T\" when it is below the suppression threshold T.",
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^<[0-9]+$"}
            ]
        })
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Value(v) => serializer.serialize_u64(*v),
            Count::Suppressed(t) => serializer.serialize_str(&format!("<{t}")),
        }
    }
}

/// A shown total and the shown parts that, with perhaps a part the result does
/// not show (taken as known to an attacker), add up to it; indexes into the cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Margin {
    /// The total's cell.
    pub total: usize,
    /// The parts' cells.
    pub parts: Vec<usize>,
}

/// Which of `values` to suppress at `threshold` (primary and secondary, see the
/// module docs); `None` suppresses nothing.
pub fn suppressed(values: &[u64], margins: &[Margin], threshold: Option<u64>) -> Vec<bool> {
    let Some(t) = threshold else {
        return vec![false; values.len()];
    };
    let mut hidden: Vec<bool> = values.iter().map(|&v| v < t).collect();
    loop {
        let mut changed = false;
        for m in margins {
            if hidden.get(m.total).copied().unwrap_or(true) {
                continue;
            }
            let suppressed = m.parts.iter().filter(|&&p| hidden[p]).count();
            if suppressed != 1 {
                continue;
            }
            // The smallest shown part (ties: the first) becomes the complement;
            // with none, the total goes.
            let complement = m
                .parts
                .iter()
                .copied()
                .filter(|&p| !hidden[p])
                .min_by_key(|&p| (values[p], p));
            match complement {
                Some(p) => hidden[p] = true,
                None => hidden[m.total] = true,
            }
            changed = true;
        }
        if !changed {
            return hidden;
        }
    }
}

/// The published form of `values` under `hidden`.
pub fn publish(values: &[u64], hidden: &[bool], threshold: Option<u64>) -> Vec<Count> {
    values
        .iter()
        .zip(hidden)
        .map(|(&v, &h)| match (h, threshold) {
            (true, Some(t)) => Count::Suppressed(t),
            _ => Count::Value(v),
        })
        .collect()
}

/// `value` unless any of `counts` is suppressed.
pub fn unless_suppressed<T>(value: Option<T>, counts: &[Count]) -> Option<T> {
    if counts.iter().any(|c| c.is_suppressed()) {
        None
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_small_area_takes_a_complement_with_it() {
        // Areas 12, 3, 7, 20; municipality 42 (cell 4).
        let values = [12, 3, 7, 20, 42];
        let margins = [Margin {
            total: 4,
            parts: vec![0, 1, 2, 3],
        }];
        let hidden = suppressed(&values, &margins, Some(5));
        assert_eq!(hidden, [false, true, true, false, false]);
        // The attacker: 42 − 12 − 20 = 10 = the two hidden together, not the 3.
        let counts = publish(&values, &hidden, Some(5));
        assert_eq!(counts[1], Count::Suppressed(5));
        assert_eq!(counts[2].text(), "<5");
    }

    #[test]
    fn a_single_part_takes_its_total() {
        let values = [3, 3];
        let margins = [Margin {
            total: 1,
            parts: vec![0],
        }];
        assert_eq!(suppressed(&values, &margins, Some(5)), [true, true]);
        assert_eq!(suppressed(&values, &margins, None), [false, false]);
    }

    /// Cells of random two-way tables with row and column totals and a grand total.
    fn table(rows: usize, cols: usize, v: &[u64]) -> (Vec<u64>, Vec<Margin>) {
        let mut values: Vec<u64> = v[..rows * cols].to_vec();
        let mut margins = Vec::new();
        for r in 0..rows {
            let parts: Vec<usize> = (0..cols).map(|c| r * cols + c).collect();
            values.push(parts.iter().map(|&p| values[p]).sum());
            margins.push(Margin {
                total: values.len() - 1,
                parts,
            });
        }
        for c in 0..cols {
            let parts: Vec<usize> = (0..rows).map(|r| r * cols + c).collect();
            values.push(parts.iter().map(|&p| values[p]).sum());
            margins.push(Margin {
                total: values.len() - 1,
                parts,
            });
        }
        let row_totals: Vec<usize> = (0..rows).map(|r| rows * cols + r).collect();
        values.push(row_totals.iter().map(|&p| values[p]).sum());
        margins.push(Margin {
            total: values.len() - 1,
            parts: row_totals,
        });
        (values, margins)
    }

    proptest! {
        /// The attacker's arithmetic on every margin: total minus the shown parts
        /// never isolates one suppressed small count.
        #[test]
        fn no_margin_reveals_a_single_suppressed_count(
            rows in 1usize..6, cols in 1usize..6,
            v in proptest::collection::vec(0u64..12, 36), t in 1u64..8,
        ) {
            let (values, margins) = table(rows, cols, &v);
            let hidden = suppressed(&values, &margins, Some(t));
            for (i, &x) in values.iter().enumerate() {
                if x < t {
                    prop_assert!(hidden[i], "a small count is shown");
                }
            }
            for m in &margins {
                if !hidden[m.total] {
                    let n = m.parts.iter().filter(|&&p| hidden[p]).count();
                    prop_assert!(n != 1, "margin {m:?} has one suppressed part");
                }
            }
        }
    }
}
