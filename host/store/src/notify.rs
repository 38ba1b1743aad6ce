//! Commit notifications: readers that wait for new records (trigger pollers,
//! `--follow` readers) sleep on a generation counter that every commit appending
//! records bumps, instead of polling on a timer.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Notifier {
    inner: Arc<(Mutex<u64>, Condvar)>,
}

impl Notifier {
    /// The current generation; pass it to `wait_past` to wait for the next commit.
    pub fn generation(&self) -> u64 {
        *self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn notify(&self) {
        let (lock, cvar) = &*self.inner;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        cvar.notify_all();
    }

    /// Blocks until a commit after `generation` appended records, or `timeout`
    /// passes. Returns the generation now current.
    pub fn wait_past(&self, generation: u64, timeout: Duration) -> u64 {
        let (lock, cvar) = &*self.inner;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = cvar
            .wait_timeout_while(guard, timeout, |g| *g <= generation)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}
