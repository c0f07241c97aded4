//! Coordinate reference systems Trygg accepts, and transforms between them and the
//! store's metric CRS (EPSG:3006, SWEREF 99 TM), done by PROJ through the `proj` crate.
//!
//! Axis order is always easting/longitude first: PROJ's EPSG:4326 latitude-first
//! order is normalised away, so `(x, y)` means `(lon, lat)` for geographic CRSs.

use proj::Proj;

/// The CRSs accepted by name, with their EPSG codes.
pub const KNOWN: [(u32, &str); 5] = [
    (4326, "WGS 84 (longitude, latitude)"),
    (3006, "SWEREF 99 TM"),
    (3011, "SWEREF 99 18 00 (Stockholm)"),
    (3021, "RT90 2.5 gon V"),
    (3857, "WGS 84 / Pseudo-Mercator"),
];

/// A CRS error: an unknown name, or PROJ refusing a definition or a point.
#[derive(Debug, thiserror::Error)]
pub enum CrsError {
    /// The CRS is not one Trygg knows.
    #[error("unknown CRS '{given}': use one of {}", known_list())]
    Unknown {
        /// What the user wrote.
        given: String,
    },
    /// PROJ could not build the transformation.
    #[error("PROJ cannot transform from {from} to {to}: {reason}")]
    Create {
        /// Source CRS.
        from: String,
        /// Target CRS.
        to: String,
        /// PROJ's message.
        reason: String,
    },
    /// PROJ could not transform a point.
    #[error("cannot transform ({x}, {y}): {reason}")]
    Point {
        /// First coordinate.
        x: f64,
        /// Second coordinate.
        y: f64,
        /// PROJ's message.
        reason: String,
    },
}

fn known_list() -> String {
    KNOWN
        .iter()
        .map(|(code, name)| format!("EPSG:{code} ({name})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A coordinate reference system: a known EPSG code or a WKT definition (as in a
/// Shapefile's `.prj`).
#[derive(Debug, Clone, PartialEq)]
pub enum Crs {
    /// One of [`KNOWN`].
    Epsg(u32),
    /// A WKT (OGC or ESRI flavour) definition that PROJ understands.
    Wkt(String),
}

impl Crs {
    /// The store's CRS, EPSG:3006.
    pub const STORE: Crs = Crs::Epsg(3006);
    /// WGS 84 longitude/latitude.
    pub const WGS84: Crs = Crs::Epsg(4326);

    /// Parses "EPSG:3006", "epsg:3006", "3006", "CRS84", "WGS84" or an OGC URN such
    /// as "urn:ogc:def:crs:EPSG::3006"; only [`KNOWN`] codes are accepted.
    pub fn parse(text: &str) -> Result<Crs, CrsError> {
        let t = text.trim();
        let upper = t.to_ascii_uppercase();
        if matches!(
            upper.as_str(),
            "CRS84" | "WGS84" | "URN:OGC:DEF:CRS:OGC:1.3:CRS84" | "OGC:CRS84"
        ) {
            return Ok(Crs::WGS84);
        }
        let code_text = upper
            .rsplit(':')
            .next()
            .filter(|_| upper.starts_with("EPSG:") || upper.starts_with("URN:OGC:DEF:CRS:EPSG:"))
            .unwrap_or(&upper);
        code_text
            .parse::<u32>()
            .ok()
            .filter(|code| KNOWN.iter().any(|(known, _)| known == code))
            .map(Crs::Epsg)
            .ok_or_else(|| CrsError::Unknown {
                given: t.to_owned(),
            })
    }

    fn definition(&self) -> String {
        match self {
            Crs::Epsg(code) => format!("EPSG:{code}"),
            Crs::Wkt(wkt) => wkt.clone(),
        }
    }

    /// A short label for messages ("EPSG:3011", or "WKT ..." abbreviated).
    pub fn label(&self) -> String {
        match self {
            Crs::Epsg(code) => format!("EPSG:{code}"),
            Crs::Wkt(wkt) => format!("WKT {}", wkt.chars().take(40).collect::<String>()),
        }
    }
}

/// A ready transformation from one CRS to another (x/lon first on both sides).
///
/// Identity transformations skip PROJ entirely, which keeps ingest of SWEREF 99 TM
/// files (the police's and Brå's own CRS) free of per-point PROJ calls.
pub struct Transformer {
    proj: Option<Proj>,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer")
            .field("identity", &self.proj.is_none())
            .finish()
    }
}

impl Transformer {
    /// Builds the transformation `from` → `to`.
    pub fn new(from: &Crs, to: &Crs) -> Result<Transformer, CrsError> {
        if from == to {
            return Ok(Transformer { proj: None });
        }
        let proj =
            Proj::new_known_crs(&from.definition(), &to.definition(), None).map_err(|e| {
                CrsError::Create {
                    from: from.label(),
                    to: to.label(),
                    reason: e.to_string(),
                }
            })?;
        Ok(Transformer { proj: Some(proj) })
    }

    /// Transforms any accepted CRS to the store's (EPSG:3006).
    pub fn to_store(from: &Crs) -> Result<Transformer, CrsError> {
        Transformer::new(from, &Crs::STORE)
    }

    /// Transforms the store's CRS to WGS 84 longitude/latitude.
    pub fn store_to_wgs84() -> Result<Transformer, CrsError> {
        Transformer::new(&Crs::STORE, &Crs::WGS84)
    }

    /// Transforms one point; non-finite results are errors.
    pub fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        let Some(proj) = &self.proj else {
            return Ok((x, y));
        };
        let (tx, ty) = proj.convert((x, y)).map_err(|e| CrsError::Point {
            x,
            y,
            reason: e.to_string(),
        })?;
        if tx.is_finite() && ty.is_finite() {
            Ok((tx, ty))
        } else {
            Err(CrsError::Point {
                x,
                y,
                reason: "the result is not finite".to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from the build notes: PROJ 9.6.2, PROJ 9.1.1, proj4rs,
    // pyproj and GDAL agree on them to 1e-6 m.
    const LON: f64 = 18.0686;
    const LAT: f64 = 59.3293;

    #[test]
    fn wgs84_to_sweref_tm_and_stockholm_local_match_references() {
        let (e, n) = Transformer::to_store(&Crs::WGS84)
            .and_then(|t| t.convert(LON, LAT))
            .expect("transform");
        assert!(
            (e - 674_571.866_449).abs() < 1e-5 && (n - 6_580_743.008_331).abs() < 1e-5,
            "{e} {n}"
        );
        let t3011 = Transformer::new(&Crs::WGS84, &Crs::Epsg(3011)).expect("3011");
        let (e, n) = t3011.convert(LON, LAT).expect("transform");
        assert!(
            (e - 153_905.092_804).abs() < 1e-5 && (n - 6_579_354.448_319).abs() < 1e-5,
            "{e} {n}"
        );
    }

    #[test]
    fn round_trip_through_every_known_crs() {
        let to_wgs = Transformer::store_to_wgs84().expect("inverse");
        for (code, _) in KNOWN {
            let crs = Crs::Epsg(code);
            let there = Transformer::new(&Crs::WGS84, &crs).expect("forward");
            let back = Transformer::to_store(&crs).expect("to store");
            let (a, b) = there.convert(LON, LAT).expect("forward point");
            let (e, n) = back.convert(a, b).expect("back point");
            let (lon, lat) = to_wgs.convert(e, n).expect("to wgs84");
            assert!(
                (lon - LON).abs() < 1e-7 && (lat - LAT).abs() < 1e-7,
                "EPSG:{code}: {lon} {lat}"
            );
        }
    }

    #[test]
    fn parses_names_and_rejects_unknown_codes() {
        for text in [
            "EPSG:3006",
            "epsg:3006",
            "3006",
            " urn:ogc:def:crs:EPSG::3006 ",
        ] {
            assert_eq!(Crs::parse(text).expect(text), Crs::Epsg(3006));
        }
        assert_eq!(
            Crs::parse("urn:ogc:def:crs:OGC:1.3:CRS84").expect("crs84"),
            Crs::WGS84
        );
        let err = Crs::parse("EPSG:2400").unwrap_err().to_string();
        assert!(
            err.contains("unknown CRS 'EPSG:2400'") && err.contains("EPSG:3021"),
            "{err}"
        );
        assert!(Crs::parse("SWEREF").is_err());
    }

    #[test]
    fn identity_needs_no_proj_and_bad_wkt_is_an_error() {
        let id = Transformer::to_store(&Crs::STORE).expect("identity");
        assert_eq!(id.convert(1.5, 2.5).expect("identity point"), (1.5, 2.5));
        assert!(Transformer::to_store(&Crs::Wkt("PROJCS[nonsense".into())).is_err());
    }
}
