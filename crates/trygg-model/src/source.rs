//! The five data sources Trygg combines.

use std::fmt;
use std::str::FromStr;

use crate::ParseEnumError;

/// One of the five kinds of safety data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Police event reports (polisens händelser, open events API).
    PoliceEvents,
    /// Reported crimes (anmälda brott).
    Crimes,
    /// Confirmed shootings (skjutningar).
    Shootings,
    /// Fires and other rescue-service incidents.
    Fires,
    /// Safety survey responses and marked unsafe places (trygghetsmätning).
    Survey,
}

impl Source {
    /// All sources, in their stable order (the order of their `u8` codes).
    pub const ALL: [Source; 5] = [
        Source::PoliceEvents,
        Source::Crimes,
        Source::Shootings,
        Source::Fires,
        Source::Survey,
    ];

    /// The stable name used on the command line, in the store and in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::PoliceEvents => "police-events",
            Source::Crimes => "crimes",
            Source::Shootings => "shootings",
            Source::Fires => "fires",
            Source::Survey => "survey",
        }
    }

    /// The sources whose records are incidents (things that happened somewhere at
    /// some time): all but the survey, whose rows are answers and marked places.
    /// A selection that names no source means these; the survey only counts when
    /// asked for by name.
    pub const INCIDENTS: [Source; 4] = [
        Source::PoliceEvents,
        Source::Crimes,
        Source::Shootings,
        Source::Fires,
    ];

    /// Whether records of this source are incidents (see [`Source::INCIDENTS`]).
    pub fn is_incident(self) -> bool {
        self != Source::Survey
    }

    /// A compact code for columnar storage (index into [`Source::ALL`]).
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| ParseEnumError {
                kind: "source",
                value: s.to_owned(),
                expected: Source::ALL.map(Source::as_str).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_codes_index_all() {
        for (i, source) in Source::ALL.into_iter().enumerate() {
            assert_eq!(source.as_str().parse::<Source>(), Ok(source));
            assert_eq!(usize::from(source.code()), i);
        }
        let err = "police".parse::<Source>().unwrap_err();
        assert!(err.to_string().contains("police-events"), "{err}");
    }
}
