//! Server-side charts: a [`Chart`] (already in the reader's language) written as
//! SVG here, and rendered to PNG by resvg with the embedded DejaVu Sans subset
//! (`data/fonts/`): no system font is ever looked up, so a chart looks the same
//! on every machine. The SVG carries the same font as an `@font-face` data URI,
//! so a browser shows it as the PNG shows it, and its labels stay text.
//!
//! Colours are colour-blind safe: Okabe & Ito's qualitative palette for series
//! and bars, viridis for the hour × weekday matrix, and blue/vermillion for
//! cold/hot classes.
//!
//! Five kinds cover the product's charts: a series with its trend line, ranked
//! horizontal bars with an optional reference line (category breakdown, area
//! comparison, hotspot-change summary), an hour × weekday matrix, and estimates
//! with confidence intervals per round.

use std::fmt::Write as _;

/// The regular font (DejaVu Sans, Latin subset; licence in `data/fonts/`).
pub const FONT_REGULAR: &[u8] = include_bytes!("../../../data/fonts/DejaVuSans-subset.ttf");
/// The bold font.
pub const FONT_BOLD: &[u8] = include_bytes!("../../../data/fonts/DejaVuSans-Bold-subset.ttf");
/// The family name both fonts carry.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// Okabe & Ito's colour-blind-safe palette (black last).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// Hot classes (90/95/99 %) and cold ones, light to strong.
pub const HOT: [&str; 3] = ["#f4a582", "#e66f3a", "#b2182b"];
/// Cold classes, light to strong.
pub const COLD: [&str; 3] = ["#92c5de", "#4393c3", "#2166ac"];

/// A chart error.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// resvg could not read the SVG written here (a bug) or render it.
    #[error("rendering the chart: {0}")]
    Render(String),
}

/// A chart, its texts already in the reader's language.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The title.
    pub title: String,
    /// Source, period, filters and method, under the chart.
    pub caption: String,
    /// What is drawn.
    pub body: Body,
}

/// A value that may be suppressed: `Err(text)` is drawn as its text (e.g. "<5").
pub type Shown = Result<f64, String>;

/// An estimate with its interval: (estimate, low, high).
pub type Estimate = (f64, f64, f64);

/// A named group of estimates, one per round (`None`: none published).
pub type Group = (String, Vec<Option<Estimate>>);

/// What a chart draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Values over periods, with an optional straight trend line
    /// (`intercept + slope · index`).
    Series {
        /// Period labels, in order.
        labels: Vec<String>,
        /// A value per period.
        values: Vec<Shown>,
        /// The trend line: (intercept, slope per period) and its legend text.
        trend: Option<(f64, f64, String)>,
        /// The y axis' name.
        y_label: String,
    },
    /// Ranked horizontal bars.
    Bars {
        /// A label per bar, top first.
        labels: Vec<String>,
        /// A value per bar.
        values: Vec<Shown>,
        /// A colour per bar (`None`: the palette's first).
        colours: Option<Vec<String>>,
        /// A vertical reference line: its value and legend text.
        reference: Option<(f64, String)>,
        /// The value axis' name.
        x_label: String,
    },
    /// A matrix of values (rows × columns), e.g. weekdays × hours.
    Matrix {
        /// Row labels.
        rows: Vec<String>,
        /// Column labels.
        columns: Vec<String>,
        /// Row by row.
        values: Vec<Vec<Shown>>,
        /// The colour scale's name.
        legend: String,
    },
    /// Estimates with intervals per round, a group (e.g. an area) each.
    Intervals {
        /// Rounds, in order.
        rounds: Vec<String>,
        /// Per group: its name and per round (estimate, low, high) or nothing.
        groups: Vec<Group>,
        /// The y axis' name.
        y_label: String,
        /// Values are shares (0..1) drawn as percentages.
        percent: bool,
    },
}

const WIDTH: f64 = 800.0;
const MARGIN: f64 = 24.0;

/// Text escaped for XML and HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Rough text width in DejaVu Sans (its average advance is about 0.6 em).
fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.6
}

/// Splits text into lines of at most `width` pixels at font `size`.
pub fn wrap(s: &str, size: f64, width: f64) -> Vec<String> {
    let per_line = ((width / (size * 0.6)).floor() as usize).max(10);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > per_line {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A number for an axis or a label: thousands grouped, few decimals.
pub fn number(v: f64, decimal_comma: bool) -> String {
    let decimals = if v.abs() >= 100.0 || v.fract() == 0.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            grouped.push(if decimal_comma { '\u{a0}' } else { ',' });
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && text.chars().any(|c| c != '0' && c != '.') {
        "−"
    } else {
        ""
    };
    match (frac.is_empty(), decimal_comma) {
        (true, _) => format!("{sign}{grouped}"),
        (false, true) => format!("{sign}{grouped},{frac}"),
        (false, false) => format!("{sign}{grouped}.{frac}"),
    }
}

/// "Nice" axis ticks from 0 (or below) to at least `max`.
fn ticks(min: f64, max: f64) -> Vec<f64> {
    let span = (max - min).max(1e-9);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag);
    let start = (min / step).floor() * step;
    let mut out = Vec::new();
    let mut t = start;
    while t <= max + step * 0.999 {
        out.push(t);
        t += step;
        if out.len() > 12 {
            break;
        }
    }
    out
}

/// Viridis at t in 0..=1 (five stops, linear between).
fn viridis(t: f64) -> String {
    const STOPS: [[f64; 3]; 5] = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let k = (t.floor() as usize).min(3);
    let f = t - k as f64;
    let c: Vec<u8> = (0..3)
        .map(|i| (STOPS[k][i] + f * (STOPS[k + 1][i] - STOPS[k][i])).round() as u8)
        .collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

struct Svg {
    out: String,
    height: f64,
}

impl Svg {
    fn text(&mut self, x: f64, y: f64, size: f64, anchor: &str, extra: &str, s: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}"{extra}>{}</text>"#,
            esc(s)
        );
    }

    fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), style: &str) {
        let _ = write!(
            self.out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = write!(
            self.out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"{extra}/>"#,
            w.max(0.0),
            h.max(0.0)
        );
    }
}

/// The plot area: left, top, right, bottom.
type Frame = (f64, f64, f64, f64);

impl Chart {
    /// The chart as SVG; with `embed_font` the font travels inside it (a page
    /// holding several charts can declare it once instead).
    pub fn svg(&self, embed_font: bool, decimal_comma: bool) -> String {
        let title_lines = wrap(&self.title, 18.0, WIDTH - 2.0 * MARGIN);
        let caption_lines = wrap(&self.caption, 11.0, WIDTH - 2.0 * MARGIN);
        let top = MARGIN + 22.0 * title_lines.len() as f64 + 8.0;
        let plot_height = match &self.body {
            Body::Bars { labels, .. } => (labels.len() as f64 * 24.0).clamp(120.0, 900.0),
            Body::Matrix { rows, .. } => rows.len() as f64 * 26.0 + 30.0,
            _ => 300.0,
        };
        let bottom = top + plot_height;
        let height = bottom + 56.0 + 14.0 * caption_lines.len() as f64 + MARGIN;
        let mut svg = Svg {
            out: String::new(),
            height,
        };
        let _ = write!(
            svg.out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="{FONT_FAMILY}" role="img" aria-label="{}">"#,
            esc(&self.title)
        );
        if embed_font {
            let _ = write!(
                svg.out,
                "<style>@font-face{{font-family:'{FONT_FAMILY}';font-weight:400;src:url(data:font/ttf;base64,{})}}@font-face{{font-family:'{FONT_FAMILY}';font-weight:700;src:url(data:font/ttf;base64,{})}}</style>",
                base64(FONT_REGULAR),
                base64(FONT_BOLD)
            );
        }
        let _ = write!(svg.out, "<title>{}</title>", esc(&self.title));
        svg.rect(0.0, 0.0, WIDTH, height, "#ffffff", "");
        for (k, line) in title_lines.iter().enumerate() {
            svg.text(
                MARGIN,
                MARGIN + 16.0 + 22.0 * k as f64,
                18.0,
                "start",
                r#" font-weight="700" class="title""#,
                line,
            );
        }
        let frame = (MARGIN + 70.0, top + 10.0, WIDTH - MARGIN - 10.0, bottom);
        match &self.body {
            Body::Series {
                labels,
                values,
                trend,
                y_label,
            } => series(
                &mut svg,
                frame,
                labels,
                values,
                trend.as_ref(),
                y_label,
                decimal_comma,
            ),
            Body::Bars {
                labels,
                values,
                colours,
                reference,
                x_label,
            } => bars(
                &mut svg,
                frame,
                labels,
                values,
                colours.as_deref(),
                reference.as_ref(),
                x_label,
                decimal_comma,
            ),
            Body::Matrix {
                rows,
                columns,
                values,
                legend,
            } => matrix(
                &mut svg,
                frame,
                rows,
                columns,
                values,
                legend,
                decimal_comma,
            ),
            Body::Intervals {
                rounds,
                groups,
                y_label,
                percent,
            } => intervals(
                &mut svg,
                frame,
                rounds,
                groups,
                y_label,
                *percent,
                decimal_comma,
            ),
        }
        let caption_top = bottom + 56.0;
        for (k, line) in caption_lines.iter().enumerate() {
            svg.text(
                MARGIN,
                caption_top + 14.0 * k as f64,
                11.0,
                "start",
                r##" fill="#444444" class="caption""##,
                line,
            );
        }
        debug_assert!(svg.height >= caption_top);
        svg.out.push_str("</svg>");
        svg.out
    }

    /// The chart as PNG, `scale` pixels per SVG unit (2 for sharp print).
    pub fn png(&self, scale: f32, decimal_comma: bool) -> Result<Vec<u8>, ChartError> {
        png(&self.svg(false, decimal_comma), scale)
    }
}

/// Any SVG written in [`FONT_FAMILY`] (a chart, a static map) as PNG, `scale`
/// pixels per SVG unit, with the embedded fonts and no system font.
pub fn png(svg: &str, scale: f32) -> Result<Vec<u8>, ChartError> {
    let mut opt = resvg::usvg::Options {
        font_family: FONT_FAMILY.to_owned(),
        ..resvg::usvg::Options::default()
    };
    opt.fontdb_mut().load_font_data(FONT_REGULAR.to_vec());
    opt.fontdb_mut().load_font_data(FONT_BOLD.to_vec());
    let tree =
        resvg::usvg::Tree::from_str(svg, &opt).map_err(|e| ChartError::Render(e.to_string()))?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    );
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| ChartError::Render(format!("no {w}×{h} canvas")))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ChartError::Render(e.to_string()))
}

/// Standard base64 (for data URIs: the font, an embedded image).
pub fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A y axis with grid lines over `frame`, mapping values `lo..hi`.
fn y_axis(
    svg: &mut Svg,
    (l, t, r, b): Frame,
    (lo, hi): (f64, f64),
    label: &str,
    fmt: &dyn Fn(f64) -> String,
) -> impl Fn(f64) -> f64 {
    let y = move |v: f64| b - (v - lo) / (hi - lo).max(1e-9) * (b - t);
    for tick in ticks(lo, hi) {
        if tick < lo - 1e-9 || tick > hi + 1e-9 {
            continue;
        }
        let ty = y(tick);
        svg.line((l, ty), (r, ty), r##"stroke="#dddddd" stroke-width="1""##);
        svg.text(
            l - 6.0,
            ty + 4.0,
            11.0,
            "end",
            r#" class="tick""#,
            &fmt(tick),
        );
    }
    svg.text(
        l - 60.0,
        (t + b) / 2.0,
        12.0,
        "middle",
        &format!(
            r#" transform="rotate(-90 {:.1} {:.1})""#,
            l - 60.0,
            (t + b) / 2.0
        ),
        label,
    );
    y
}

/// Period labels under a plot, thinned to fit.
fn x_labels(svg: &mut Svg, (l, _, r, b): Frame, labels: &[String], x: &dyn Fn(usize) -> f64) {
    let widest = labels
        .iter()
        .map(|s| text_width(s, 11.0))
        .fold(0.0, f64::max);
    let room = (r - l) / labels.len().max(1) as f64;
    let every = ((widest + 8.0) / room).ceil().max(1.0) as usize;
    for (k, s) in labels.iter().enumerate() {
        if k % every == 0 {
            svg.text(x(k), b + 16.0, 11.0, "middle", r#" class="x-label""#, s);
        }
    }
}

/// A legend entry: a swatch and its text, at (x, y).
fn legend(svg: &mut Svg, x: f64, y: f64, colour: &str, dashed: bool, text: &str) -> f64 {
    let dash = if dashed {
        r#" stroke-dasharray="6 4""#
    } else {
        ""
    };
    svg.line(
        (x, y - 4.0),
        (x + 22.0, y - 4.0),
        &format!(r#"stroke="{colour}" stroke-width="3"{dash}"#),
    );
    svg.text(x + 28.0, y, 11.0, "start", r#" class="legend""#, text);
    x + 28.0 + text_width(text, 11.0) + 18.0
}

fn series(
    svg: &mut Svg,
    frame: Frame,
    labels: &[String],
    values: &[Shown],
    trend: Option<&(f64, f64, String)>,
    y_label: &str,
    comma: bool,
) {
    let (l, _, r, b) = frame;
    let n = values.len().max(1);
    let known: Vec<f64> = values
        .iter()
        .filter_map(|v| v.as_ref().ok().copied())
        .collect();
    let mut hi = known.iter().copied().fold(0.0, f64::max);
    if let Some((a, s, _)) = trend {
        hi = hi.max(a + s * (n - 1) as f64).max(*a);
    }
    let hi = ticks(0.0, hi.max(1.0)).last().copied().unwrap_or(1.0);
    let y = y_axis(svg, frame, (0.0, hi), y_label, &|v| number(v, comma));
    let step = (r - l) / n as f64;
    let x = move |k: usize| l + step * (k as f64 + 0.5);
    svg.line((l, b), (r, b), r##"stroke="#333333" stroke-width="1""##);
    x_labels(svg, frame, labels, &x);
    // The line, broken at suppressed periods.
    let mut path = String::new();
    let mut pen_down = false;
    for (k, v) in values.iter().enumerate() {
        match v {
            Ok(v) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x(k),
                    y(*v)
                );
                pen_down = true;
            }
            Err(_) => pen_down = false,
        }
    }
    let _ = write!(
        svg.out,
        r#"<path d="{}" fill="none" stroke="{}" stroke-width="2.5" class="series"/>"#,
        path.trim_end(),
        PALETTE[0]
    );
    for (k, v) in values.iter().enumerate() {
        match v {
            Ok(v) => {
                let _ = write!(
                    svg.out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}" class="point"><title>{}: {}</title></circle>"#,
                    x(k),
                    y(*v),
                    PALETTE[0],
                    esc(&labels.get(k).cloned().unwrap_or_default()),
                    number(*v, comma)
                );
            }
            Err(text) => svg.text(
                x(k),
                b - 6.0,
                10.0,
                "middle",
                r##" fill="#666666" class="suppressed""##,
                text,
            ),
        }
    }
    let mut lx = l;
    lx = legend(svg, lx, b + 40.0, PALETTE[0], false, y_label);
    if let Some((a, s, text)) = trend {
        let _ = write!(
            svg.out,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2" stroke-dasharray="6 4" class="trend"/>"#,
            x(0),
            y(*a),
            x(n - 1),
            y(a + s * (n - 1) as f64),
            PALETTE[3]
        );
        legend(svg, lx, b + 40.0, PALETTE[3], true, text);
    }
}

#[allow(clippy::too_many_arguments)]
fn bars(
    svg: &mut Svg,
    (l, t, r, b): Frame,
    labels: &[String],
    values: &[Shown],
    colours: Option<&[String]>,
    reference: Option<&(f64, String)>,
    x_label: &str,
    comma: bool,
) {
    // Labels on the left take what they need, up to a third of the width.
    let label_w = labels
        .iter()
        .map(|s| text_width(s, 11.0))
        .fold(60.0, f64::max)
        .min((r - l) / 3.0 + 70.0);
    let l = l - 70.0 + label_w + 8.0;
    let r = r - 50.0;
    let known = values.iter().filter_map(|v| v.as_ref().ok().copied());
    let mut hi = known.fold(0.0, f64::max);
    if let Some((v, _)) = reference {
        hi = hi.max(*v);
    }
    let hi = ticks(0.0, hi.max(1.0)).last().copied().unwrap_or(1.0);
    let x = |v: f64| l + v / hi * (r - l);
    for tick in ticks(0.0, hi) {
        svg.line(
            (x(tick), t),
            (x(tick), b),
            r##"stroke="#dddddd" stroke-width="1""##,
        );
        svg.text(
            x(tick),
            b + 16.0,
            11.0,
            "middle",
            r#" class="tick""#,
            &number(tick, comma),
        );
    }
    svg.text((l + r) / 2.0, b + 34.0, 12.0, "middle", "", x_label);
    let n = labels.len().max(1);
    let row = (b - t) / n as f64;
    for (k, (label, value)) in labels.iter().zip(values).enumerate() {
        let cy = t + row * (k as f64 + 0.5);
        svg.text(
            l - 8.0,
            cy + 4.0,
            11.0,
            "end",
            r#" class="bar-label""#,
            label,
        );
        let colour = colours
            .and_then(|c| c.get(k))
            .map_or(PALETTE[0], String::as_str);
        match value {
            Ok(v) => {
                let _ = write!(
                    svg.out,
                    r#"<rect x="{l:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}" class="bar"><title>{}: {}</title></rect>"#,
                    cy - row * 0.35,
                    (x(*v) - l).max(0.0),
                    row * 0.7,
                    esc(label),
                    number(*v, comma)
                );
                svg.text(
                    x(*v) + 4.0,
                    cy + 4.0,
                    10.0,
                    "start",
                    r#" class="bar-value""#,
                    &number(*v, comma),
                );
            }
            Err(text) => {
                svg.rect(
                    l,
                    cy - row * 0.35,
                    3.0,
                    row * 0.7,
                    "#999999",
                    r#" class="bar suppressed""#,
                );
                svg.text(
                    l + 8.0,
                    cy + 4.0,
                    10.0,
                    "start",
                    r##" fill="#666666" class="bar-value""##,
                    text,
                );
            }
        }
    }
    svg.line((l, t), (l, b), r##"stroke="#333333" stroke-width="1""##);
    if let Some((v, text)) = reference {
        svg.line(
            (x(*v), t - 4.0),
            (x(*v), b),
            &format!(
                r#"stroke="{}" stroke-width="2" stroke-dasharray="6 4" class="reference""#,
                PALETTE[7]
            ),
        );
        legend(svg, l, b + 56.0 - 6.0, PALETTE[7], true, text);
    }
}

fn matrix(
    svg: &mut Svg,
    (l, t, r, b): Frame,
    rows: &[String],
    columns: &[String],
    values: &[Vec<Shown>],
    legend_text: &str,
    comma: bool,
) {
    let l = l - 20.0;
    let nc = columns.len().max(1);
    let nr = rows.len().max(1);
    let cw = (r - l) / nc as f64;
    let ch = (b - t - 30.0) / nr as f64;
    let hi = values
        .iter()
        .flatten()
        .filter_map(|v| v.as_ref().ok().copied())
        .fold(0.0, f64::max)
        .max(1.0);
    for (i, row) in rows.iter().enumerate() {
        let y = t + ch * i as f64;
        svg.text(
            l - 6.0,
            y + ch / 2.0 + 4.0,
            11.0,
            "end",
            r#" class="row-label""#,
            row,
        );
        for (j, v) in values
            .get(i)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
        {
            let x = l + cw * j as f64;
            match v {
                Ok(v) => {
                    let _ = write!(
                        svg.out,
                        r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}" stroke="#ffffff" class="cell"><title>{} {}: {}</title></rect>"##,
                        cw,
                        ch,
                        viridis(v / hi),
                        esc(row),
                        esc(columns.get(j).map_or("", String::as_str)),
                        number(*v, comma)
                    );
                }
                Err(text) => {
                    svg.rect(
                        x,
                        y,
                        cw,
                        ch,
                        "#eeeeee",
                        r##" stroke="#ffffff" class="cell suppressed""##,
                    );
                    svg.text(
                        x + cw / 2.0,
                        y + ch / 2.0 + 3.0,
                        8.0,
                        "middle",
                        r##" fill="#666666""##,
                        text,
                    );
                }
            }
        }
    }
    for (j, c) in columns.iter().enumerate() {
        if nc <= 12 || j % 2 == 0 {
            svg.text(
                l + cw * (j as f64 + 0.5),
                t + ch * nr as f64 + 14.0,
                10.0,
                "middle",
                r#" class="column-label""#,
                c,
            );
        }
    }
    // The colour scale.
    let ly = b + 6.0;
    for k in 0..50 {
        let x = l + (r - l) * 0.5 * k as f64 / 50.0;
        svg.rect(
            x,
            ly,
            (r - l) * 0.5 / 50.0 + 0.5,
            10.0,
            &viridis(k as f64 / 49.0),
            "",
        );
    }
    svg.text(l, ly + 24.0, 10.0, "start", "", "0");
    svg.text(
        l + (r - l) * 0.5,
        ly + 24.0,
        10.0,
        "end",
        "",
        &number(hi, comma),
    );
    svg.text(
        l + (r - l) * 0.5 + 10.0,
        ly + 9.0,
        11.0,
        "start",
        r#" class="legend""#,
        legend_text,
    );
}

fn intervals(
    svg: &mut Svg,
    frame: Frame,
    rounds: &[String],
    groups: &[Group],
    y_label: &str,
    percent: bool,
    comma: bool,
) {
    let (l, _, r, b) = frame;
    let scale = if percent { 100.0 } else { 1.0 };
    let hi = groups
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .map(|&(_, _, h)| h * scale)
        .fold(0.0, f64::max);
    let hi = ticks(0.0, hi.max(if percent { 10.0 } else { 1.0 }))
        .last()
        .copied()
        .unwrap_or(1.0);
    let fmt = |v: f64| {
        if percent {
            format!("{} %", number(v, comma))
        } else {
            number(v, comma)
        }
    };
    let y = y_axis(svg, frame, (0.0, hi), y_label, &fmt);
    let n = rounds.len().max(1);
    let step = (r - l) / n as f64;
    let ng = groups.len().max(1);
    let x = move |k: usize, g: usize| {
        l + step * (k as f64 + 0.5)
            + (g as f64 - (ng as f64 - 1.0) / 2.0) * (step * 0.6 / ng as f64)
    };
    svg.line((l, b), (r, b), r##"stroke="#333333" stroke-width="1""##);
    x_labels(svg, frame, rounds, &|k| x(k, (ng - 1) / 2));
    let mut lx = l;
    for (g, (name, estimates)) in groups.iter().enumerate() {
        let colour = PALETTE[g % PALETTE.len()];
        for (k, e) in estimates.iter().enumerate() {
            let Some((est, lo, hi)) = e else { continue };
            let px = x(k, g);
            svg.line(
                (px, y(lo * scale)),
                (px, y(hi * scale)),
                &format!(r#"stroke="{colour}" stroke-width="2" class="interval""#),
            );
            for v in [lo, hi] {
                svg.line(
                    (px - 5.0, y(v * scale)),
                    (px + 5.0, y(v * scale)),
                    &format!(r#"stroke="{colour}" stroke-width="2""#),
                );
            }
            let _ = write!(
                svg.out,
                r#"<circle cx="{px:.1}" cy="{:.1}" r="4" fill="{colour}" class="estimate"><title>{} {}: {} ({}–{})</title></circle>"#,
                y(est * scale),
                esc(name),
                esc(rounds.get(k).map_or("", String::as_str)),
                fmt(est * scale),
                fmt(lo * scale),
                fmt(hi * scale)
            );
        }
        lx = legend(svg, lx, b + 40.0, colour, false, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars_chart() -> Chart {
        Chart {
            title: "Våld per stadsdelsområde".into(),
            caption: "Källa: syntetiska data. Period 2024-01-01–2024-03-31.".into(),
            body: Body::Bars {
                labels: vec!["Järva".into(), "Södermalm".into(), "Älvsjö".into()],
                values: vec![Ok(1200.0), Ok(830.5), Err("<5".into())],
                colours: None,
                reference: Some((900.0, "Kommunen".into())),
                x_label: "Antal".into(),
            },
        }
    }

    #[test]
    fn numbers_group_thousands_per_language() {
        assert_eq!(number(1234567.0, false), "1,234,567");
        assert_eq!(number(1234567.0, true), "1\u{a0}234\u{a0}567");
        assert_eq!(number(12.345, true), "12,3");
        assert_eq!(number(0.5, false), "0.50");
        assert_eq!(number(-3.0, false), "−3");
    }

    #[test]
    fn svg_is_text_with_one_bar_per_value_and_png_renders() {
        let chart = bars_chart();
        let svg = chart.svg(true, true);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="bar""#).count(), 2);
        assert_eq!(svg.matches(r#"class="bar suppressed""#).count(), 1);
        assert!(svg.contains("Järva") && svg.contains("&lt;5") && svg.contains("@font-face"));
        assert!(svg.contains("1\u{a0}200"));
        let png = chart.png(1.0, true).expect("png");
        assert_eq!(&png[1..4], b"PNG");
        // The font is in the PNG: a chart with text differs from one without.
        let mut blank = chart.clone();
        blank.title = String::new();
        blank.caption = String::new();
        assert_ne!(blank.png(1.0, true).expect("png"), png);
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn ticks_cover_the_range() {
        let t = ticks(0.0, 87.0);
        assert_eq!(t.first(), Some(&0.0));
        assert!(*t.last().expect("ticks") >= 87.0 && t.len() <= 8, "{t:?}");
    }
}
