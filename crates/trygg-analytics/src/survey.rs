//! Survey indicators from weighted respondents (trygghetsmätningen): the weighted
//! share giving an indicator's answers per area and round, with unweighted n, Kish's
//! effective n and design effect and a 95 % confidence interval; change between
//! two rounds; and the survey-vs-incidents comparison across areas.
//!
//! **Interval: Wilson on the effective sample size.** The share is a weighted mean
//! of 0/1 answers; unequal weights inflate its variance by Kish's design effect
//! `deff = n / n_eff` with `n_eff = (Σw)² / Σw²`, so its variance is `p(1 − p) /
//! n_eff`. The Wilson score interval with n replaced by n_eff carries that
//! inflation and, unlike the normal interval `p ± 1.96·√(deff·p(1 − p)/n)`, stays
//! inside [0, 1] and keeps its coverage near 0 % and 100 % and in small areas —
//! exactly where the survey's per-stadsdel shares live (4 % in villa areas, n_eff
//! of a few dozen). The normal form is used only for the *difference* between two
//! rounds (a z-test), where a symmetric approximation is standard.
//!
//! Only the design effect of weighting is captured; clustering or stratification
//! beyond the weights is not known from the data and is not modelled.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use trygg_store::StoredArea;

use crate::areas::{division_mapping, AreaError};
use crate::counts::AreaCounts;
use crate::normal;
use crate::student_t;

/// The standard normal quantile of 0.975 (95 % two-sided).
pub const Z_95: f64 = 1.959_963_984_540_054;

/// An error from the survey indicators.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SurveyError {
    /// A weight that is negative, infinite or NaN.
    #[error("respondent {index} (round '{round}', area '{area}') has weight {weight}; weights must be finite and ≥ 0")]
    Weight {
        /// Position in the input.
        index: usize,
        /// Its round.
        round: String,
        /// Its area.
        area: String,
        /// The weight.
        weight: f64,
    },
    /// An answer listed in two of the indicator's sets.
    #[error("answer '{0}' is in more than one of the indicator's answer sets")]
    AmbiguousAnswer(String),
    /// The stadsdel → område mapping could not be read.
    #[error(transparent)]
    Areas(#[from] AreaError),
}

/// One survey respondent.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyResponse {
    /// The round, e.g. "2023".
    pub round: String,
    /// The respondent's area (a stadsdel in the city's survey).
    pub area: String,
    /// Design weight (≥ 0).
    pub weight: f64,
    /// The answer to the question the indicator reads.
    pub answer: String,
    /// Age group, e.g. "16-24", if known.
    pub age_group: Option<String>,
    /// Gender, if known.
    pub gender: Option<String>,
}

/// An indicator: which answers count, which form the base, which are left out.
/// Answers are matched trimmed and case-insensitively; an empty answer is
/// "missing", an answer in no set "unrecognised" (both left out and counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Indicator {
    /// The indicator's name.
    pub name: String,
    /// Answers that count towards the share (numerator and base).
    pub positive: Vec<String>,
    /// Answers in the base only.
    pub negative: Vec<String>,
    /// Answers left out of the base.
    pub excluded: Vec<String>,
}

impl Indicator {
    /// "Unsafe out alone late in the evening" from `otrygg_kvall`: ganska otrygg +
    /// mycket otrygg over all who go out (går aldrig ut excluded from the base).
    pub fn unsafe_evening() -> Indicator {
        let v = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Indicator {
            name: "unsafe_evening".to_owned(),
            positive: v(&["ganska otrygg", "mycket otrygg"]),
            negative: v(&["mycket trygg", "ganska trygg"]),
            excluded: v(&["går aldrig ut"]),
        }
    }
}

impl Default for Indicator {
    fn default() -> Self {
        Indicator::unsafe_evening()
    }
}

/// How respondents' areas are grouped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AreaGrouping {
    /// By the response's own area.
    #[default]
    AsGiven,
    /// Through a mapping area → group (e.g. stadsdel → stadsdelsområde); weights of
    /// the group's respondents are pooled. Keys match trimmed, case-insensitively.
    Mapped {
        /// The grouping's name, e.g. "stadsdelsomrade_2023".
        name: String,
        /// Area → group.
        mapping: HashMap<String, String>,
    },
}

impl AreaGrouping {
    /// Groups stadsdelar into the division named by their property `property`
    /// (e.g. `stadsdelsomrade_2023`) in the stadsdel layer's areas; matches
    /// responses by stadsdel code or name.
    pub fn division(
        stadsdelar: &[StoredArea],
        property: &str,
    ) -> Result<AreaGrouping, SurveyError> {
        let by_code = division_mapping(stadsdelar, property)?;
        let mut mapping = HashMap::new();
        for s in stadsdelar {
            if let Some(d) = by_code.get(&s.code) {
                mapping.insert(key(&s.code), d.clone());
                mapping.entry(key(&s.name)).or_insert_with(|| d.clone());
            }
        }
        Ok(AreaGrouping::Mapped {
            name: property.to_owned(),
            mapping,
        })
    }

    fn name(&self) -> &str {
        match self {
            AreaGrouping::AsGiven => "area",
            AreaGrouping::Mapped { name, .. } => name,
        }
    }

    fn group(&self, area: &str) -> Option<String> {
        match self {
            AreaGrouping::AsGiven => Some(trygg_model::names::nfc(area.trim())),
            AreaGrouping::Mapped { mapping, .. } => mapping.get(&key(area)).cloned(),
        }
    }
}

fn key(s: &str) -> String {
    trygg_model::names::name_key(s)
}

/// What to estimate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SurveyQuery {
    /// The indicator.
    pub indicator: Indicator,
    /// How areas are grouped.
    pub grouping: AreaGrouping,
    /// Only these rounds (`None`: all).
    pub rounds: Option<Vec<String>>,
    /// Only respondents in these age groups (`None`: all).
    pub age_groups: Option<Vec<String>>,
    /// Only respondents of these genders (`None`: all).
    pub genders: Option<Vec<String>>,
}

/// A weighted share with its uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShareEstimate {
    /// The round.
    pub round: String,
    /// The area (or group of areas; "total" for the whole city).
    pub area: String,
    /// Respondents in the base (unweighted).
    pub n: u64,
    /// Of those, giving a positive answer.
    pub n_positive: u64,
    /// Σw over the base.
    pub weight_sum: f64,
    /// Σw over the positive answers.
    pub positive_weight: f64,
    /// Σw(positive) / Σw(base); `None` when the base weighs nothing.
    pub share: Option<f64>,
    /// Kish's effective sample size (Σw)² / Σw².
    pub n_eff: f64,
    /// Design effect of the weighting, n / n_eff (`None` when n_eff is 0).
    pub deff: Option<f64>,
    /// Lower end of the 95 % Wilson interval on n_eff.
    pub ci_low: Option<f64>,
    /// Upper end of the 95 % Wilson interval on n_eff.
    pub ci_high: Option<f64>,
    /// Respondents giving an excluded answer.
    pub excluded: u64,
    /// Respondents without an answer.
    pub missing: u64,
    /// Respondents giving an answer in no set.
    pub unrecognised: u64,
}

/// Running sums of one cell.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n: u64,
    n_positive: u64,
    w: f64,
    w2: f64,
    w_positive: f64,
    excluded: u64,
    missing: u64,
    unrecognised: u64,
}

/// The Wilson score interval for share `p` on `n` (effective) observations.
pub fn wilson_interval(p: f64, n: f64, z: f64) -> Option<(f64, f64)> {
    // `n > 0.0` is false for NaN too.
    if n.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let z2n = z * z / n;
    let denom = 1.0 + z2n;
    let centre = (p + z2n / 2.0) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

impl Sums {
    fn estimate(&self, round: &str, area: &str) -> ShareEstimate {
        let share = (self.w > 0.0).then(|| self.w_positive / self.w);
        let n_eff = if self.w2 > 0.0 {
            self.w * self.w / self.w2
        } else {
            0.0
        };
        let interval = share.and_then(|p| wilson_interval(p, n_eff, Z_95));
        ShareEstimate {
            round: round.to_owned(),
            area: area.to_owned(),
            n: self.n,
            n_positive: self.n_positive,
            weight_sum: self.w,
            positive_weight: self.w_positive,
            share,
            n_eff,
            deff: (n_eff > 0.0).then(|| self.n as f64 / n_eff),
            ci_low: interval.map(|i| i.0),
            ci_high: interval.map(|i| i.1),
            excluded: self.excluded,
            missing: self.missing,
            unrecognised: self.unrecognised,
        }
    }
}

/// Survey indicators per area and round, with the parameters that produced them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyIndicators {
    /// The indicator.
    pub indicator: Indicator,
    /// How areas were grouped ("area" or the division's name).
    pub grouping: String,
    /// The confidence level of the intervals.
    pub confidence: f64,
    /// The interval method.
    pub interval: &'static str,
    /// Round filter.
    pub rounds: Option<Vec<String>>,
    /// Age-group filter.
    pub age_groups: Option<Vec<String>>,
    /// Gender filter.
    pub genders: Option<Vec<String>>,
    /// Per round and area, sorted by round then area.
    pub estimates: Vec<ShareEstimate>,
    /// Per round, all respondents (area "total").
    pub totals: Vec<ShareEstimate>,
    /// Respondents' areas the grouping does not know (left out), sorted.
    pub unmapped_areas: Vec<String>,
}

/// The interval method, as reported.
pub const INTERVAL_METHOD: &str = "Wilson score interval on Kish's effective sample size (Σw)²/Σw²";

/// Estimates `query.indicator` per area and round.
pub fn survey_indicators(
    responses: &[SurveyResponse],
    query: &SurveyQuery,
) -> Result<SurveyIndicators, SurveyError> {
    let ind = &query.indicator;
    #[derive(Clone, Copy, PartialEq)]
    enum Class {
        Positive,
        Negative,
        Excluded,
    }
    let mut classes: HashMap<String, Class> = HashMap::new();
    for (list, class) in [
        (&ind.positive, Class::Positive),
        (&ind.negative, Class::Negative),
        (&ind.excluded, Class::Excluded),
    ] {
        for a in list {
            if let Some(previous) = classes.insert(key(a), class) {
                if previous != class {
                    return Err(SurveyError::AmbiguousAnswer(a.clone()));
                }
            }
        }
    }
    let allowed = |filter: &Option<Vec<String>>, value: Option<&str>| {
        filter
            .as_ref()
            .is_none_or(|list| value.is_some_and(|v| list.iter().any(|f| key(f) == key(v))))
    };
    let mut cells: BTreeMap<(String, String), Sums> = BTreeMap::new();
    let mut totals: BTreeMap<String, Sums> = BTreeMap::new();
    let mut unmapped: BTreeMap<String, ()> = BTreeMap::new();
    for (index, r) in responses.iter().enumerate() {
        if !(r.weight.is_finite() && r.weight >= 0.0) {
            return Err(SurveyError::Weight {
                index,
                round: r.round.clone(),
                area: r.area.clone(),
                weight: r.weight,
            });
        }
        if !allowed(&query.rounds, Some(&r.round))
            || !allowed(&query.age_groups, r.age_group.as_deref())
            || !allowed(&query.genders, r.gender.as_deref())
        {
            continue;
        }
        let Some(area) = query.grouping.group(&r.area) else {
            unmapped.insert(r.area.trim().to_owned(), ());
            continue;
        };
        let round = r.round.trim().to_owned();
        let answer = key(&r.answer);
        for sums in [
            cells.entry((round.clone(), area)).or_default(),
            totals.entry(round).or_default(),
        ] {
            if answer.is_empty() {
                sums.missing += 1;
                continue;
            }
            match classes.get(&answer) {
                None => sums.unrecognised += 1,
                Some(Class::Excluded) => sums.excluded += 1,
                Some(class) => {
                    sums.n += 1;
                    sums.w += r.weight;
                    sums.w2 += r.weight * r.weight;
                    if *class == Class::Positive {
                        sums.n_positive += 1;
                        sums.w_positive += r.weight;
                    }
                }
            }
        }
    }
    Ok(SurveyIndicators {
        indicator: ind.clone(),
        grouping: query.grouping.name().to_owned(),
        confidence: 0.95,
        interval: INTERVAL_METHOD,
        rounds: query.rounds.clone(),
        age_groups: query.age_groups.clone(),
        genders: query.genders.clone(),
        estimates: cells
            .iter()
            .map(|((round, area), s)| s.estimate(round, area))
            .collect(),
        totals: totals
            .iter()
            .map(|(round, s)| s.estimate(round, "total"))
            .collect(),
        unmapped_areas: unmapped.into_keys().collect(),
    })
}

/// The change of a share between two rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShareChange {
    /// The area.
    pub area: String,
    /// The earlier round.
    pub from_round: String,
    /// The later round.
    pub to_round: String,
    /// The earlier share.
    pub from_share: Option<f64>,
    /// The later share.
    pub to_share: Option<f64>,
    /// Later minus earlier.
    pub difference: Option<f64>,
    /// Standard error of the difference: √(p₁(1−p₁)/n_eff₁ + p₂(1−p₂)/n_eff₂),
    /// i.e. the design-effect-adjusted variances of independent samples.
    pub se: Option<f64>,
    /// difference / se.
    pub z: Option<f64>,
    /// Two-sided p-value of z (`None` when se is 0 or a share is absent).
    pub p_value: Option<f64>,
}

/// The z-test of the difference between two estimates (assumed independent
/// samples, as different respondents answer each round).
pub fn share_change(from: &ShareEstimate, to: &ShareEstimate) -> ShareChange {
    let var = |e: &ShareEstimate| {
        e.share
            .filter(|_| e.n_eff > 0.0)
            .map(|p| p * (1.0 - p) / e.n_eff)
    };
    let difference = from.share.zip(to.share).map(|(a, b)| b - a);
    let se = var(from).zip(var(to)).map(|(a, b)| (a + b).sqrt());
    let z = difference
        .zip(se)
        .filter(|(_, se)| *se > 0.0)
        .map(|(d, se)| d / se);
    ShareChange {
        area: to.area.clone(),
        from_round: from.round.clone(),
        to_round: to.round.clone(),
        from_share: from.share,
        to_share: to.share,
        difference,
        se,
        z,
        p_value: z.map(normal::two_sided_p),
    }
}

/// Changes between `from_round` and `to_round` for every area present in both,
/// then the city total.
pub fn survey_changes(
    indicators: &SurveyIndicators,
    from_round: &str,
    to_round: &str,
) -> Vec<ShareChange> {
    let in_round = |list: &[ShareEstimate], round: &str| -> BTreeMap<String, ShareEstimate> {
        list.iter()
            .filter(|e| e.round == round)
            .map(|e| (e.area.clone(), e.clone()))
            .collect()
    };
    let pairs = |list: &[ShareEstimate]| {
        let (a, b) = (in_round(list, from_round), in_round(list, to_round));
        a.into_iter()
            .filter_map(|(area, e)| b.get(&area).map(|f| share_change(&e, f)))
            .collect::<Vec<_>>()
    };
    let mut out = pairs(&indicators.estimates);
    out.extend(pairs(&indicators.totals));
    out
}

/// One area in the survey-vs-incidents comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaComparison {
    /// The area.
    pub area: String,
    /// The survey share.
    pub share: Option<f64>,
    /// Its interval.
    pub ci_low: Option<f64>,
    /// Its interval.
    pub ci_high: Option<f64>,
    /// Incidents per 1,000 residents, if known.
    pub rate_per_1000: Option<f64>,
}

/// Survey shares against incident rates across areas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyIncidentComparison {
    /// The survey round.
    pub round: String,
    /// Per survey area (rate `None` where the counts have no rate or no such area).
    pub areas: Vec<AreaComparison>,
    /// Areas with both a share and a rate.
    pub n_pairs: usize,
    /// Spearman's rank correlation over those (ties get average ranks); `None`
    /// with fewer than two pairs or when either side is constant.
    pub spearman_rho: Option<f64>,
    /// Its two-sided p-value by the t approximation with n − 2 degrees of freedom
    /// (as `scipy.stats.spearmanr`); `None` with fewer than three pairs.
    pub p_value: Option<f64>,
}

/// Average ranks (1-based) with ties sharing the mean of their ranks.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut out = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && v[order[j]] == v[order[i]] {
            j += 1;
        }
        let rank = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            out[k] = rank;
        }
        i = j;
    }
    out
}

/// Spearman's rho of paired values and its two-sided p-value (t approximation).
pub fn spearman(x: &[f64], y: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = x.len().min(y.len());
    if n < 2 {
        return (None, None);
    }
    let (rx, ry) = (ranks(&x[..n]), ranks(&y[..n]));
    let mean = (n as f64 + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mean) * (b - mean);
        sxx += (a - mean) * (a - mean);
        syy += (b - mean) * (b - mean);
    }
    if sxx == 0.0 || syy == 0.0 {
        return (None, None);
    }
    let rho = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    let p = (n >= 3).then(|| {
        let df = (n - 2) as f64;
        let t = rho * (df / ((1.0 + rho) * (1.0 - rho))).sqrt();
        student_t::two_sided_p(t, df)
    });
    (Some(rho), p)
}

/// Incident rates per 1,000 by area code, from area statistics.
pub fn incident_rates(counts: &AreaCounts) -> Vec<(String, Option<f64>)> {
    counts
        .areas
        .iter()
        .map(|a| (a.code.clone(), a.stat.rate_per_1000))
        .collect()
}

/// Compares round `round`'s shares with incident rates (area code → rate per
/// 1,000, e.g. from [`incident_rates`]); areas match by trimmed, case-insensitive
/// code.
pub fn survey_vs_incidents(
    indicators: &SurveyIndicators,
    round: &str,
    rates: &[(String, Option<f64>)],
) -> SurveyIncidentComparison {
    let by_code: HashMap<String, Option<f64>> = rates.iter().map(|(c, r)| (key(c), *r)).collect();
    let areas: Vec<AreaComparison> = indicators
        .estimates
        .iter()
        .filter(|e| e.round == round)
        .map(|e| AreaComparison {
            area: e.area.clone(),
            share: e.share,
            ci_low: e.ci_low,
            ci_high: e.ci_high,
            rate_per_1000: by_code.get(&key(&e.area)).copied().flatten(),
        })
        .collect();
    let (x, y): (Vec<f64>, Vec<f64>) = areas
        .iter()
        .filter_map(|a| a.share.zip(a.rate_per_1000))
        .unzip();
    let (spearman_rho, p_value) = spearman(&x, &y);
    SurveyIncidentComparison {
        round: round.to_owned(),
        n_pairs: x.len(),
        areas,
        spearman_rho,
        p_value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        a == b || ((a - b) / b).abs() <= rel
    }

    fn r(round: &str, area: &str, weight: f64, answer: &str) -> SurveyResponse {
        SurveyResponse {
            round: round.into(),
            area: area.into(),
            weight,
            answer: answer.into(),
            age_group: Some(if weight > 2.0 { "65-79" } else { "16-24" }.into()),
            gender: Some("kvinna".into()),
        }
    }

    fn sample() -> Vec<SurveyResponse> {
        vec![
            r("2020", "RINKEBY", 1.0, "mycket otrygg"),
            r("2020", "RINKEBY", 2.0, "ganska trygg"),
            r("2020", "RINKEBY", 3.0, "Ganska otrygg "),
            r("2020", "RINKEBY", 4.0, "mycket trygg"),
            r("2020", "RINKEBY", 5.0, "går aldrig ut"),
            r("2020", "RINKEBY", 1.0, ""),
            r("2020", "RINKEBY", 2.0, "vet ej"),
            r("2020", "TENSTA", 2.0, "mycket otrygg"),
            r("2020", "TENSTA", 2.0, "ganska trygg"),
            r("2023", "RINKEBY", 1.0, "mycket trygg"),
            r("2023", "RINKEBY", 1.0, "ganska trygg"),
            r("2023", "RINKEBY", 1.0, "ganska trygg"),
            r("2023", "RINKEBY", 1.0, "ganska otrygg"),
            r("2023", "BROMMA", 1.0, "ganska trygg"),
        ]
    }

    #[test]
    fn weighted_shares_by_hand() {
        let res = survey_indicators(&sample(), &SurveyQuery::default()).expect("valid");
        let rinkeby = &res.estimates[0];
        assert_eq!(
            (rinkeby.round.as_str(), rinkeby.area.as_str()),
            ("2020", "RINKEBY")
        );
        // Base: weights 1, 2, 3, 4 (positive 1 and 3): share 4/10; n_eff 100/30.
        assert_eq!((rinkeby.n, rinkeby.n_positive), (4, 2));
        assert_eq!(rinkeby.share, Some(0.4));
        assert!(close(rinkeby.n_eff, 10.0 / 3.0, 1e-15));
        assert!(close(rinkeby.deff.expect("has n_eff"), 1.2, 1e-15));
        assert_eq!(
            (rinkeby.excluded, rinkeby.missing, rinkeby.unrecognised),
            (1, 1, 1)
        );
        // Wilson on n = 10/3, z = 1.959963984540054, evaluated with mpmath at 40
        // digits: centre 0.45354..., half-width 0.36244...
        let (lo, hi) = (rinkeby.ci_low.expect("ci"), rinkeby.ci_high.expect("ci"));
        assert!(close(lo, 0.09109773274148755, 1e-12), "{lo}");
        assert!(close(hi, 0.8159843607387475, 1e-12), "{hi}");
        let tensta = &res.estimates[1];
        assert_eq!(tensta.share, Some(0.5));
        assert!(close(tensta.n_eff, 2.0, 1e-15));
        assert_eq!(tensta.deff, Some(1.0));
        // Total 2020: base weights 1, 2, 3, 4, 2, 2 → positive 1 + 3 + 2 = 6 of 14.
        let total = &res.totals[0];
        assert_eq!(total.area, "total");
        assert!(close(total.share.expect("share"), 6.0 / 14.0, 1e-15));
        assert!(close(total.n_eff, 196.0 / 38.0, 1e-15));
        assert_eq!(res.totals.len(), 2);
        assert!(res.unmapped_areas.is_empty());
    }

    #[test]
    fn filters_and_grouping() {
        let sd = crate::areas::tests::stadsdelar(); // A, B → Syd; C, D → Norr
        let responses = vec![
            r("2023", "A", 1.0, "mycket otrygg"),
            r("2023", "b", 3.0, "mycket trygg"),
            r("2023", "Stadsdel C", 1.0, "ganska otrygg"),
            r("2023", "X", 1.0, "ganska otrygg"),
        ];
        let query = SurveyQuery {
            grouping: AreaGrouping::division(&sd, "stadsdelsomrade_2023").expect("valid"),
            ..SurveyQuery::default()
        };
        let res = survey_indicators(&responses, &query).expect("valid");
        assert_eq!(res.grouping, "stadsdelsomrade_2023");
        let areas: Vec<(&str, Option<f64>)> = res
            .estimates
            .iter()
            .map(|e| (e.area.as_str(), e.share))
            .collect();
        assert_eq!(areas, [("Norr", Some(1.0)), ("Syd", Some(0.25))]);
        assert_eq!(res.unmapped_areas, ["X"]);
        // Age filter: only the heavy respondents (weight > 2 → 65-79).
        let old = SurveyQuery {
            age_groups: Some(vec!["65-79".into()]),
            ..SurveyQuery::default()
        };
        let res = survey_indicators(&sample(), &old).expect("valid");
        let rinkeby = &res.estimates[0];
        assert_eq!((rinkeby.n, rinkeby.share), (2, Some(3.0 / 7.0)));
        assert_eq!(rinkeby.excluded, 1);
        // Bad weights and ambiguous answer sets are errors.
        let mut bad = sample();
        bad[3].weight = -1.0;
        assert!(matches!(
            survey_indicators(&bad, &SurveyQuery::default()),
            Err(SurveyError::Weight { index: 3, .. })
        ));
        let mut ind = Indicator::unsafe_evening();
        ind.negative.push("Mycket Otrygg".into());
        let q = SurveyQuery {
            indicator: ind,
            ..SurveyQuery::default()
        };
        assert!(matches!(
            survey_indicators(&sample(), &q),
            Err(SurveyError::AmbiguousAnswer(_))
        ));
    }

    #[test]
    fn change_between_rounds() {
        let res = survey_indicators(&sample(), &SurveyQuery::default()).expect("valid");
        let changes = survey_changes(&res, "2020", "2023");
        // RINKEBY in both rounds, then the total; TENSTA and BROMMA in one only.
        assert_eq!(changes.len(), 2);
        let c = &changes[0];
        assert_eq!(c.area, "RINKEBY");
        // 2020: p 0.4, n_eff 10/3; 2023: p 0.25, n_eff 4.
        let se = (0.4 * 0.6 / (10.0 / 3.0) + 0.25 * 0.75 / 4.0f64).sqrt();
        assert!(close(c.difference.expect("both"), -0.15, 1e-14));
        assert!(close(c.se.expect("both"), se, 1e-14));
        let z = -0.15 / se;
        assert!(close(c.z.expect("se > 0"), z, 1e-13));
        assert!(close(c.p_value.expect("z"), normal::two_sided_p(z), 1e-15));
        assert_eq!(changes[1].area, "total");
        // Zero variance on both sides: no test.
        let mut a = res.estimates[0].clone();
        a.share = Some(0.0);
        let mut b = a.clone();
        b.share = Some(0.0);
        assert_eq!(share_change(&a, &b).p_value, None);
    }

    #[test]
    fn spearman_against_hand_values() {
        // No ties: d = rank differences (0, 0, 1, 1, 2 … ) → rho = 1 − 6Σd²/(n(n²−1)).
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [2.0, 1.0, 4.0, 3.0, 5.0];
        let (rho, p) = spearman(&x, &y);
        assert!(close(rho.expect("rho"), 1.0 - 6.0 * 4.0 / 120.0, 1e-15));
        // scipy.stats.spearmanr(x, y).pvalue: t = 0.8·√(3/0.36); same as OLS test.
        assert!(close(p.expect("p"), 0.10408803866182786, 1e-12));
        // Ties get average ranks: x ranks 1.5, 1.5, 3, 4.
        assert_eq!(ranks(&[7.0, 7.0, 8.0, 9.0]), [1.5, 1.5, 3.0, 4.0]);
        assert_eq!(spearman(&[1.0, 1.0], &[2.0, 3.0]), (None, None));
        let (rho, p) = spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]);
        assert_eq!((rho, p), (Some(-1.0), Some(0.0)));
    }

    #[test]
    fn survey_against_incidents() {
        let res = survey_indicators(&sample(), &SurveyQuery::default()).expect("valid");
        let rates = vec![
            ("rinkeby".to_owned(), Some(80.0)),
            ("TENSTA".to_owned(), Some(60.0)),
            ("BROMMA".to_owned(), None),
        ];
        let cmp = survey_vs_incidents(&res, "2020", &rates);
        assert_eq!(cmp.areas.len(), 2);
        assert_eq!(cmp.areas[0].rate_per_1000, Some(80.0));
        assert_eq!(cmp.n_pairs, 2);
        // Rinkeby: share 0.4, rate 80; Tensta: share 0.5, rate 60 → rho −1.
        assert_eq!(cmp.spearman_rho, Some(-1.0));
        assert_eq!(cmp.p_value, None);
    }
}
