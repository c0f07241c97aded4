//! API keys → roles. A key comes as `Authorization: Bearer KEY` or `X-Api-Key`;
//! it is hashed (SHA-256) and compared with every configured hash in constant
//! time, so neither a key nor how much of it matched leaks through timing.

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;
use trygg_query::Role;

use crate::config::{key_hash, Config};
use crate::error::ApiError;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's name, or `anonymous`.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The municipality the key is limited to (`None`: the whole store).
    pub municipality: Option<String>,
}

impl Caller {
    /// Refuses unless the caller has `role`'s rights.
    /// Administration covers the whole store, so it also needs a key that is
    /// not limited to a municipality.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if !self.role.can(role) {
            return Err(ApiError::forbidden(format!(
                "this needs the {} role; your key is a {}",
                role.as_str(),
                self.role.as_str()
            )));
        }
        if role == Role::Admin {
            self.require_whole_store()?;
        }
        Ok(())
    }

    /// Refuses a key limited to a municipality, for what covers the whole
    /// store (administration, the weekly reports).
    pub fn require_whole_store(&self) -> Result<(), ApiError> {
        match &self.municipality {
            None => Ok(()),
            Some(m) => Err(ApiError::forbidden(format!(
                "your key is limited to municipality '{m}'; this covers the whole store"
            ))),
        }
    }
}

/// The caller of a request.
pub fn caller(config: &Config, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let presented = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned)
        });
    let Some(key) = presented else {
        return match config.anonymous() {
            Some(role) => Ok(Caller {
                name: "anonymous".into(),
                role,
                municipality: None,
            }),
            None => Err(ApiError::unauthorized(
                "an API key is required (Authorization: Bearer KEY or X-Api-Key)",
            )),
        };
    };
    let hash = key_hash(key.trim());
    let mut found: Option<&crate::config::ApiKey> = None;
    for k in &config.keys {
        let same: bool = hash
            .as_bytes()
            .ct_eq(k.sha256.to_ascii_lowercase().as_bytes())
            .into();
        if same && found.is_none() {
            found = Some(k);
        }
    }
    found
        .map(|k| Caller {
            name: k.name.clone(),
            role: k.role,
            municipality: k.municipality.clone(),
        })
        .ok_or_else(|| ApiError::unauthorized("unknown API key"))
}
