//! Raster heat tiles: a quartic kernel density evaluated on a tile's pixels
//! and coloured with a fixed ramp into an RGBA PNG.
//!
//! The caller bins its points into a raster of [`Raster::side`] pixels plus a
//! margin of the kernel's radius (points just outside the tile warm its edge),
//! and says which pixels are land; [`Raster::render`] smooths, scales and colours.
//! Densities above the scale's top take the top colour; pixels off land, or
//! with a density under 1 % of the top, are transparent.

/// Output pixels per side.
pub const SIZE: usize = 256;

/// Kernel radii above this many raster pixels are computed on a coarser raster
/// (halving until they fit) and scaled back up bilinearly: the cost stays
/// bounded whatever the bandwidth.
pub const MAX_RADIUS_PX: f64 = 24.0;

/// The colour ramp: viridis (perceptually uniform, readable with every common
/// colour-vision deficiency), from low to high, each `(fraction of the top, RGB)`.
pub const RAMP: [(f64, [u8; 3]); 5] = [
    (0.0, [0x44, 0x01, 0x54]),
    (0.25, [0x3b, 0x52, 0x8b]),
    (0.5, [0x21, 0x91, 0x8c]),
    (0.75, [0x5e, 0xc9, 0x62]),
    (1.0, [0xfd, 0xe7, 0x25]),
];

/// The ramp's colour and alpha at `t` (0..=1 of the top): alpha rises from 90
/// to 220 over the lower half, so faint densities stay see-through.
pub fn colour(t: f64) -> [u8; 4] {
    let t = t.clamp(0.0, 1.0);
    let k = RAMP
        .windows(2)
        .position(|w| t <= w[1].0)
        .unwrap_or(RAMP.len() - 2);
    let ((t0, c0), (t1, c1)) = (RAMP[k], RAMP[k + 1]);
    let f = if t1 > t0 { (t - t0) / (t1 - t0) } else { 0.0 };
    let mix = |a: u8, b: u8| (f64::from(a) + f * (f64::from(b) - f64::from(a))).round() as u8;
    let alpha = (90.0 + 130.0 * (t * 2.0).min(1.0)).round() as u8;
    [
        mix(c0[0], c1[0]),
        mix(c0[1], c1[1]),
        mix(c0[2], c1[2]),
        alpha,
    ]
}

/// Point counts on a raster over a tile, for a kernel of a given radius.
#[derive(Debug, Clone)]
pub struct Raster {
    /// Pixels per side of the tile part (256, or coarser for wide kernels).
    side: usize,
    /// Kernel radius in raster pixels.
    radius: f64,
    /// Margin pixels each side (the radius, rounded up).
    margin: usize,
    counts: Vec<f32>,
}

impl Raster {
    /// A raster for a kernel of `radius_px` output pixels (a bandwidth over the
    /// metres per output pixel).
    pub fn new(radius_px: f64) -> Raster {
        let mut side = SIZE;
        let mut radius = radius_px.max(0.5);
        while radius > MAX_RADIUS_PX && side > 16 {
            side /= 2;
            radius /= 2.0;
        }
        let margin = radius.ceil() as usize;
        let n = side + 2 * margin;
        Raster {
            side,
            radius,
            margin,
            counts: vec![0.0; n * n],
        }
    }

    /// Raster pixels per side inside the tile.
    pub fn side(&self) -> usize {
        self.side
    }

    /// Output pixels per raster pixel.
    pub fn scale(&self) -> usize {
        SIZE / self.side
    }

    /// Adds `weight` points at output pixel position (px, py) (0..256 inside
    /// the tile; points beyond the margin are ignored).
    pub fn add(&mut self, px: f64, py: f64, weight: f32) {
        let s = self.scale() as f64;
        let m = self.margin as f64;
        let (x, y) = (px / s + m, py / s + m);
        let n = self.side + 2 * self.margin;
        if x >= 0.0 && y >= 0.0 && (x as usize) < n && (y as usize) < n {
            self.counts[y as usize * n + x as usize] += weight;
        }
    }

    /// The kernel sums at each output pixel (row by row, [`SIZE`]²), in units of
    /// the kernel's peak weight: a lone point gives 1 at its own pixel.
    pub fn smooth(&self) -> Vec<f32> {
        let n = self.side + 2 * self.margin;
        let r = self.radius;
        let ri = self.margin as isize;
        let kernel: Vec<f32> = (-ri..=ri)
            .flat_map(|dy| {
                (-ri..=ri).map(move |dx| {
                    let d2 = ((dx * dx + dy * dy) as f64) / (r * r);
                    if d2 < 1.0 {
                        ((1.0 - d2) * (1.0 - d2)) as f32
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        let kw = 2 * self.margin + 1;
        let side = self.side;
        let mut out = vec![0.0f32; side * side];
        for sy in 0..n {
            for sx in 0..n {
                let c = self.counts[sy * n + sx];
                if c == 0.0 {
                    continue;
                }
                // Source pixel (sx, sy) reaches raster pixels sx-m-r..=sx-m+r.
                let (cx, cy) = (sx as isize - ri, sy as isize - ri);
                for ky in 0..kw {
                    let oy = cy + ky as isize - ri;
                    if oy < 0 || oy >= side as isize {
                        continue;
                    }
                    let row = &mut out[oy as usize * side..(oy as usize + 1) * side];
                    let krow = &kernel[ky * kw..(ky + 1) * kw];
                    let x0 = cx - ri;
                    let (k0, o0) = if x0 < 0 {
                        ((-x0) as usize, 0)
                    } else {
                        (0, x0 as usize)
                    };
                    let len = (kw - k0.min(kw)).min(side.saturating_sub(o0));
                    for (o, k) in row[o0..o0 + len].iter_mut().zip(&krow[k0..k0 + len]) {
                        *o += c * k;
                    }
                }
            }
        }
        upscale(&out, side)
    }
}

/// Bilinear upscaling of a `side`² raster to [`SIZE`]² (sampled at pixel
/// centres).
fn upscale(src: &[f32], side: usize) -> Vec<f32> {
    if side == SIZE {
        return src.to_vec();
    }
    let f = side as f64 / SIZE as f64;
    let mut out = vec![0.0f32; SIZE * SIZE];
    let at = |x: isize, y: isize| {
        let x = x.clamp(0, side as isize - 1) as usize;
        let y = y.clamp(0, side as isize - 1) as usize;
        f64::from(src[y * side + x])
    };
    for y in 0..SIZE {
        let sy = (y as f64 + 0.5) * f - 0.5;
        let (y0, ty) = (sy.floor(), sy - sy.floor());
        for x in 0..SIZE {
            let sx = (x as f64 + 0.5) * f - 0.5;
            let (x0, tx) = (sx.floor(), sx - sx.floor());
            let (xi, yi) = (x0 as isize, y0 as isize);
            let top = at(xi, yi) * (1.0 - tx) + at(xi + 1, yi) * tx;
            let bottom = at(xi, yi + 1) * (1.0 - tx) + at(xi + 1, yi + 1) * tx;
            out[y * SIZE + x] = (top * (1.0 - ty) + bottom * ty) as f32;
        }
    }
    out
}

/// An RGBA PNG of `values` ([`SIZE`]², row by row) on the ramp with `top` as
/// its highest colour; pixels where `land` is false, or under 1 % of `top`,
/// are transparent.
pub fn png(values: &[f32], land: &[bool], top: f64) -> Result<Vec<u8>, crate::TileError> {
    let mut rgba = vec![0u8; SIZE * SIZE * 4];
    if top > 0.0 {
        for (k, (&v, &on_land)) in values.iter().zip(land).enumerate() {
            let t = f64::from(v) / top;
            if on_land && t >= 0.01 {
                rgba[k * 4..k * 4 + 4].copy_from_slice(&colour(t));
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, SIZE as u32, SIZE as u32);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(crate::err)?;
        writer.write_image_data(&rgba).map_err(crate::err)?;
        writer.finish().map_err(crate::err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_peaks_at_its_pixel_and_fades_to_its_radius() {
        let mut r = Raster::new(10.0);
        r.add(100.5, 50.5, 1.0);
        let v = r.smooth();
        let at = |x: usize, y: usize| v[y * SIZE + x];
        assert!((at(100, 50) - 1.0).abs() < 1e-6);
        assert!(at(105, 50) < at(102, 50) && at(102, 50) < 1.0);
        assert_eq!(at(111, 50), 0.0);
        let (k, max) = v
            .iter()
            .enumerate()
            .fold((0, 0.0f32), |b, (k, &x)| if x > b.1 { (k, x) } else { b });
        assert_eq!((k % SIZE, k / SIZE, max), (100, 50, 1.0));
        // A point outside the tile but within the radius warms the edge.
        let mut edge = Raster::new(10.0);
        edge.add(-4.0, 128.0, 1.0);
        assert!(edge.smooth()[128 * SIZE] > 0.0);
    }

    #[test]
    fn wide_kernels_use_a_coarser_raster_with_the_same_peak_place() {
        let mut r = Raster::new(80.0);
        assert!(r.side() < SIZE && r.scale() * r.side() == SIZE);
        r.add(200.0, 60.0, 1.0);
        let v = r.smooth();
        let k = v
            .iter()
            .enumerate()
            .fold((0, 0.0f32), |b, (k, &x)| if x > b.1 { (k, x) } else { b })
            .0;
        let (x, y) = (k % SIZE, k / SIZE);
        assert!(
            x.abs_diff(200) <= r.scale() && y.abs_diff(60) <= r.scale(),
            "{x} {y}"
        );
    }

    #[test]
    fn the_ramp_runs_dark_to_yellow_and_the_png_decodes() {
        assert_eq!(&colour(0.0)[..3], &RAMP[0].1);
        assert_eq!(&colour(1.0)[..3], &RAMP[4].1);
        assert_eq!(&colour(7.0)[..3], &RAMP[4].1);
        let mut values = vec![0.0f32; SIZE * SIZE];
        values[0] = 10.0;
        values[1] = 10.0;
        let mut land = vec![true; SIZE * SIZE];
        land[1] = false;
        let bytes = png(&values, &land, 5.0).expect("png");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("header");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        reader.next_frame(&mut buf).expect("frame");
        assert_eq!(&buf[..4], &colour(1.0));
        assert_eq!(buf[7], 0, "off land is transparent");
        assert_eq!(buf[11], 0, "zero is transparent");
    }
}
