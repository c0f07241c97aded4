//! The `events` R-tree (the GeoPackage RTree spatial index extension) built in
//! bulk. SQLite's R-tree inserts one entry at a time, about 10 µs each (measured:
//! 511k crimes rows took 4.9 s to ingest without the index, 9.7 s with it filled
//! row by row), so a large batch rebuilds the whole tree instead: the entries
//! packed Sort-Tile-Recursive into full nodes and written straight into the
//! R-tree's shadow tables (`_node`, `_rowid`, `_parent`) in SQLite's own node
//! format, which `rtreecheck()` verifies in the tests. Small batches use the
//! ordinary insert.
//!
//! Memory stays bounded however many events there are: a batch hands its
//! appended rows' entries over as it inserts them ([`Entries`]), in runs of
//! [`RUN`] entries sorted and spilled to temporary files; the leaves are written
//! slice by slice from the runs merged; only the levels above the leaves (one
//! entry per 51 events) are held whole.

use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::geom;

/// The node size SQLite gives an R-tree of 4 coordinates (its 51-cell cap).
const NODE_BYTES: usize = 4 + 24 * MAX_CELLS;
/// Entries a node holds.
const MAX_CELLS: usize = 51;

/// An entry: a row id (or child node) and its box as `f32`s rounded outwards.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    id: i64,
    b: [f32; 4],
}

/// Records held in memory before they are sorted and spilled (1M: 24 MB of
/// entries; the unit tests spill every thousand, so their bulk builds merge
/// many runs).
const RUN: usize = if cfg!(test) { 1_000 } else { 1 << 20 };

/// What [`Runs`] sorts: a record of [`Record::BYTES`] bytes in a spilled run.
pub(crate) trait Record: Copy {
    const BYTES: usize;
    fn encode(&self, out: &mut [u8]);
    fn decode(bytes: &[u8]) -> Self;
    fn order(&self, other: &Self) -> std::cmp::Ordering;
}

fn le_i64(bytes: &[u8]) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    i64::from_le_bytes(b)
}

impl Entry {
    fn of(id: i64, envelope: [f64; 4]) -> Entry {
        Entry {
            id,
            b: [
                round(envelope[0], true),
                round(envelope[1], false),
                round(envelope[2], true),
                round(envelope[3], false),
            ],
        }
    }

    /// Twice the centre's coordinate on axis `k` (0: x, 2: y), the sort key.
    fn centre(&self, k: usize) -> f64 {
        f64::from(self.b[k]) + f64::from(self.b[k + 1])
    }
}

/// Entries are sorted by x.
impl Record for Entry {
    const BYTES: usize = 24;

    fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.id.to_le_bytes());
        for (k, v) in self.b.iter().enumerate() {
            out[8 + 4 * k..12 + 4 * k].copy_from_slice(&v.to_le_bytes());
        }
    }

    fn decode(bytes: &[u8]) -> Entry {
        let f = |k: usize| {
            let at = 8 + 4 * k;
            f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        Entry {
            id: le_i64(bytes),
            b: [f(0), f(1), f(2), f(3)],
        }
    }

    fn order(&self, other: &Self) -> std::cmp::Ordering {
        self.centre(0).total_cmp(&other.centre(0))
    }
}

/// A row of `_rowid`: an event's fid and the leaf it is in, sorted by fid,
/// so that the table is written in key order (appended) and not at random
/// places, which cost a B-tree insert's page splits and moves for each row.
#[derive(Clone, Copy)]
struct Leaf {
    fid: i64,
    node: i64,
}

impl Record for Leaf {
    const BYTES: usize = 16;

    fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.fid.to_le_bytes());
        out[8..16].copy_from_slice(&self.node.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Leaf {
        Leaf {
            fid: le_i64(bytes),
            node: le_i64(&bytes[8..]),
        }
    }

    fn order(&self, other: &Self) -> std::cmp::Ordering {
        self.fid.cmp(&other.fid)
    }
}

/// Records gathered in bounded memory for one pass in their order: runs of
/// [`RUN`] records, each sorted and spilled to its own temporary file, merged
/// at the end.
pub(crate) struct Runs<T> {
    run: Vec<T>,
    spilled: Vec<(std::fs::File, usize)>,
    len: usize,
}

/// The entries of a tree to build.
pub(crate) type Entries = Runs<Entry>;

impl<T> Default for Runs<T> {
    fn default() -> Self {
        Runs {
            run: Vec::new(),
            spilled: Vec::new(),
            len: 0,
        }
    }
}

impl Entries {
    /// Adds a row's envelope (`[minx, maxx, miny, maxy]`).
    pub(crate) fn add(&mut self, id: i64, envelope: [f64; 4]) -> std::io::Result<()> {
        self.push(Entry::of(id, envelope))
    }
}

impl<T> Runs<T> {
    /// How many records were pushed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl<T: Record> Runs<T> {
    fn push(&mut self, record: T) -> std::io::Result<()> {
        self.run.push(record);
        self.len += 1;
        if self.run.len() >= RUN {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> std::io::Result<()> {
        self.run.sort_unstable_by(T::order);
        let mut out = BufWriter::new(tempfile::tempfile()?);
        let mut bytes = vec![0u8; T::BYTES];
        for r in &self.run {
            r.encode(&mut bytes);
            out.write_all(&bytes)?;
        }
        let mut file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.rewind()?;
        self.spilled.push((file, self.run.len()));
        self.run.clear();
        Ok(())
    }

    /// Every record in order, the spilled runs merged with the one in memory
    /// (`keep` drops some of it first) and with `extra` (held whole); each
    /// comes with whether it is one of `extra`.
    fn merged(
        mut self,
        keep: impl Fn(&T) -> bool,
        mut extra: Vec<T>,
    ) -> std::io::Result<impl Iterator<Item = std::io::Result<(T, bool)>>> {
        self.run.retain(|r| keep(r));
        self.run.sort_unstable_by(T::order);
        extra.sort_unstable_by(T::order);
        let mut sources: Vec<Run<T>> = self
            .spilled
            .into_iter()
            .map(|(file, left)| Run::File(BufReader::new(file), left))
            .collect();
        sources.push(Run::Memory(self.run.into_iter()));
        sources.push(Run::Memory(extra.into_iter()));
        let mut heads = BinaryHeap::new();
        for (i, source) in sources.iter_mut().enumerate() {
            if let Some(r) = source.next()? {
                heads.push(Head(r, i));
            }
        }
        let extra_source = sources.len() - 1;
        Ok(std::iter::from_fn(move || {
            let Head(r, i) = heads.pop()?;
            match sources[i].next() {
                Ok(Some(next)) => heads.push(Head(next, i)),
                Ok(None) => {}
                Err(err) => return Some(Err(err)),
            }
            Some(Ok((r, i == extra_source)))
        }))
    }
}

impl Entries {
    /// All entries in x order but those of the ids in `stale`, with `fresh`
    /// (their entries as the rows are now) merged in.
    fn sorted<'s>(
        self,
        stale: &'s std::collections::BTreeSet<i64>,
        fresh: Vec<Entry>,
    ) -> std::io::Result<impl Iterator<Item = std::io::Result<Entry>> + 's> {
        let merged = self.merged(|e| !stale.contains(&e.id), fresh)?;
        Ok(merged.filter_map(|r| match r {
            Ok((e, is_fresh)) => (is_fresh || !stale.contains(&e.id)).then_some(Ok(e)),
            Err(err) => Some(Err(err)),
        }))
    }
}

/// One sorted run being merged.
enum Run<T> {
    File(BufReader<std::fs::File>, usize),
    Memory(std::vec::IntoIter<T>),
}

impl<T: Record> Run<T> {
    fn next(&mut self) -> std::io::Result<Option<T>> {
        match self {
            Run::File(_, 0) => Ok(None),
            Run::File(input, left) => {
                *left -= 1;
                let mut bytes = [0u8; 24];
                input.read_exact(&mut bytes[..T::BYTES])?;
                Ok(Some(T::decode(&bytes)))
            }
            Run::Memory(records) => Ok(records.next()),
        }
    }
}

impl<T> std::fmt::Debug for Runs<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runs")
            .field("len", &self.len)
            .field("spilled_runs", &self.spilled.len())
            .finish()
    }
}

/// A run's next record in the merge: the first in order first (a min-heap).
struct Head<T>(T, usize);

impl<T: Record> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl<T: Record> Eq for Head<T> {}
impl<T: Record> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Record> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.order(&self.0).then(other.1.cmp(&self.1))
    }
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
    let per_slice = slice_len(entries.len());
    entries.sort_by(|a, b| a.centre(0).total_cmp(&b.centre(0)));
    let mut nodes = Vec::with_capacity(entries.len().div_ceil(MAX_CELLS));
    for (s, slice) in entries.chunks_mut(per_slice).enumerate() {
        slice.sort_by(|a, b| a.centre(2).total_cmp(&b.centre(2)));
        let start = s * per_slice;
        nodes.extend(
            (0..slice.len())
                .step_by(MAX_CELLS)
                .map(|i| start + i..start + (i + MAX_CELLS).min(slice.len())),
        );
    }
    Level { entries, nodes }
}

/// Sort-Tile-Recursive's vertical slice of `n` entries: √(nodes) nodes' worth,
/// so that every slice but the last fills whole nodes.
fn slice_len(n: usize) -> usize {
    let nodes = n.div_ceil(MAX_CELLS);
    (nodes as f64).sqrt().ceil().max(1.0) as usize * MAX_CELLS
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

/// Rebuilds `rtree_events_geom` inside the caller's transaction from `given`
/// (entries a batch handed over as it appended them) and every stored event
/// with `fid <= stored_upto` or in `reread` (read from the table).
pub(crate) fn rebuild(
    conn: &Connection,
    path: &Path,
    mut given: Entries,
    stored_upto: i64,
    reread: &std::collections::BTreeSet<i64>,
) -> Result<(), StoreError> {
    let sql = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let spill = |source| StoreError::Io {
        path: std::env::temp_dir(),
        source,
    };
    {
        let mut stored = conn
            .prepare("SELECT fid, geom FROM events WHERE fid <= ?1 AND geom NOT NULL")
            .map_err(sql)?;
        let mut take = |rows: &mut rusqlite::Rows<'_>| -> Result<(), StoreError> {
            while let Some(r) = rows.next().map_err(sql)? {
                let blob = r.get_ref(1).and_then(|v| Ok(v.as_blob()?)).map_err(sql)?;
                if let Some(e) = geom::blob_envelope(blob) {
                    given.add(r.get(0).map_err(sql)?, e).map_err(spill)?;
                }
            }
            Ok(())
        };
        take(&mut stored.query([stored_upto]).map_err(sql)?)?;
    }
    // Rows the batch appended and then revised: their entries in `given` are
    // stale; their rows as they are now replace them.
    let mut fresh = Vec::with_capacity(reread.len());
    for &fid in reread {
        let mut one = conn
            .prepare_cached("SELECT geom FROM events WHERE fid = ?1 AND geom NOT NULL")
            .map_err(sql)?;
        let blob: Option<Vec<u8>> = one.query_row([fid], |r| r.get(0)).optional().map_err(sql)?;
        if let Some(e) = blob.as_deref().and_then(geom::blob_envelope) {
            fresh.push(Entry::of(fid, e));
        }
    }
    let n = given.len - reread.len() + fresh.len();
    // Levels top-down are numbered from the root (node 1); their sizes follow
    // from the count alone, so the leaves can be written as they are packed.
    let mut sizes = vec![n.div_ceil(MAX_CELLS).max(1)];
    while let Some(&last) = sizes.last().filter(|&&s| s > 1) {
        sizes.push(last.div_ceil(MAX_CELLS));
    }
    let mut first = vec![0i64; sizes.len()];
    let mut next = 1i64;
    for (l, size) in sizes.iter().enumerate().rev() {
        first[l] = next;
        next += *size as i64;
    }
    conn.execute_batch(
        "DELETE FROM rtree_events_geom_node; DELETE FROM rtree_events_geom_rowid;
         DELETE FROM rtree_events_geom_parent;",
    )
    .map_err(sql)?;
    let mut node = conn
        .prepare("INSERT INTO rtree_events_geom_node (nodeno, data) VALUES (?1, ?2)")
        .map_err(sql)?;
    let mut rowid = conn
        .prepare("INSERT INTO rtree_events_geom_rowid (rowid, nodeno) VALUES (?1, ?2)")
        .map_err(sql)?;
    let mut parent = conn
        .prepare("INSERT INTO rtree_events_geom_parent (nodeno, parentnode) VALUES (?1, ?2)")
        .map_err(sql)?;
    let depth = (sizes.len() - 1) as u16;
    let root_of = |l: usize| (l == sizes.len() - 1).then_some(depth);
    if n == 0 {
        // No events: an empty root leaf.
        return node
            .execute(params![1, node_blob(Some(0), &[])])
            .map(drop)
            .map_err(sql);
    }
    // The leaves, one vertical slice at a time; each leaf leaves its entry
    // (its position in the level and its box) for the level above.
    let mut above: Vec<Entry> = Vec::with_capacity(sizes[0]);
    let mut leaves: Runs<Leaf> = Runs::default();
    let mut slice: Vec<Entry> = Vec::with_capacity(slice_len(n));
    let mut sorted = given.sorted(reread, fresh).map_err(spill)?;
    loop {
        slice.clear();
        for e in sorted.by_ref().take(slice_len(n)) {
            slice.push(e.map_err(spill)?);
        }
        if slice.is_empty() {
            break;
        }
        slice.sort_unstable_by(|a, b| a.centre(2).total_cmp(&b.centre(2)));
        for cells in slice.chunks(MAX_CELLS) {
            let me = first[0] + above.len() as i64;
            for c in cells {
                leaves
                    .push(Leaf {
                        fid: c.id,
                        node: me,
                    })
                    .map_err(spill)?;
            }
            node.execute(params![me, node_blob(root_of(0), cells)])
                .map_err(sql)?;
            above.push(Entry {
                id: above.len() as i64,
                b: union(cells),
            });
        }
    }
    for leaf in leaves.merged(|_| true, Vec::new()).map_err(spill)? {
        let (leaf, _) = leaf.map_err(spill)?;
        rowid.execute(params![leaf.fid, leaf.node]).map_err(sql)?;
    }
    // The levels above, in memory: a parent's entry carries the position of
    // its child node in the level below; `_parent` is written in key order.
    let mut parents: Vec<(i64, i64)> = Vec::with_capacity(sizes[0]);
    let mut l = 1;
    while l < sizes.len() {
        let level = pack(std::mem::take(&mut above));
        for (k, range) in level.nodes.iter().enumerate() {
            let me = first[l] + k as i64;
            let children: Vec<Entry> = level.entries[range.clone()]
                .iter()
                .map(|c| Entry {
                    id: first[l - 1] + c.id,
                    b: c.b,
                })
                .collect();
            parents.extend(children.iter().map(|c| (c.id, me)));
            node.execute(params![me, node_blob(root_of(l), &children)])
                .map_err(sql)?;
            above.push(Entry {
                id: k as i64,
                b: union(&level.entries[range.clone()]),
            });
        }
        l += 1;
    }
    parents.sort_unstable();
    for (child, me) in parents {
        parent.execute(params![child, me]).map_err(sql)?;
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
