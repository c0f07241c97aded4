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

/// The key of the study extent, `minx,miny,maxx,maxy` in EPSG:3006.
pub const EXTENT: &str = "extent";

/// Reads the study extent's text (`minx,miny,maxx,maxy`).
pub fn parse_extent(text: &str) -> Option<trygg_model::Extent> {
    let parts: Vec<f64> = text
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    match parts.as_slice() {
        [min_x, min_y, max_x, max_y] => Some(trygg_model::Extent {
            min_x: *min_x,
            min_y: *min_y,
            max_x: *max_x,
            max_y: *max_y,
        }),
        _ => None,
    }
}
