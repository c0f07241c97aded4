//! The static map: the week's hot cells over our own basemap data (water, land,
//! area outlines), the top hotspots numbered as in the table, the new,
//! consecutive and intensifying emerging hotspots outlined, a legend and a
//! scale bar. Drawn as SVG in SWEREF 99 TM metres (a conformal projection, so
//! no reprojection is needed at city scale) and rendered to PNG by resvg with
//! the charts' embedded font.

use std::fmt::Write as _;

use geo::{BoundingRect, Simplify};
use geo_types::MultiPolygon;
use trygg_charts::{esc, FONT_FAMILY};
use trygg_query::charts::Lang;

use crate::text::{class, pick};
use crate::Report;

/// Map width in pixels (PNG at twice this).
pub const WIDTH: f64 = 900.0;
const LEGEND: f64 = 200.0;
const WATER: &str = "#cfe2f3";
const LAND: &str = "#f6f3ec";
const OUTLINE: &str = "#8c8c8c";
/// Hot classes 1..=3 (90, 95, 99 %).
const HOT: [&str; 3] = ["#fddbc7", "#ef8a62", "#b2182b"];
const EMERGING: &str = "#5e3c99";

/// The map as SVG.
pub fn svg(report: &Report) -> String {
    let r = &report.numbers;
    let lang = report.lang;
    let areas = &report.map.areas;
    let bounds = areas
        .iter()
        .filter_map(BoundingRect::bounding_rect)
        .reduce(|a, b| {
            geo_types::Rect::new(
                (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
                (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
            )
        });
    let Some(bounds) = bounds else {
        return String::new();
    };
    let map_w = WIDTH - LEGEND;
    let k = map_w / bounds.width().max(1.0);
    let height = (bounds.height() * k).max(300.0);
    let px = |x: f64| (x - bounds.min().x) * k;
    let py = |y: f64| (bounds.max().y - y) * k;
    let path = |g: &MultiPolygon<f64>| {
        let g = g.simplify(0.8 / k);
        let mut d = String::new();
        for poly in &g.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for (i, c) in ring.coords().enumerate() {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1}",
                        if i == 0 { "M" } else { "L" },
                        px(c.x),
                        py(c.y)
                    );
                }
                d.push('Z');
            }
        }
        d
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="{FONT_FAMILY}">"#
    );
    let _ = write!(
        s,
        r#"<rect width="{map_w}" height="{height:.0}" fill="{WATER}"/>"#
    );
    // Land: the store's land layer where there is one, else the areas whole.
    let land = if report.map.land.is_empty() {
        areas
    } else {
        &report.map.land
    };
    for a in land {
        let _ = write!(
            s,
            r#"<path d="{}" fill="{LAND}" fill-rule="evenodd"/>"#,
            path(a)
        );
    }
    let half = r.grid_m / 2.0 * k;
    for c in r.hotspots.cells.iter().filter(|c| c.class > 0) {
        let fill = HOT[(c.class.clamp(1, 3) - 1) as usize];
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}" fill-opacity="0.9"/>"#,
            px(c.x) - half,
            py(c.y) - half,
            2.0 * half,
            2.0 * half
        );
    }
    for a in areas {
        let _ = write!(
            s,
            r#"<path d="{}" fill="none" stroke="{OUTLINE}" stroke-width="0.6"/>"#,
            path(a)
        );
    }
    for c in r.emerging_cells.iter().filter(|c| {
        matches!(
            c.cell.pattern,
            "New Hot Spot" | "Consecutive Hot Spot" | "Intensifying Hot Spot"
        )
    }) {
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="{EMERGING}" stroke-width="2.2"/>"#,
            px(c.cell.x) - half,
            py(c.cell.y) - half,
            2.0 * half,
            2.0 * half
        );
    }
    for (i, c) in r.top_hotspots.iter().enumerate() {
        let (x, y) = (px(c.cell.x), py(c.cell.y));
        let _ = write!(
            s,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="8" fill="#ffffff" stroke="#000000" stroke-width="1"/><text x="{x:.1}" y="{:.1}" font-size="10" font-weight="700" text-anchor="middle">{}</text>"##,
            y + 3.5,
            i + 1
        );
    }
    // Legend.
    let mut legend = Legend {
        s,
        x: map_w + 12.0,
        y: 24.0,
    };
    legend.line(&crate::text::week_name(r, lang), 14.0, true);
    legend.line(&format!("{} – {}", r.from, r.to), 11.0, false);
    legend.y += 6.0;
    legend.line(
        &format!("Gi* ({} m, FDR)", crate::text::num(r.grid_m, 0, lang)),
        11.0,
        true,
    );
    for c in (1..=3).rev() {
        let swatch = format!(r#"width="14" height="14" fill="{}""#, HOT[(c - 1) as usize]);
        legend.swatch(&swatch, &class(c, lang));
    }
    let outlined =
        format!(r#"width="14" height="14" fill="none" stroke="{EMERGING}" stroke-width="2.2""#);
    legend.swatch(
        &outlined,
        pick(lang, "ny/intensifierande", "new/intensifying"),
    );
    let (x, y) = (legend.x, legend.y);
    let _ = write!(
        legend.s,
        r##"<circle cx="{:.1}" cy="{:.1}" r="7" fill="#ffffff" stroke="#000000"/><text x="{:.1}" y="{y:.1}" font-size="11">{}</text>"##,
        x + 7.0,
        y - 4.0,
        x + 20.0,
        esc(pick(lang, "rang i tabellen", "rank in the table"))
    );
    legend.y += 28.0;
    // A 2 km scale bar.
    let (x, y) = (legend.x, legend.y);
    let _ = write!(
        legend.s,
        r##"<rect x="{x}" y="{y:.1}" width="{:.1}" height="4" fill="#000000"/><text x="{x}" y="{:.1}" font-size="11">2 km</text>"##,
        2_000.0 * k,
        y + 18.0
    );
    legend.y += 40.0;
    let source = match lang {
        Lang::Sv => {
            "Karta: Trygg; områden och vatten: Stockholms stad, Stadskarta (CC0). SWEREF 99 TM."
        }
        Lang::En => {
            "Map: Trygg; areas and water: City of Stockholm, Stadskarta (CC0). SWEREF 99 TM."
        }
    };
    for part in trygg_charts::wrap(source, 9.0, LEGEND - 24.0) {
        legend.line(&part, 9.0, false);
    }
    if r.data.synthetic {
        legend.y += 6.0;
        legend.line(
            pick(lang, "SYNTETISKA DEMODATA", "SYNTHETIC DEMO DATA"),
            11.0,
            true,
        );
    }
    let mut s = legend.s;
    s.push_str("</svg>");
    s
}

/// The legend being written: the SVG so far and the next line's baseline.
struct Legend {
    s: String,
    x: f64,
    y: f64,
}

impl Legend {
    fn line(&mut self, text: &str, size: f64, bold: bool) {
        let _ = write!(
            self.s,
            r#"<text x="{}" y="{:.1}" font-size="{size}"{}>{}</text>"#,
            self.x,
            self.y,
            if bold { r#" font-weight="700""# } else { "" },
            esc(text)
        );
        self.y += size + 6.0;
    }

    /// A 14 px square with `attributes`, and its label.
    fn swatch(&mut self, attributes: &str, label: &str) {
        let _ = write!(
            self.s,
            r#"<rect x="{}" y="{:.1}" {attributes}/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
            self.x,
            self.y - 11.0,
            self.x + 20.0,
            self.y,
            esc(label)
        );
        self.y += 20.0;
    }
}

/// The map as PNG (twice the SVG's size, for print).
pub fn render(report: &Report) -> Result<Vec<u8>, String> {
    let svg = svg(report);
    if svg.is_empty() {
        return Err("the area layer has no geometry".into());
    }
    trygg_charts::png(&svg, 2.0).map_err(|e| e.to_string())
}
