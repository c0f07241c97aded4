//! A small deterministic parallel map over index ranges with `std::thread::scope`:
//! the indexes are cut into contiguous chunks, one per thread, and the results are
//! concatenated in index order, so the output never depends on the thread count.

use std::num::NonZeroUsize;
use std::thread;

/// Threads to use: the machine's parallelism, at most 8.
pub(crate) fn threads() -> usize {
    thread::available_parallelism()
        .map(NonZeroUsize::get)
        .unwrap_or(1)
        .clamp(1, 8)
}

/// `(0..n).map(f)` computed on up to [`threads`] threads when `n` is at least
/// `min_parallel`.
pub(crate) fn map_range<T, F>(n: usize, min_parallel: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(std::ops::Range<usize>) -> Vec<T> + Sync,
{
    let t = threads();
    if t == 1 || n < min_parallel.max(2) {
        return f(0..n);
    }
    let chunk = n.div_ceil(t);
    let f = &f;
    thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                let end = (start + chunk).min(n);
                s.spawn(move || f(start..end))
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                // A panic in a worker is a bug; re-raise it on the caller's thread.
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        out
    })
}
