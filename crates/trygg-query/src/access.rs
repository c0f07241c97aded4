//! Roles and what they may see, as rules of the query layer (the server, the
//! report and the UI apply the same [`Policy`], so a viewer's table, tile, chart
//! and export give the same protection).
//!
//! - **viewer**: aggregates only, always suppressed at the policy's threshold (a
//!   lower threshold asked for is raised to it; a higher one is kept);
//! - **analyst**: aggregates as asked, points and exports;
//! - **admin**: what an analyst may, plus ingest, batches and the audit log.
//!
//! Sensitive categories (sexual offences and, by their source texts, violence in
//! close relationships) never appear as points for anyone: [`Sensitive`] is
//! applied to every point-level request.

use serde::{Deserialize, Serialize};
use trygg_model::names::name_key;
use trygg_model::NormCategory;
use trygg_store::EventView;

use crate::error::QueryError;
use crate::params::DisclosureParams;

/// A requester's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Aggregates only, suppressed.
    Viewer,
    /// Points and exports.
    Analyst,
    /// Ingest and administration.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Whether this role includes `other`'s rights.
    pub fn can(self, other: Role) -> bool {
        self >= other
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role '{other}' (viewer, analyst, admin)")),
        }
    }
}

/// Categories that never appear as points.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sensitive {
    /// Normalised categories (e.g. `sexual`).
    pub categories: Vec<String>,
    /// Texts which, found in a source category (compared as name keys: case,
    /// accents' composition and spacing ignored), make it sensitive.
    pub category_texts: Vec<String>,
}

impl Default for Sensitive {
    fn default() -> Sensitive {
        Sensitive {
            categories: vec!["sexual".into()],
            category_texts: [
                "bekant med offret",
                "fridskränkning",
                "kvinnofrid",
                "nära relation",
                "våld i nära",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// The hidden categories of one view, compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hidden {
    categories: Vec<NormCategory>,
    texts: Vec<String>,
}

impl Sensitive {
    /// Validated (the categories must exist).
    pub fn compile(&self) -> Result<Hidden, QueryError> {
        Ok(Hidden {
            categories: self
                .categories
                .iter()
                .map(|c| {
                    c.parse::<NormCategory>()
                        .map_err(|e| QueryError::invalid("sensitive.categories", e))
                })
                .collect::<Result<_, _>>()?,
            texts: self.category_texts.iter().map(|t| name_key(t)).collect(),
        })
    }
}

impl Hidden {
    /// Per category code of `view`: whether events of it are hidden as points.
    pub fn codes(&self, view: &EventView) -> Vec<bool> {
        view.category_names()
            .iter()
            .map(|text| {
                let key = name_key(text);
                self.texts.iter().any(|t| key.contains(t.as_str()))
            })
            .collect()
    }

    /// Whether the normalised category is hidden.
    pub fn hides_norm(&self, c: NormCategory) -> bool {
        self.categories.contains(&c)
    }
}

/// The access rules of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// The viewers' suppression threshold (default 5).
    pub viewer_threshold: u64,
    /// Categories never shown as points.
    pub sensitive: Sensitive,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            viewer_threshold: 5,
            sensitive: Sensitive::default(),
        }
    }
}

/// A request with a suppression rule a role may force.
pub trait Protected {
    /// The request's suppression.
    fn disclosure_mut(&mut self) -> &mut DisclosureParams;
}

impl Policy {
    /// Applies the role's suppression to an aggregate request.
    pub fn protect<R: Protected>(&self, role: Role, request: &mut R) {
        if role == Role::Viewer {
            let d = request.disclosure_mut();
            d.suppress = Some(d.suppress.unwrap_or(0).max(self.viewer_threshold.max(1)));
        }
    }
}

macro_rules! protected {
    ($($t:ty),*) => {
        $(impl Protected for $t {
            fn disclosure_mut(&mut self) -> &mut DisclosureParams {
                &mut self.disclosure
            }
        })*
    };
}

protected!(
    crate::CountsRequest,
    crate::TableRequest,
    crate::PolygonRequest,
    crate::HotspotsRequest,
    crate::EmergingRequest,
    crate::ChangeRequest,
    crate::SurveyRequest,
    crate::MatrixRequest,
    crate::TrendRequest,
    crate::WeeklyRequest,
    crate::jobs::tiles::TileRequest
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_are_always_suppressed_at_least_at_the_threshold() {
        let policy = Policy::default();
        let mut r = crate::CountsRequest::default();
        policy.protect(Role::Viewer, &mut r);
        assert_eq!(r.disclosure.suppress, Some(5));
        r.disclosure.suppress = Some(2);
        policy.protect(Role::Viewer, &mut r);
        assert_eq!(r.disclosure.suppress, Some(5));
        r.disclosure.suppress = Some(10);
        policy.protect(Role::Viewer, &mut r);
        assert_eq!(r.disclosure.suppress, Some(10));
        let mut a = crate::CountsRequest::default();
        policy.protect(Role::Analyst, &mut a);
        assert_eq!(a.disclosure.suppress, None);
    }

    #[test]
    fn sensitive_texts_match_as_name_keys() {
        let hidden = Sensitive::default().compile().expect("valid");
        assert!(hidden.hides_norm(NormCategory::Sexual));
        assert!(!hidden.hides_norm(NormCategory::Theft));
        let key = name_key("Misshandel inomhus, mot kvinna,  BEKANT med offret");
        assert!(hidden.texts.iter().any(|t| key.contains(t.as_str())));
        assert!(Sensitive {
            categories: vec!["nonsense".into()],
            category_texts: vec![],
        }
        .compile()
        .is_err());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.can(Role::Analyst));
        assert!(Role::Analyst.can(Role::Viewer));
        assert!(!Role::Viewer.can(Role::Analyst));
        assert_eq!("Admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }
}
