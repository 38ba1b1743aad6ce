//! `Triggers`: the engine that runs every enabled event source mapping of a
//! data directory. A supervisor thread keeps one poller thread per (enabled
//! mapping, shard of its source): it re-lists the mappings every
//! `RESCAN` (one read snapshot, cheap), starts pollers for new or enabled
//! mappings, and stops those of disabled, deleted or changed ones — so
//! `create`/`update`/`delete` take effect by themselves, with nobody calling
//! the engine.
//!
//! A changed mapping's old poller is stopped and joined before its new one
//! starts, so two pollers never feed the same shard to a function at once
//! (the commit's checkpoint check would keep their effects single anyway).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use eddy_runtime::deployed::Functions;
use eddy_store::Store;
use eddy_store::mappings::{self, EventSourceMapping, MappingState, ResolvedSource, Source};

use crate::filters::Filters;
use crate::handler::NativeHandlers;
use crate::latency::Latency;
use crate::poller::Poller;
use crate::source::ShardSource;
use crate::stop::Stop;

/// How often the supervisor re-lists the mappings.
pub const RESCAN: Duration = Duration::from_millis(50);

/// The running trigger engine. Dropping it (or `stop`) stops the pollers:
/// each finishes the invocation it is in (committing it, or nothing) and
/// abandons the rest of its batch, whose records stay after the checkpoint
/// for the next start. Then every thread is joined.
pub struct Triggers {
    stop: Stop,
    supervisor: Option<JoinHandle<()>>,
    pollers: Arc<Mutex<Vec<PollerId>>>,
    latency: Arc<Latency>,
}

/// One running poller: which mapping and which shard of its source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PollerId {
    /// The mapping's UUID.
    pub uuid: String,
    /// The source's record log id.
    pub log: u64,
    /// The shard index.
    pub shard: u32,
}

impl Triggers {
    /// Starts running the mappings of `functions.store()`.
    pub fn start(functions: Arc<Functions>) -> Triggers {
        Triggers::start_with_natives(functions, NativeHandlers::new())
    }

    /// `start`, with the functions named in `natives` handled by those
    /// native handlers instead of their components (see `NativeHandler`:
    /// for measuring the sandbox on the product's path).
    pub fn start_with_natives(functions: Arc<Functions>, natives: NativeHandlers) -> Triggers {
        let stop = Stop::default();
        let pollers = Arc::new(Mutex::new(Vec::new()));
        let latency = Arc::new(Latency::default());
        let supervisor = Supervisor {
            store: functions.store().clone(),
            functions,
            natives: Arc::new(natives),
            latency: latency.clone(),
            stop: stop.clone(),
            running: HashMap::new(),
            stopping: Vec::new(),
            published: pollers.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("eddy-triggers".into())
            .spawn(move || supervisor.run())
            .ok();
        Triggers {
            stop,
            supervisor: thread,
            pollers,
            latency,
        }
    }

    /// The delays from a batch's first record arriving to the invocation
    /// that delivers it starting, over every poller of this engine.
    pub fn latency(&self) -> &Latency {
        &self.latency
    }

    /// The pollers running now (as of the last rescan), in order. A poller
    /// of a disabled or deleted mapping is gone from this list once it has
    /// been told to stop; it may still be finishing an invocation.
    pub fn pollers(&self) -> Vec<PollerId> {
        self.pollers.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Stops every poller and waits for them (the same as dropping it).
    pub fn stop(self) {}
}

impl Drop for Triggers {
    fn drop(&mut self) {
        self.stop.set();
        if let Some(thread) = self.supervisor.take() {
            let _ = thread.join();
        }
    }
}

/// A poller's identity: (mapping UUID, log id, shard index).
type Key = (String, u64, u32);

/// A mapping and its resolved source, shared by the keys of its shards.
type Shared = (Arc<EventSourceMapping>, Arc<ResolvedSource>);

struct Running {
    mapping: Arc<EventSourceMapping>,
    stop: Stop,
    thread: JoinHandle<()>,
}

struct Supervisor {
    functions: Arc<Functions>,
    natives: Arc<NativeHandlers>,
    latency: Arc<Latency>,
    store: Store,
    stop: Stop,
    running: HashMap<Key, Running>,
    /// Pollers told to stop that may still be finishing an invocation.
    stopping: Vec<(Key, JoinHandle<()>)>,
    /// What `Triggers::pollers` shows.
    published: Arc<Mutex<Vec<PollerId>>>,
}

impl Supervisor {
    fn run(mut self) {
        loop {
            self.reconcile();
            if self.stop.wait(RESCAN) {
                break;
            }
        }
        for running in self.running.values() {
            running.stop.set();
        }
        for (_, running) in self.running.drain() {
            let _ = running.thread.join();
        }
        for (_, thread) in self.stopping.drain(..) {
            let _ = thread.join();
        }
    }

    /// Brings the running pollers in line with the stored mappings.
    fn reconcile(&mut self) {
        let (finished, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.stopping)
            .into_iter()
            .partition(|(_, thread)| thread.is_finished());
        self.stopping = still;
        for (_, thread) in finished {
            let _ = thread.join();
        }
        // A store error leaves things as they are until the next rescan.
        let Some(desired) = self.desired() else {
            return;
        };
        let outdated: Vec<Key> = self
            .running
            .iter()
            .filter(|(key, r)| desired.get(*key).is_none_or(|(m, _)| **m != *r.mapping))
            .map(|(key, _)| key.clone())
            .collect();
        for key in outdated {
            if let Some(running) = self.running.remove(&key) {
                running.stop.set();
                self.stopping.push((key, running.thread));
            }
        }
        for (key, (mapping, resolved)) in desired {
            let busy =
                self.running.contains_key(&key) || self.stopping.iter().any(|(k, _)| *k == key);
            if !busy && let Some(running) = self.spawn(mapping, &resolved, key.2) {
                self.running.insert(key, running);
            }
        }
        self.publish();
    }

    fn publish(&self) {
        let mut ids: Vec<PollerId> = self
            .running
            .keys()
            .map(|(uuid, log, shard)| PollerId {
                uuid: uuid.clone(),
                log: *log,
                shard: *shard,
            })
            .collect();
        ids.sort();
        if let Ok(mut published) = self.published.lock() {
            *published = ids;
        }
    }

    /// Every (enabled mapping, shard) that should have a poller now. A
    /// mapping and its source are shared by its shards, not copied per shard
    /// (this runs every `RESCAN`).
    fn desired(&self) -> Option<HashMap<Key, Shared>> {
        let all = mappings::list(&self.store).ok()?;
        let mut out = HashMap::new();
        for mapping in all.into_iter().filter(|m| m.state == MappingState::Enabled) {
            // A missing source has nothing to poll; it is looked for again
            // at every rescan (a re-created stream is picked up).
            let Ok(resolved) = mappings::resolve_source(&self.store, &mapping.source) else {
                continue;
            };
            // A table's mapping reads the change stream it was created on;
            // once that stream is replaced by a new one, it has no source.
            if matches!(mapping.source, Source::Table(_)) && resolved.arn != mapping.source_arn {
                continue;
            }
            let (mapping, resolved) = (Arc::new(mapping), Arc::new(resolved));
            for &shard in &resolved.shards {
                let key = (mapping.uuid.clone(), resolved.log, shard);
                out.insert(key, (mapping.clone(), resolved.clone()));
            }
        }
        Some(out)
    }

    fn spawn(
        &self,
        mapping: Arc<EventSourceMapping>,
        resolved: &ResolvedSource,
        shard: u32,
    ) -> Option<Running> {
        let source = ShardSource::new(&self.store, &mapping, resolved, shard).ok()?;
        let filters = if mapping.filters.is_empty() {
            Ok(None)
        } else {
            Filters::parse(&mapping.filters).map(Some)
        };
        let stop = Stop::default();
        let poller = Poller {
            functions: self.functions.clone(),
            natives: self.natives.clone(),
            latency: self.latency.clone(),
            store: self.store.clone(),
            function_arn: format!(
                "{}function:{}",
                self.store.arn_prefix("lambda"),
                mapping.function_name
            ),
            mapping: (*mapping).clone(),
            source,
            filters,
            stop: stop.clone(),
        };
        let name = format!("eddy-poller-{}", shard);
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || poller.run())
            .ok()?;
        Some(Running {
            mapping,
            stop,
            thread,
        })
    }
}
