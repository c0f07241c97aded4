//! Output files that are never half-written and never a store: an [`OutputFile`]
//! writes beside its target (`.NAME.partial-PID`) and replaces the target in one
//! rename only when [`OutputFile::commit`] is called after the last byte, so an
//! existing file is never truncated by a failed or interrupted export. Opening one
//! first refuses a target that is the store being read or one of its side files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use trygg_store::{check_output_path, StoreError};

/// An error opening or committing an output file.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The target is the store or one of its files.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file system failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// A file being written; see the module docs.
#[derive(Debug)]
pub struct OutputFile {
    writer: Option<BufWriter<File>>,
    temp: PathBuf,
    target: PathBuf,
}

impl OutputFile {
    /// Starts writing `target`, refusing it if it is the store at `store` or one of
    /// its side files (compared by canonical path and file identity).
    pub fn create(target: &Path, store: &Path) -> Result<OutputFile, OutputError> {
        check_output_path(store, target)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = target.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let file = File::create(&temp).map_err(|source| OutputError::Io {
            path: temp.clone(),
            source,
        })?;
        Ok(OutputFile {
            writer: Some(BufWriter::new(file)),
            temp,
            target: target.to_owned(),
        })
    }

    /// Flushes and syncs what was written and puts it in place of the target.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| OutputError::Io { path, source }
        };
        let writer = self.writer.take();
        if let Some(writer) = writer {
            let file = writer
                .into_inner()
                .map_err(|e| io(&self.temp)(e.into_error()))?;
            file.sync_all().map_err(io(&self.temp))?;
        }
        std::fs::rename(&self.temp, &self.target).map_err(io(&self.target))
    }

    fn writer(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        self.writer
            .as_mut()
            .ok_or_else(|| std::io::Error::other("output already committed"))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer()?.flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // Not committed (an error or a panic on the way): the target is untouched
        // and the partial file goes.
        drop(self.writer.take());
        if self.temp.exists() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_an_unfinished_output_leaves_the_old_file_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("s.gpkg");
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "old contents").expect("write");
        {
            let mut out = OutputFile::create(&target, &store).expect("create");
            out.write_all(b"new, but not finished").expect("write");
            // dropped without commit, as when an export fails half-way
        }
        assert_eq!(
            std::fs::read_to_string(&target).expect("read"),
            "old contents"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            1,
            "no partial file left"
        );
        let mut out = OutputFile::create(&target, &store).expect("create");
        out.write_all(b"new").expect("write");
        out.commit().expect("commit");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "new");
    }

    #[test]
    fn regression_the_store_and_its_side_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("s.gpkg");
        std::fs::write(&store, "a store").expect("write");
        let relative_dir = dir.path().join("sub");
        std::fs::create_dir(&relative_dir).expect("mkdir");
        let hard_link = dir.path().join("link.gpkg");
        std::fs::hard_link(&store, &hard_link).expect("link");
        for target in [
            store.clone(),
            relative_dir.join("..").join("s.gpkg"),
            dir.path().join("s.gpkg-journal"),
            dir.path().join("s.gpkg-wal"),
            dir.path().join("s.gpkg-shm"),
            dir.path().join(".s.gpkg.creating-12"),
            hard_link,
        ] {
            let err = OutputFile::create(&target, &store).expect_err("refused");
            assert!(
                err.to_string().contains("refusing to write"),
                "{target:?}: {err}"
            );
        }
        assert_eq!(std::fs::read_to_string(&store).expect("read"), "a store");
        assert!(OutputFile::create(&dir.path().join("s.csv"), &store).is_ok());
    }
}
