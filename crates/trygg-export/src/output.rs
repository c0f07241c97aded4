//! Output files that are never half-written and never a store: an [`OutputFile`]
//! is a [`BesideFile`] (written beside its target and renamed over it only when
//! [`OutputFile::commit`] is called after the last byte, so an existing file is
//! never truncated by a failed or interrupted export) whose target was first
//! checked not to be the store being read or one of its side files.

use std::io::Write;
use std::path::{Path, PathBuf};

use trygg_store::{check_output_path, BesideFile, StoreError};

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
    file: BesideFile,
    target: PathBuf,
}

impl OutputFile {
    /// Starts writing `target`, refusing it if it is the store at `store` or one of
    /// its side files (compared by canonical path and file identity).
    pub fn create(target: &Path, store: &Path) -> Result<OutputFile, OutputError> {
        check_output_path(store, target)?;
        let file = BesideFile::create(target).map_err(|source| OutputError::Io {
            path: target.to_owned(),
            source,
        })?;
        Ok(OutputFile {
            file,
            target: target.to_owned(),
        })
    }

    /// Flushes and syncs what was written and puts it in place of the target.
    pub fn commit(self) -> Result<(), OutputError> {
        let OutputFile { file, target } = self;
        file.commit().map_err(|source| OutputError::Io {
            path: target,
            source,
        })
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
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
