//! Background upkeep of an open store: trims stream and change-stream records
//! past their retention period, as Kinesis and DynamoDB Streams do. Each pass
//! runs in short write jobs (bounded batches), so it never holds the writer long.

use std::sync::Weak;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::store::{Inner, Store};

/// How often expired records are looked for. Retention is counted in hours, so
/// a record outlives its period by at most this much.
pub const TRIM_PERIOD: Duration = Duration::from_secs(60);

/// The upkeep thread; stops and joins on Drop.
pub(crate) struct Maintenance {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Maintenance {
    /// Starts the thread. It holds the store only weakly, so it never keeps a
    /// closed store open; each pass upgrades the handle for its duration.
    pub(crate) fn start(store: Weak<Inner>) -> Maintenance {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("eddy-maintenance".into())
            .spawn(move || {
                loop {
                    match stopped.recv_timeout(TRIM_PERIOD) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let Some(inner) = store.upgrade() else { return };
                    trim_pass(&Store::from_inner(inner));
                }
            })
            .ok();
        Maintenance {
            stop: Some(stop),
            thread,
        }
    }
}

/// One pass over every stream and table change stream. Errors are reported and
/// the next pass tries again: upkeep must never take the store down.
pub fn trim_pass(store: &Store) {
    if let Err(e) = crate::streams::trim_expired(store) {
        eprintln!("eddy: trimming expired stream records failed (will retry): {e}");
    }
    if let Err(e) = crate::tables::trim_expired(store) {
        eprintln!("eddy: trimming expired change records failed (will retry): {e}");
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The last handle may be dropped by the upkeep thread itself (it held
            // the store during a pass); it then exits on its own.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}
