//! Keys of the store's `trygg_meta` table that several crates read or write.

/// "true" when the store holds synthetic (demo) data; exports and reports label it.
pub const SYNTHETIC: &str = "synthetic";
/// A human-readable notice about the data (e.g. what makes it synthetic).
pub const NOTICE: &str = "notice";
/// The study municipality's name, matched against police `location.name`.
pub const MUNICIPALITY: &str = "municipality";
/// The data version: incremented by every committed change (see `Store::data_version`).
pub const DATA_VERSION: &str = "data_version";
/// The data version of the last change that removed events (a revert).
pub const REWRITTEN_VERSION: &str = "rewritten_version";
/// The demo generator's manifest (JSON), for stores built by `trygg demo`.
pub const DEMO_MANIFEST: &str = "demo_manifest";
