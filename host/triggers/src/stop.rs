//! A stop signal threads can wait on: backoffs and waits end early when the
//! engine stops, so `Triggers` drops promptly.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Set once, seen by every clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stop {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Stop {
    /// Asks every holder to stop.
    pub(crate) fn set(&self) {
        let (lock, cvar) = &*self.inner;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }

    /// True once `set` was called.
    pub(crate) fn is_set(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits up to `timeout` for a stop; returns true if stopped.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let (lock, cvar) = &*self.inner;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = cvar
            .wait_timeout_while(guard, timeout, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_stop_ends_waits_at_once() {
        let stop = Stop::default();
        assert!(!stop.wait(Duration::from_millis(1)));
        let other = stop.clone();
        let waiter = std::thread::spawn(move || other.wait(Duration::from_secs(600)));
        stop.set();
        assert!(waiter.join().unwrap());
        assert!(stop.is_set());
    }
}
