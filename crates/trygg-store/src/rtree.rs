//! The `events` R-tree (the GeoPackage RTree spatial index extension) built in
//! bulk. SQLite's R-tree inserts one entry at a time, about 10 µs each (measured:
//! 511k crimes rows took 4.9 s to ingest without the index, 9.7 s with it filled
//! row by row), so a large batch rebuilds the whole tree instead: the entries
//! packed Sort-Tile-Recursive into full nodes and written straight into the
//! R-tree's shadow tables (`_node`, `_rowid`, `_parent`) in SQLite's own node
//! format, which `rtreecheck()` verifies in the tests. Small batches use the
//! ordinary insert.

use rusqlite::{params, Connection};

use crate::geom;

/// The node size SQLite gives an R-tree of 4 coordinates (its 51-cell cap).
const NODE_BYTES: usize = 4 + 24 * MAX_CELLS;
/// Entries a node holds.
const MAX_CELLS: usize = 51;

/// An entry: a row id (or child node) and its box as `f32`s rounded outwards.
#[derive(Clone, Copy)]
struct Entry {
    id: i64,
    b: [f32; 4],
}

/// `v` as an `f32` no greater (`down`) or no smaller than `v`, as SQLite rounds.
fn round(v: f64, down: bool) -> f32 {
    let f = v as f32;
    let off = if down {
        f64::from(f) > v
    } else {
        f64::from(f) < v
    };
    if !off || !f.is_finite() {
        return f;
    }
    // The next representable f32 towards -inf (down) or +inf (up).
    let bits = f.to_bits();
    let toward_zero = (f > 0.0) == down;
    if f == 0.0 {
        if down {
            -f32::from_bits(1)
        } else {
            f32::from_bits(1)
        }
    } else if toward_zero {
        f32::from_bits(bits - 1)
    } else {
        f32::from_bits(bits + 1)
    }
}

fn union(entries: &[Entry]) -> [f32; 4] {
    entries.iter().fold(
        [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ],
        |a, e| {
            [
                a[0].min(e.b[0]),
                a[1].max(e.b[1]),
                a[2].min(e.b[2]),
                a[3].max(e.b[3]),
            ]
        },
    )
}

/// One level of the tree: its entries, sorted so that each node's cells are
/// one run of them (`nodes`).
struct Level {
    entries: Vec<Entry>,
    nodes: Vec<std::ops::Range<usize>>,
}

/// Sort-Tile-Recursive: `entries` sorted in place into runs of at most
/// [`MAX_CELLS`], close ones together (no copy: a level is its one vector).
fn pack(mut entries: Vec<Entry>) -> Level {
    let centre = |e: &Entry, k: usize| f64::from(e.b[k]) + f64::from(e.b[k + 1]);
    let count = entries.len().div_ceil(MAX_CELLS);
    let slices = (count as f64).sqrt().ceil().max(1.0) as usize;
    let per_slice = slices * MAX_CELLS;
    entries.sort_by(|a, b| centre(a, 0).total_cmp(&centre(b, 0)));
    let mut nodes = Vec::with_capacity(count);
    for (s, slice) in entries.chunks_mut(per_slice).enumerate() {
        slice.sort_by(|a, b| centre(a, 2).total_cmp(&centre(b, 2)));
        let start = s * per_slice;
        nodes.extend(
            (0..slice.len())
                .step_by(MAX_CELLS)
                .map(|i| start + i..start + (i + MAX_CELLS).min(slice.len())),
        );
    }
    Level { entries, nodes }
}

fn node_blob(depth: Option<u16>, cells: &[Entry]) -> Vec<u8> {
    let mut blob = vec![0u8; NODE_BYTES];
    if let Some(d) = depth {
        blob[..2].copy_from_slice(&d.to_be_bytes());
    }
    blob[2..4].copy_from_slice(&(cells.len() as u16).to_be_bytes());
    for (i, c) in cells.iter().enumerate() {
        let at = 4 + 24 * i;
        blob[at..at + 8].copy_from_slice(&c.id.to_be_bytes());
        for (k, v) in c.b.iter().enumerate() {
            blob[at + 8 + 4 * k..at + 12 + 4 * k].copy_from_slice(&v.to_bits().to_be_bytes());
        }
    }
    blob
}

/// Rebuilds `rtree_events_geom` from every stored event, inside the caller's
/// transaction.
pub(crate) fn rebuild(conn: &Connection) -> rusqlite::Result<()> {
    let mut entries = Vec::new();
    {
        let mut stmt = conn.prepare("SELECT fid, geom FROM events WHERE geom NOT NULL")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let blob = r.get_ref(1)?.as_blob()?;
            if let Some(e) = geom::blob_envelope(blob) {
                entries.push(Entry {
                    id: r.get(0)?,
                    b: [
                        round(e[0], true),
                        round(e[1], false),
                        round(e[2], true),
                        round(e[3], false),
                    ],
                });
            }
        }
    }
    // Levels bottom-up: leaves first, the root (one node) last. A parent's
    // entry carries the position of its child node in the level below.
    let mut levels: Vec<Level> = vec![pack(entries)];
    while levels.last().is_some_and(|l| l.nodes.len() > 1) {
        let below = levels.last().map(|l| {
            l.nodes
                .iter()
                .enumerate()
                .map(|(i, r)| Entry {
                    id: i as i64,
                    b: union(&l.entries[r.clone()]),
                })
                .collect::<Vec<_>>()
        });
        levels.push(pack(below.unwrap_or_default()));
    }
    // Node numbers top-down: the root is node 1; a level's node `k` is `first + k`.
    let mut first = vec![0i64; levels.len()];
    let mut next = 1i64;
    for (l, level) in levels.iter().enumerate().rev() {
        first[l] = next;
        next += level.nodes.len().max(1) as i64;
    }
    conn.execute_batch(
        "DELETE FROM rtree_events_geom_node; DELETE FROM rtree_events_geom_rowid;
         DELETE FROM rtree_events_geom_parent;",
    )?;
    let mut node =
        conn.prepare("INSERT INTO rtree_events_geom_node (nodeno, data) VALUES (?1, ?2)")?;
    let mut rowid =
        conn.prepare("INSERT INTO rtree_events_geom_rowid (rowid, nodeno) VALUES (?1, ?2)")?;
    let mut parent =
        conn.prepare("INSERT INTO rtree_events_geom_parent (nodeno, parentnode) VALUES (?1, ?2)")?;
    let depth = (levels.len() - 1) as u16;
    for (l, level) in levels.iter().enumerate() {
        let root = (l == levels.len() - 1).then_some(depth);
        if level.nodes.is_empty() {
            // No events: an empty root leaf.
            node.execute(params![1, node_blob(Some(0), &[])])?;
            continue;
        }
        for (k, range) in level.nodes.iter().enumerate() {
            let me = first[l] + k as i64;
            let cells = &level.entries[range.clone()];
            if l == 0 {
                for c in cells {
                    rowid.execute(params![c.id, me])?;
                }
                node.execute(params![me, node_blob(root, cells)])?;
            } else {
                // Children: their node numbers, and their parent is this node.
                let children: Vec<Entry> = cells
                    .iter()
                    .map(|c| Entry {
                        id: first[l - 1] + c.id,
                        b: c.b,
                    })
                    .collect();
                for c in &children {
                    parent.execute(params![c.id, me])?;
                }
                node.execute(params![me, node_blob(root, &children)])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_round_outwards_to_f32() {
        for v in [674_032.123_456_7, 6_580_821.987_654_3, -12.3, 0.1, 5.0] {
            let (lo, hi) = (round(v, true), round(v, false));
            assert!(f64::from(lo) <= v && v <= f64::from(hi), "{v}: {lo} {hi}");
            assert!(
                f64::from(hi) - f64::from(lo) <= f64::from(f32::EPSILON) * v.abs() * 2.0 + 1e-30
            );
        }
        assert_eq!(round(5.0, true), 5.0);
    }
}
