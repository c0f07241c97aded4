//! Where a command's result goes: standard output, or a file written beside its
//! target and renamed into place when complete (never the store itself; see
//! [`trygg_export::OutputFile`]). A closed standard output (`trygg info | head -1`)
//! is a normal end, not an error: see `main`.

use std::io::ErrorKind::BrokenPipe;
use std::io::{BufWriter, Stdout, Write};
use std::path::Path;

use anyhow::Context;
use trygg_export::OutputFile;

/// An open output.
pub(crate) enum Sink {
    /// Standard output.
    Stdout(BufWriter<Stdout>),
    /// A file, committed by [`Sink::finish`].
    File(OutputFile),
}

impl Sink {
    /// Opens `out` (standard output when `None`); a file path that is the store or
    /// one of its side files is refused before anything is written.
    pub(crate) fn open(out: Option<&Path>, store: &Path) -> anyhow::Result<Sink> {
        Ok(match out {
            Some(path) => Sink::File(
                OutputFile::create(path, store)
                    .with_context(|| format!("opening output {}", path.display()))?,
            ),
            None => Sink::Stdout(BufWriter::new(std::io::stdout())),
        })
    }

    /// Flushes everything and, for a file, puts it in place.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(mut w) => w.flush()?,
            Sink::File(f) => f.commit()?,
        }
        Ok(())
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Stdout(w) => w.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::File(f) => f.flush(),
        }
    }
}

/// Whether an error is (caused by) writing to a closed pipe.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            // A CSV writer's error converted into an I/O error hides its cause
            // inside (csv::Error has no `source`).
            return e.kind() == BrokenPipe
                || e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<csv::Error>())
                    .is_some_and(csv_broken_pipe);
        }
        cause
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind)
            .is_some_and(|k| k == BrokenPipe)
            || cause
                .downcast_ref::<csv::Error>()
                .is_some_and(csv_broken_pipe)
    })
}

fn csv_broken_pipe(e: &csv::Error) -> bool {
    matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe)
}
