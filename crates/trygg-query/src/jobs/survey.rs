//! Survey indicators: the weighted share feeling unsafe out alone late in the
//! evening, per area and round with 95 % intervals; change between rounds; and the
//! comparison with incident rates.
//!
//! Under suppression an estimate based on fewer than T respondents is published
//! without its share, interval or n (a share of 2 respondents identifies them).

use serde::{Deserialize, Serialize};
use trygg_analytics::counts::{area_counts, CountsQuery, GroupBy};
use trygg_analytics::survey::{
    incident_rates, survey_changes, survey_indicators, survey_vs_incidents, AreaGrouping,
    Indicator, ShareChange, ShareEstimate, SurveyIncidentComparison, SurveyQuery, SurveyResponse,
};

use crate::disclosure::Count;
use crate::encode::{Table, Tabular};
use crate::error::{Field, QueryError};
use crate::jobs::{area_layer, Job, Options};
use crate::params::{period, DisclosureParams};
use crate::snapshot::{DataInfo, Snapshot};

/// Survey indicators.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyRequest {
    /// `stadsdel` (as answered, default) or a division of the stadsdelar.
    pub layer: Option<String>,
    /// Only these rounds.
    pub round: Vec<String>,
    /// Also the change between two rounds, `FROM..TO` (e.g. `2023..2026`).
    pub change: Option<String>,
    /// Also compare a round with incident rates of a period: `ROUND:PERIOD`.
    pub vs_incidents: Option<String>,
    /// The attribute holding the answer (default `otrygg_kvall`).
    pub answer_field: Option<String>,
    /// The attribute holding the design weight (default `vikt`).
    pub weight_field: Option<String>,
    /// The attribute holding the round (default `omgang`).
    pub round_field: Option<String>,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// One published estimate.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Estimate {
    /// The round.
    pub round: String,
    /// The area (or `total`).
    pub area: String,
    /// Respondents in the base.
    pub n: Count,
    /// Kish's effective n.
    pub n_eff: Option<f64>,
    /// Design effect.
    pub deff: Option<f64>,
    /// The weighted share.
    pub share: Option<f64>,
    /// 95 % interval, low.
    pub ci_low: Option<f64>,
    /// 95 % interval, high.
    pub ci_high: Option<f64>,
}

/// Survey indicators as published.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SurveyResult {
    /// The data.
    pub data: DataInfo,
    /// The request as given.
    pub request: SurveyRequest,
    /// The indicator.
    #[schemars(with = "serde_json::Value")]
    pub indicator: Indicator,
    /// How areas were grouped.
    pub grouping: String,
    /// The interval method.
    pub interval: &'static str,
    /// The suppression threshold applied.
    pub suppression: Option<u64>,
    /// Per area and round, then the totals per round.
    pub estimates: Vec<Estimate>,
    /// Change between two rounds, when asked for (absent under suppression for
    /// areas with a suppressed estimate).
    #[schemars(with = "serde_json::Value")]
    pub changes: Option<Vec<ShareChange>>,
    /// Comparison with incident rates, when asked for.
    #[schemars(with = "serde_json::Value")]
    pub vs_incidents: Option<SurveyIncidentComparison>,
    /// Respondent rows without a round, area or valid weight.
    pub responses_without_round_area_or_weight: u64,
}

fn publish(e: &ShareEstimate, threshold: Option<u64>) -> Estimate {
    let hidden = threshold.is_some_and(|t| e.n < t);
    let keep = |v: Option<f64>| if hidden { None } else { v };
    Estimate {
        round: e.round.clone(),
        area: e.area.clone(),
        n: match (hidden, threshold) {
            (true, Some(t)) => Count::Suppressed(t),
            _ => Count::Value(e.n),
        },
        n_eff: keep(Some(e.n_eff)),
        deff: keep(e.deff),
        share: keep(e.share),
        ci_low: keep(e.ci_low),
        ci_high: keep(e.ci_high),
    }
}

/// A validated survey request: threshold, change rounds, comparison.
pub type ValidSurvey = (
    Option<u64>,
    Option<(String, String)>,
    Option<(String, trygg_analytics::window::Period)>,
);

impl Job for SurveyRequest {
    const NAME: &'static str = "survey";
    type Valid = ValidSurvey;
    type Output = SurveyResult;

    fn validate(&self) -> Result<ValidSurvey, QueryError> {
        let threshold = self.disclosure.threshold()?;
        let change = self
            .change
            .as_deref()
            .map(|c| {
                c.split_once("..")
                    .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
                    .ok_or_else(|| {
                        QueryError::invalid(
                            "change",
                            format!("'{c}' is not FROM..TO, e.g. 2023..2026"),
                        )
                    })
            })
            .transpose()?;
        let vs = self
            .vs_incidents
            .as_deref()
            .map(|v| {
                let (round, p) = v.split_once(':').ok_or_else(|| {
                    QueryError::invalid(
                        "vs_incidents",
                        format!("'{v}' is not ROUND:PERIOD, e.g. 2026:2026"),
                    )
                })?;
                Ok::<_, QueryError>((round.trim().to_owned(), period("vs_incidents", p)?))
            })
            .transpose()?;
        Ok((threshold, change, vs))
    }

    fn execute(
        &self,
        (threshold, change, vs): ValidSurvey,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<SurveyResult, QueryError> {
        let answer_field = self.answer_field.as_deref().unwrap_or("otrygg_kvall");
        let weight_field = self.weight_field.as_deref().unwrap_or("vikt");
        let round_field = self.round_field.as_deref().unwrap_or("omgang");
        let layer = self.layer.as_deref().unwrap_or("stadsdel");

        let mut responses = Vec::new();
        let survey = snap.survey()?;
        let mut unreadable = survey.unreadable;
        for (stadsdel, attrs) in &survey.rows {
            let text = |key: &str| {
                attrs
                    .get(key)
                    .and_then(serde_json::Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            // Ingest validates weights; a store from before that rule may still
            // hold bad ones, which count as unreadable.
            let weight = text(weight_field)
                .and_then(trygg_model::parse_decimal)
                .filter(|w| *w >= 0.0);
            match (text(round_field), stadsdel.as_deref(), weight) {
                (Some(round), Some(area), Some(weight)) => responses.push(SurveyResponse {
                    round: round.to_owned(),
                    area: area.to_owned(),
                    weight,
                    answer: text(answer_field).unwrap_or_default().to_owned(),
                    age_group: text("aldersgrupp").map(str::to_owned),
                    gender: text("kon").map(str::to_owned),
                }),
                _ => unreadable += 1,
            }
        }
        if responses.is_empty() {
            return Err(QueryError::not_found(
                "round_field",
                format!("the store holds no survey responses with {round_field}, {weight_field} and {answer_field}"),
            ));
        }
        let grouping = match layer {
            "stadsdel" => AreaGrouping::AsGiven,
            division => AreaGrouping::division(snap.stadsdelar()?, division).field("layer")?,
        };
        let query = SurveyQuery {
            indicator: Indicator::unsafe_evening(),
            grouping,
            rounds: (!self.round.is_empty()).then(|| self.round.clone()),
            age_groups: None,
            genders: None,
        };
        let indicators = survey_indicators(&responses, &query).field("weight_field")?;
        let small = |area: &str, round: &str| {
            threshold.is_some_and(|t| {
                indicators
                    .estimates
                    .iter()
                    .any(|e| e.area == area && e.round == round && e.n < t)
            })
        };
        let changes = change.map(|(from, to)| {
            survey_changes(&indicators, &from, &to)
                .into_iter()
                .filter(|c| !(small(&c.area, &c.from_round) || small(&c.area, &c.to_round)))
                .collect()
        });
        let comparison = match vs {
            Some((round, p)) => {
                let (layer_areas, _) = area_layer(snap, layer, "layer", &opts.budget)?;
                let counts = area_counts(
                    snap.view(),
                    &layer_areas,
                    snap.population(),
                    &CountsQuery {
                        period: p,
                        previous_periods: 1,
                        selection: trygg_analytics::selection::Selection::all(),
                        group_by: GroupBy::default(),
                    },
                )
                .field("vs_incidents")?;
                let mut cmp = survey_vs_incidents(&indicators, &round, &incident_rates(&counts));
                if let Some(t) = threshold {
                    // Rates of small counts and shares of few respondents go.
                    for a in &mut cmp.areas {
                        let few = counts
                            .areas
                            .iter()
                            .any(|s| (s.code == a.area || s.name == a.area) && s.stat.count < t);
                        if few {
                            a.rate_per_1000 = None;
                        }
                        if small(&a.area, &round) {
                            a.share = None;
                            a.ci_low = None;
                            a.ci_high = None;
                        }
                    }
                }
                Some(cmp)
            }
            None => None,
        };
        Ok(SurveyResult {
            data: snap.data().clone(),
            request: self.clone(),
            indicator: indicators.indicator.clone(),
            grouping: indicators.grouping.clone(),
            interval: indicators.interval,
            suppression: threshold,
            estimates: indicators
                .estimates
                .iter()
                .chain(&indicators.totals)
                .map(|e| publish(e, threshold))
                .collect(),
            changes,
            vs_incidents: comparison,
            responses_without_round_area_or_weight: unreadable,
        })
    }
}

impl Tabular for SurveyResult {
    fn table(&self) -> Table {
        Table {
            columns: vec![
                "round", "area", "n", "n_eff", "deff", "share", "ci_low", "ci_high",
            ],
            rows: self
                .estimates
                .iter()
                .map(|e| {
                    vec![
                        e.round.as_str().into(),
                        e.area.as_str().into(),
                        e.n.into(),
                        e.n_eff.into(),
                        e.deff.into(),
                        e.share.into(),
                        e.ci_low.into(),
                        e.ci_high.into(),
                    ]
                })
                .collect(),
            geometry: None,
        }
    }
}
