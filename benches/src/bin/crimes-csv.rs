//! Writes a synthetic crimes CSV of `ROWS` rows (the built-in mapping's format,
//! [`trygg_benches::crimes_csv`]) to standard output, for the ingest comparisons
//! (`benches/ingest_10m.sh`): `cargo run --release -p trygg-benches --bin
//! crimes-csv -- 10000000 > crimes-10m.csv`. Seeded: the same rows every time.

use std::io::Write;

/// Rows generated at a time, so that 10M rows need no 1 GB string.
const CHUNK: u32 = 1_000_000;

fn main() -> std::io::Result<()> {
    let rows: u32 = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(rows)) => rows,
        _ => {
            eprintln!("usage: crimes-csv ROWS");
            std::process::exit(2);
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut done = 0;
    while done < rows {
        let n = CHUNK.min(rows - done);
        let text = trygg_benches::crimes_csv(n, u64::from(done), &format!("c{done}-"));
        // Every chunk starts with the header; the file has it once.
        let body = if done == 0 {
            text.as_str()
        } else {
            text.split_once('\n').map_or("", |(_, rest)| rest)
        };
        out.write_all(body.as_bytes())?;
        done += n;
    }
    out.flush()
}
