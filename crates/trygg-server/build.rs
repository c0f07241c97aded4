//! Embeds the web map: every file of `web/dist` (made by `npm run build` in
//! `web/`) becomes an entry of a static asset table, with its gzip sibling
//! (`NAME.gz`) when the build wrote one. Without `web/dist` the table is empty
//! and `/` serves the API page with a note on how to build the map, so that the
//! Rust build and tests do not need Node.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    let dist = web.join("dist");
    // A missing path would make cargo rerun this on every build; `web/` is in
    // the repository, and a new `dist/` inside it changes its newest mtime.
    let watched = if dist.is_dir() { &dist } else { &web };
    println!("cargo:rerun-if-changed={}", watched.display());
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut table = String::from("&[\n");
    for rel in files.iter().filter(|f| !f.ends_with(".gz")) {
        let path = dist.join(rel);
        let body = std::fs::read(&path).expect("read a web/dist file");
        let gz = dist.join(format!("{rel}.gz"));
        let gzip = if gz.is_file() {
            format!("Some(include_bytes!({:?}))", gz.display().to_string())
        } else {
            "None".to_owned()
        };
        writeln!(
            table,
            "    Asset {{ path: {rel:?}, body: include_bytes!({:?}), gzip: {gzip}, etag: \"\\\"w{:016x}\\\"\" }},",
            path.display().to_string(),
            fnv1a(&body)
        )
        .expect("write to a string");
    }
    table.push(']');
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("web_assets.rs"), table).expect("write the asset table");
}

/// The files under `dir`, as paths relative to `root` with `/` separators.
fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read web/dist").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let parts: Vec<_> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            files.push(parts.join("/"));
        }
    }
}

/// A 64-bit FNV-1a hash: the assets' ETag (content identity, not security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
