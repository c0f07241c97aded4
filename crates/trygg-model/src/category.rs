//! Normalised categories shared by all sources, and a classifier for Swedish
//! category texts (police event types, Brå crime categories, fire incident types).

use std::fmt;
use std::str::FromStr;

use crate::ParseEnumError;

/// A category common to all sources, so that layers can be combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NormCategory {
    /// Assault, murder, other violence against a person.
    Violence,
    /// Sexual offences (sensitive: never drawn as points at low zoom).
    Sexual,
    /// Unlawful threats, harassment, molestation.
    Threats,
    /// Robbery.
    Robbery,
    /// Burglary.
    Burglary,
    /// Theft, including vehicle theft.
    Theft,
    /// Criminal damage, graffiti.
    Vandalism,
    /// Drug offences.
    Drugs,
    /// Fraud.
    Fraud,
    /// Weapons offences.
    Weapons,
    /// Shootings.
    Shooting,
    /// Explosions and detonations.
    Explosion,
    /// Fires of any kind.
    Fire,
    /// Traffic offences and accidents.
    Traffic,
    /// Public disorder, drunkenness, disturbances.
    Disorder,
    /// A place a survey respondent marked as unsafe.
    UnsafePlace,
    /// A safety survey response.
    SurveyResponse,
    /// Anything else.
    Other,
}

impl NormCategory {
    /// All categories, in the order of their `u8` codes.
    pub const ALL: [NormCategory; 18] = [
        NormCategory::Violence,
        NormCategory::Sexual,
        NormCategory::Threats,
        NormCategory::Robbery,
        NormCategory::Burglary,
        NormCategory::Theft,
        NormCategory::Vandalism,
        NormCategory::Drugs,
        NormCategory::Fraud,
        NormCategory::Weapons,
        NormCategory::Shooting,
        NormCategory::Explosion,
        NormCategory::Fire,
        NormCategory::Traffic,
        NormCategory::Disorder,
        NormCategory::UnsafePlace,
        NormCategory::SurveyResponse,
        NormCategory::Other,
    ];

    /// The stable name used in the store, mapping files and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            NormCategory::Violence => "violence",
            NormCategory::Sexual => "sexual",
            NormCategory::Threats => "threats",
            NormCategory::Robbery => "robbery",
            NormCategory::Burglary => "burglary",
            NormCategory::Theft => "theft",
            NormCategory::Vandalism => "vandalism",
            NormCategory::Drugs => "drugs",
            NormCategory::Fraud => "fraud",
            NormCategory::Weapons => "weapons",
            NormCategory::Shooting => "shooting",
            NormCategory::Explosion => "explosion",
            NormCategory::Fire => "fire",
            NormCategory::Traffic => "traffic",
            NormCategory::Disorder => "disorder",
            NormCategory::UnsafePlace => "unsafe_place",
            NormCategory::SurveyResponse => "survey_response",
            NormCategory::Other => "other",
        }
    }

    /// A compact code for columnar storage (index into [`NormCategory::ALL`]).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Classifies a Swedish category text by its words, first match wins.
    ///
    /// The rules are ordered from specific to general so that, for example,
    /// "Stöld/inbrott" is a burglary and "Våld/hot mot tjänsteman" is violence.
    pub fn classify(text: &str) -> NormCategory {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let starts = |prefixes: &[&str]| {
            words
                .iter()
                .any(|w| prefixes.iter().any(|p| w.starts_with(p)))
        };
        const RULES: &[(&[&str], NormCategory)] = &[
            (
                &["skottlossning", "skjutning", "skott"],
                NormCategory::Shooting,
            ),
            (
                &["detonation", "explosion", "sprängning", "spräng"],
                NormCategory::Explosion,
            ),
            (
                &["våldtäkt", "sexualbrott", "sexuell", "sexköp", "blottning"],
                NormCategory::Sexual,
            ),
            (&["rån"], NormCategory::Robbery),
            (&["inbrott"], NormCategory::Burglary),
            (
                &[
                    "misshandel",
                    "mord",
                    "dråp",
                    "våld",
                    "överfall",
                    "knivskuren",
                    "knivhugg",
                ],
                NormCategory::Violence,
            ),
            (
                &["hot", "ofredande", "trakasseri", "förargelse"],
                NormCategory::Threats,
            ),
            (
                &["stöld", "snatteri", "tillgrepp", "fickstöld"],
                NormCategory::Theft,
            ),
            (
                &["skadegörelse", "klotter", "vandalisering"],
                NormCategory::Vandalism,
            ),
            (&["narkotika", "narkotikabrott"], NormCategory::Drugs),
            (&["bedrägeri", "bedrägerier"], NormCategory::Fraud),
            (&["vapen", "vapenlagen", "kniv"], NormCategory::Weapons),
            (
                &["brand", "bilbrand", "containerbrand", "anlagd", "eld"],
                NormCategory::Fire,
            ),
            (
                &[
                    "trafik",
                    "trafikolycka",
                    "rattfylleri",
                    "trafikbrott",
                    "olovlig",
                ],
                NormCategory::Traffic,
            ),
            (
                &[
                    "fylleri",
                    "ordningslagen",
                    "bråk",
                    "störning",
                    "berusad",
                    "ordningsstörning",
                ],
                NormCategory::Disorder,
            ),
            (
                &["otrygg", "otrygga", "otrygghet"],
                NormCategory::UnsafePlace,
            ),
        ];
        RULES
            .iter()
            .find(|(prefixes, _)| starts(prefixes))
            .map_or(NormCategory::Other, |(_, category)| *category)
    }
}

impl fmt::Display for NormCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NormCategory {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NormCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ParseEnumError {
                kind: "category",
                value: s.to_owned(),
                expected: NormCategory::ALL.map(NormCategory::as_str).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::NormCategory::{self, *};

    #[test]
    fn classifies_real_police_event_types() {
        let cases = [
            ("Stöld/inbrott", Burglary),
            ("Våld/hot mot tjänsteman", Violence),
            ("Misshandel, grov", Violence),
            ("Rån väpnat", Robbery),
            ("Olaga hot", Threats),
            ("Ofredande/förargelse", Threats),
            ("Skottlossning", Shooting),
            ("Detonation", Explosion),
            ("Brand", Fire),
            ("Rattfylleri", Traffic),
            ("Trafikolycka, singel", Traffic),
            ("Narkotikabrott", Drugs),
            ("Motorfordon, stöld", Theft),
            ("Bedrägeri", Fraud),
            ("Våldtäkt", Sexual),
            ("Fylleri/LOB", Disorder),
            ("Skadegörelse", Vandalism),
            ("Vapenlagen", Weapons),
            ("Övrigt", Other),
            ("Försvunnen person", Other),
        ];
        for (text, expected) in cases {
            assert_eq!(NormCategory::classify(text), expected, "{text}");
        }
    }

    #[test]
    fn robbery_is_matched_on_word_starts_not_inside_words() {
        // "från" contains "rån" but is not a robbery.
        assert_eq!(NormCategory::classify("Larm från centralen"), Other);
    }

    #[test]
    fn names_round_trip() {
        for c in NormCategory::ALL {
            assert_eq!(c.as_str().parse::<NormCategory>(), Ok(c));
            assert_eq!(NormCategory::ALL[usize::from(c.code())], c);
        }
    }
}
