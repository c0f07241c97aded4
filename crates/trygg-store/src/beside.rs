//! Writing a file so that its name only ever shows a whole file: the bytes go to
//! a hidden file beside the target (`.NAME.partial-PID-N`, unique per write, so two
//! writers never share one) and are synced and renamed over the target by
//! [`BesideFile::commit`]; dropped uncommitted, the partial file is removed and the
//! target is untouched. Used for exports and for the view snapshot file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file being written beside its target.
#[derive(Debug)]
pub struct BesideFile {
    writer: Option<BufWriter<File>>,
    temp: PathBuf,
    target: PathBuf,
}

impl BesideFile {
    /// Starts writing `target`.
    pub fn create(target: &Path) -> std::io::Result<BesideFile> {
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = target.with_file_name(format!(".{name}.partial-{}-{n}", std::process::id()));
        let file = File::create(&temp)?;
        Ok(BesideFile {
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
            temp,
            target: target.to_owned(),
        })
    }

    /// Flushes and syncs what was written and renames it over the target.
    pub fn commit(mut self) -> std::io::Result<()> {
        if let Some(writer) = self.writer.take() {
            let file = writer
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)?;
            file.sync_all()?;
        }
        std::fs::rename(&self.temp, &self.target)
    }

    fn writer(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        self.writer
            .as_mut()
            .ok_or_else(|| std::io::Error::other("file already committed"))
    }
}

impl Write for BesideFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer()?.flush()
    }
}

impl Drop for BesideFile {
    fn drop(&mut self) {
        drop(self.writer.take());
        if self.temp.exists() {
            // Best effort: nothing to report to while dropping.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
