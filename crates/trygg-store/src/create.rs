//! Creating a store atomically, and keeping outputs off a store's own files.
//!
//! A new store is built in a hidden file beside its final path
//! (`.NAME.creating-PID`): schema, areas, extent, metadata and, for `trygg ingest`,
//! the first batch. Only [`NewStore::persist`] makes it appear under its name, in
//! one link (or rename) after SQLite has synced it, so a process killed at any point
//! leaves either no store or a whole one, never a file that later commands refuse or
//! a store without areas and extent. Hidden files of killed creations are removed by
//! the next creation in the same folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::StoreError;
use crate::store::Store;

/// A store being created: usable like a [`Store`] (it derefs to one), invisible
/// under its name until [`NewStore::persist`]; dropped unpersisted, it is deleted.
#[derive(Debug)]
pub struct NewStore {
    store: Option<Store>,
    temp: PathBuf,
    target: PathBuf,
}

/// The suffixes SQLite gives a database's side files.
const SIDE_SUFFIXES: [&str; 3] = ["-journal", "-wal", "-shm"];
/// The infix of a store being created (`.NAME.creating-PID`).
const CREATING: &str = ".creating-";

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The hidden name of a creation: `.NAME.creating-PID-N`, N counting the
/// process's creations so that two in one process never share a file.
fn temp_path(target: &Path, pid: u32) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    target.with_file_name(format!("{}{pid}-{n}", creating_prefix(target)))
}

/// `.NAME.creating-`: what every hidden creation file of `target` starts with.
fn creating_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}{CREATING}")
}

fn remove_with_side_files(path: &Path) {
    // Best effort: a file that is already gone is what we want.
    let _ = std::fs::remove_file(path);
    for suffix in SIDE_SUFFIXES {
        let _ = std::fs::remove_file(with_suffix(path, suffix));
    }
}

/// Removes hidden files of creations of `target` whose process no longer runs.
fn sweep_stale(target: &Path) {
    let Some(dir) = target.parent() else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = creating_prefix(target);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        // `PID-N`; a side file (`PID-N-journal`) goes with its database.
        let mut parts = rest.split('-');
        let (Some(Ok(pid)), Some(Ok(_)), None) = (
            parts.next().map(str::parse::<u32>),
            parts.next().map(str::parse::<u64>),
            parts.next(),
        ) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            remove_with_side_files(&entry.path());
        }
    }
}

/// Whether a process runs: on Linux, whether `/proc/PID` exists; elsewhere a
/// stale file is kept (it is hidden and harmless).
fn process_alive(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

impl NewStore {
    /// Starts creating a store at `path` (an error if the file exists).
    pub(crate) fn begin(path: &Path) -> Result<NewStore, StoreError> {
        if path.exists() {
            return Err(StoreError::Exists(path.to_owned()));
        }
        sweep_stale(path);
        let temp = temp_path(path, std::process::id());
        remove_with_side_files(&temp);
        let mut pending = NewStore {
            store: None,
            temp: temp.clone(),
            target: path.to_owned(),
        };
        // From here on, dropping `pending` removes the hidden file.
        let mut store = Store::create_schema(&temp)?;
        store.path = path.to_owned();
        pending.store = Some(store);
        Ok(pending)
    }

    /// Makes the store appear under its name, whole, and opens it there. Fails
    /// (leaving nothing) if another process created a file of that name meanwhile.
    pub fn persist(mut self) -> Result<Store, StoreError> {
        // Closing the connection ends SQLite's use of the hidden file: every
        // transaction is committed and synced (synchronous=FULL), and with a rollback
        // journal nothing is left beside it.
        drop(self.store.take());
        match std::fs::hard_link(&self.temp, &self.target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Exists(self.target.clone()))
            }
            // A file system without hard links: a rename, after checking the name
            // is still free (a race with another creator is then possible but
            // would need two creations of one new store in the same instant).
            Err(_) if !self.target.exists() => {
                std::fs::rename(&self.temp, &self.target).map_err(|e| io_error(&self.target, e))?
            }
            Err(e) => return Err(io_error(&self.target, e)),
        }
        remove_with_side_files(&self.temp);
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The new name is durable once its folder is synced.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Store::open(&self.target)
    }
}

impl std::ops::Deref for NewStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        // Only `persist` takes the store, and it consumes `self`.
        self.store
            .as_ref()
            .expect("a NewStore holds its store until `persist` consumes it")
    }
}

impl std::ops::DerefMut for NewStore {
    fn deref_mut(&mut self) -> &mut Store {
        self.store
            .as_mut()
            .expect("a NewStore holds its store until `persist` consumes it")
    }
}

impl Drop for NewStore {
    fn drop(&mut self) {
        drop(self.store.take());
        if self.temp.exists() {
            remove_with_side_files(&self.temp);
        }
    }
}

/// Refuses an output path that is the store at `store` or one of its side files
/// (journal, WAL, shared memory, a creation in progress), compared by canonical
/// path and, for existing files, by identity (so a hard link or symlink to the store
/// is refused too). `store` need not exist.
pub fn check_output_path(store: &Path, out: &Path) -> Result<(), StoreError> {
    let refuse = || StoreError::OutputIsStore {
        out: out.to_owned(),
        store: store.to_owned(),
    };
    let store_canon = canonical(store);
    let out_canon = canonical(out);
    let mut protected: Vec<PathBuf> = vec![
        store_canon.clone(),
        crate::view_file::view_file_path(&store_canon),
    ];
    protected.extend(SIDE_SUFFIXES.iter().map(|s| with_suffix(&store_canon, s)));
    if protected.contains(&out_canon) {
        return Err(refuse());
    }
    let creating = store_canon.with_file_name(creating_prefix(&store_canon));
    if out_canon
        .to_string_lossy()
        .starts_with(creating.to_string_lossy().as_ref())
    {
        return Err(refuse());
    }
    if same_file(store, out) {
        return Err(refuse());
    }
    Ok(())
}

/// The canonical form of a path that may not exist: its folder canonicalised, then
/// its name (a symlink is followed when the path exists).
fn canonical(path: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(path) {
        return c;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(parent), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_owned(),
    }
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &Path, _: &Path) -> bool {
    false
}
