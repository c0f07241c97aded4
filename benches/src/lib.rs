//! Synthetic, seeded fixtures shared by the benchmarks and the end-to-end tests.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// The header of the built-in crimes mapping (`data/mappings/crimes.toml`).
pub const CRIMES_HEADER: &str =
    "anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y";

const CATEGORIES: [(&str, &str); 6] = [
    ("9301", "Misshandel utomhus"),
    ("9811", "Stöld ur/från motorfordon"),
    ("9821", "Cykelstöld"),
    ("9841", "Bostadsinbrott"),
    ("9901", "Skadegörelse genom klotter"),
    ("9511", "Narkotikabrott, innehav"),
];

/// A crimes CSV of `rows` rows in the built-in mapping's format: ids `{prefix}{i}`,
/// points uniform over central and southern Stockholm (EPSG:3006, land and water
/// alike), a third of them with a from-to interval, one in fifty without a time.
pub fn crimes_csv(rows: u32, seed: u64, prefix: &str) -> String {
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut out = String::with_capacity(rows as usize * 96 + CRIMES_HEADER.len() + 1);
    out.push_str(CRIMES_HEADER);
    out.push('\n');
    for i in 0..rows {
        let (code, category) = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
        let month = rng.random_range(1..=12u32);
        let day = rng.random_range(1..=28u32);
        let (hour, minute) = (rng.random_range(0..24u32), rng.random_range(0..60u32));
        let time = if i % 50 == 0 {
            String::new()
        } else {
            format!("{hour:02}:{minute:02}")
        };
        let (to_date, to_time) = if i % 3 == 0 {
            (
                format!("2024-{month:02}-{day:02}"),
                format!("{:02}:{minute:02}", (hour + 1).min(23)),
            )
        } else {
            (String::new(), String::new())
        };
        let x = rng.random_range(664_000.0..684_000.0);
        let y = rng.random_range(6_570_000.0..6_588_000.0);
        let precision = ["exact", "address", "street"][i as usize % 3];
        out.push_str(&format!(
            "{prefix}{i},{code},\"{category}\",2024-{month:02}-{day:02},{time},{to_date},{to_time},2024-{month:02}-{day:02},{precision},,{x:.1},{y:.1}\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field counts per line, honouring double quotes (categories may hold commas).
    fn csv_width(text: &str) -> impl Iterator<Item = usize> + '_ {
        text.lines().map(|l| {
            l.split('"')
                .step_by(2)
                .map(|outside| outside.matches(',').count())
                .sum::<usize>()
                + 1
        })
    }

    #[test]
    fn same_seed_same_file_and_every_row_has_the_header_width() {
        let a = crimes_csv(500, 7, "x");
        assert_eq!(a, crimes_csv(500, 7, "x"));
        assert_ne!(a, crimes_csv(500, 8, "x"));
        let width = CRIMES_HEADER.split(',').count();
        let mut reader = csv_width(&a);
        assert!(reader.all(|w| w == width));
        assert_eq!(a.lines().count(), 501);
    }
}
