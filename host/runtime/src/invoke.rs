//! `Runtime`: loads function code (validated, compiled once, cached on disk,
//! pre-instantiated) and invokes it in a sandbox, reusing warm instances.
//!
//! ```text
//! let runtime = Runtime::new(store.clone(), RuntimeOptions::default())?;
//! let function = runtime.load("aggregate", 1, &wasm)?;          // validate + compile/cache
//! let outcome = runtime.invoke(&function, &Invocation::new(event, limits, grants));
//! ```
//!
//! An invocation's table and stream writes are buffered in an overlay and
//! committed in one store write job when it succeeds (`invoke`), or handed to
//! the caller to commit with its own checkpoint (`invoke_with_commit`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eddy_store::Store;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store as WasmStore};

use crate::bindgen::{Context, Event, Handler, HandlerPre, Response};
use crate::cache::ComponentCache;
use crate::engine::{Allocation, EpochTicker, build_engine, ticks_for};
use crate::error::{InvocationError, RuntimeError};
use crate::grants::Grants;
use crate::overlay::{Committed, Overlay, Writes};
use crate::sandbox::{Call, HostState, Limits, classify};

/// Warm instances kept per function version (more concurrent invocations
/// instantiate extra ones, which are dropped afterwards).
const MAX_WARM: usize = 8;

/// How a `Runtime` is set up.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// The instance allocator (pooling by default).
    pub allocation: Allocation,
}

/// The engine, the linker with WASI and eddy's imports, and the component
/// cache of one data directory. Share it (`Arc`) across threads.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache: ComponentCache,
    store: Store,
    next_request: AtomicU64,
    // Last: the ticker thread stops when the runtime drops.
    _ticker: EpochTicker,
}

/// One loaded function version: its compiled, pre-instantiated code and its
/// warm instances. Cheap to share (`Arc`); load a new version to hot-swap.
pub struct Function {
    name: String,
    version: u32,
    hash: String,
    pre: HandlerPre<HostState>,
    warm: Mutex<Vec<Warm>>,
}

/// A live instance and the sandbox settings it was made with.
struct Warm {
    store: WasmStore<HostState>,
    handler: Handler,
    memory_bytes: usize,
    env: Vec<(String, String)>,
}

/// What to run: the event, and the limits, grants and environment to run under.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub event: Event,
    pub limits: Limits,
    pub grants: Arc<Grants>,
    /// Environment variables granted to the function (`--env K=V`).
    pub env: Vec<(String, String)>,
    /// The request id; one is generated when `None`.
    pub request_id: Option<String>,
}

impl Invocation {
    /// An invocation with no environment and a generated request id.
    pub fn new(event: Event, limits: Limits, grants: Grants) -> Invocation {
        Invocation {
            event,
            limits,
            grants: Arc::new(grants),
            env: Vec::new(),
            request_id: None,
        }
    }
}

/// The result of one invocation, with what the REPORT line shows.
#[derive(Debug, Clone)]
pub struct InvocationOutcome {
    pub request_id: String,
    /// The handler's response, or the named error that ended the invocation.
    pub result: Result<Response, InvocationError>,
    /// What the function logged and printed, bounded by `Limits::log_bytes`.
    pub logs: Vec<String>,
    /// Wall-clock time of the call and its commit.
    pub duration: Duration,
    pub fuel_used: u64,
    /// The largest linear memory the instance has had, in bytes.
    pub max_memory_used: usize,
    /// True when no warm instance was available and one was instantiated.
    pub cold_start: bool,
    /// What the commit wrote (zero when it failed or wrote nothing).
    pub committed: Committed,
}

impl Runtime {
    /// A runtime over `store`, caching compiled components in
    /// `store.dir()/components`. A pooling allocator that cannot reserve its
    /// address space falls back to on-demand allocation.
    pub fn new(store: Store, options: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let engine = match build_engine(options.allocation) {
            Ok(engine) => engine,
            Err(_) if options.allocation == Allocation::Pooling => {
                build_engine(Allocation::OnDemand)?
            }
            Err(e) => return Err(e),
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| RuntimeError::Engine(format!("linking WASI: {e:#}")))?;
        Handler::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(|e| RuntimeError::Engine(format!("linking eddy's imports: {e:#}")))?;
        let cache = ComponentCache::open(store.dir(), &engine)?;
        let ticker = EpochTicker::start(&engine)?;
        Ok(Runtime {
            engine,
            linker,
            cache,
            store,
            next_request: AtomicU64::new(1),
            _ticker: ticker,
        })
    }

    /// Components compiled (cache misses) since this runtime was created.
    pub fn compile_count(&self) -> u64 {
        self.cache.compiles()
    }

    /// Checks that `wasm` is a component eddy can run (a component, of the
    /// `eddy:trigger/handler` world, importing only what eddy provides),
    /// compiling it into the cache if needed. Stores nothing else.
    pub fn validate(&self, wasm: &[u8]) -> Result<(), RuntimeError> {
        self.cache
            .load(&self.engine, wasm, None, |c| self.prepare(c).map(drop))?;
        Ok(())
    }

    /// Loads version `version` of function `name`: validated, compiled (or
    /// mapped from the cache) and pre-instantiated. Hashes `wasm` to find it
    /// in the cache; use [`Runtime::load_with_hash`] when the hash is known.
    pub fn load(&self, name: &str, version: u32, wasm: &[u8]) -> Result<Function, RuntimeError> {
        self.load_inner(name, version, wasm, None)
    }

    /// [`Runtime::load`] for code whose SHA-256 (lower-case hex) the caller
    /// already has — eddy-store's `VersionInfo::code_hash`, computed when the
    /// code was uploaded — which saves hashing the component on every cold
    /// start. The caller vouches that `code_hash` is the hash of `wasm`; a
    /// value that is not 64 hex digits is ignored and the hash computed.
    pub fn load_with_hash(
        &self,
        name: &str,
        version: u32,
        code_hash: &str,
        wasm: &[u8],
    ) -> Result<Function, RuntimeError> {
        self.load_inner(name, version, wasm, Some(code_hash))
    }

    fn load_inner(
        &self,
        name: &str,
        version: u32,
        wasm: &[u8],
        code_hash: Option<&str>,
    ) -> Result<Function, RuntimeError> {
        let (pre, hash) = self
            .cache
            .load(&self.engine, wasm, code_hash, |c| self.prepare(c))?;
        Ok(Function {
            name: name.to_string(),
            version,
            hash,
            pre,
            warm: Mutex::new(Vec::new()),
        })
    }

    /// Resolves imports and the `handle` export: the world check.
    fn prepare(&self, component: &Component) -> Result<HandlerPre<HostState>, RuntimeError> {
        let pre = self.linker.instantiate_pre(component).map_err(|e| {
            RuntimeError::InvalidCode(format!(
                "the component needs imports eddy does not provide (is it built for the \
                 eddy:trigger/handler world?): {e:#}"
            ))
        })?;
        HandlerPre::new(pre).map_err(|e| {
            RuntimeError::InvalidCode(format!(
                "the component does not export the eddy:trigger/handler world's \
                 `handle` function: {e:#}"
            ))
        })
    }

    /// Runs `invocation` and commits its writes in one store write job if it
    /// succeeds. A conflicting concurrent write gives `InvocationError::Conflict`
    /// (nothing applied; run it again).
    pub fn invoke(&self, function: &Function, invocation: &Invocation) -> InvocationOutcome {
        let store = self.store.clone();
        self.invoke_with_commit(function, invocation, move |writes| {
            if writes.is_empty() {
                return Ok(Committed::default());
            }
            match store.write(move |ctx| writes.commit_in(ctx)) {
                Ok(Ok(done)) => Ok(done),
                Ok(Err(conflict)) => Err(InvocationError::Conflict(conflict.0)),
                Err(e) => Err(InvocationError::Commit(e.to_string())),
            }
        })
    }

    /// Runs `invocation`; on success hands its buffered writes to `commit`
    /// (e.g. to commit them in one job with a trigger's checkpoint). On
    /// failure the writes are dropped and `commit` is not called.
    pub fn invoke_with_commit(
        &self,
        function: &Function,
        invocation: &Invocation,
        commit: impl FnOnce(Writes) -> Result<Committed, InvocationError>,
    ) -> InvocationOutcome {
        let start = Instant::now();
        let request_id = invocation
            .request_id
            .clone()
            .unwrap_or_else(|| self.request_id());
        let mut outcome = InvocationOutcome {
            // Filled in when the context gives the id back (one copy less
            // per warm call); the early return below fills it itself.
            request_id: String::new(),
            result: Err(InvocationError::Instantiate(String::new())),
            logs: Vec::new(),
            duration: Duration::ZERO,
            fuel_used: 0,
            max_memory_used: 0,
            cold_start: false,
            committed: Committed::default(),
        };
        let mut warm = match function.take_warm(invocation) {
            Some(warm) => warm,
            None => match self.instantiate(function, invocation) {
                Ok(warm) => {
                    outcome.cold_start = true;
                    warm
                }
                Err(e) => {
                    outcome.request_id = request_id;
                    outcome.result = Err(e);
                    outcome.duration = start.elapsed();
                    return outcome;
                }
            },
        };
        let limits = invocation.limits;
        let context = Context {
            request_id,
            function_name: function.name.clone(),
            function_version: function.version,
            remaining_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
            remaining_fuel: limits.fuel,
        };
        let called = call(&mut warm, invocation, &context, &self.store);
        outcome.request_id = context.request_id;
        outcome.fuel_used = limits
            .fuel
            .saturating_sub(warm.store.get_fuel().unwrap_or(0));
        outcome.logs = warm.store.data().log.take();
        outcome.max_memory_used = warm.store.data().peak_memory();
        let overlay = warm.store.data_mut().call.take().map(|c| c.overlay);
        outcome.result = match (called, overlay) {
            (Ok(response), Some(overlay)) => match commit(overlay.into_writes()) {
                Ok(done) => {
                    outcome.committed = done;
                    Ok(response)
                }
                Err(e) => Err(e),
            },
            (Ok(_), None) => Err(InvocationError::Commit(
                "internal error: the overlay was lost".into(),
            )),
            (Err(e), _) => Err(e),
        };
        let poisoned = outcome
            .result
            .as_ref()
            .err()
            .is_some_and(InvocationError::poisons_instance);
        if !poisoned {
            function.put_warm(warm);
        }
        outcome.duration = start.elapsed();
        outcome
    }

    fn instantiate(
        &self,
        function: &Function,
        invocation: &Invocation,
    ) -> Result<Warm, InvocationError> {
        let memory_bytes = invocation.limits.memory_bytes;
        let mut store = WasmStore::new(&self.engine, HostState::new(memory_bytes, &invocation.env));
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        // Instantiation runs guest start code: bound it like a call.
        store
            .set_fuel(invocation.limits.fuel)
            .map_err(|e| InvocationError::Instantiate(format!("{e:#}")))?;
        store.set_epoch_deadline(ticks_for(invocation.limits.timeout));
        let handler = function.pre.instantiate(&mut store).map_err(|e| {
            match classify(e, store.data(), &invocation.limits) {
                InvocationError::Trap(t) => InvocationError::Instantiate(t),
                other => other,
            }
        })?;
        Ok(Warm {
            store,
            handler,
            memory_bytes,
            env: invocation.env.clone(),
        })
    }

    /// A new request id, shaped like Lambda's (8-4-4-4-12 hex), unique in the process.
    pub fn request_id(&self) -> String {
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mixed = (now as u64) ^ n.rotate_left(32);
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (mixed >> 32) as u32,
            (mixed >> 16) as u16,
            n & 0xfff,
            (mixed >> 4) & 0xfff,
            (now as u64 ^ n) & 0xffff_ffff_ffff
        )
    }
}

/// One call into the guest with fresh limits, log and overlay.
fn call(
    warm: &mut Warm,
    invocation: &Invocation,
    context: &Context,
    store: &Store,
) -> Result<Response, InvocationError> {
    let limits = invocation.limits;
    let ws = &mut warm.store;
    ws.set_fuel(limits.fuel)
        .map_err(|e| InvocationError::Trap(format!("{e:#}")))?;
    ws.set_epoch_deadline(ticks_for(limits.timeout));
    let state = ws.data_mut();
    state.log.reset(limits.log_bytes);
    state.call = Some(Call {
        overlay: Overlay::new(store.clone()),
        grants: invocation.grants.clone(),
    });
    match warm
        .handler
        .call_handle(&mut *ws, &invocation.event, context)
    {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) => Err(InvocationError::Handler {
            error_type: e.error_type,
            message: e.message,
        }),
        Err(e) => Err(classify(e, ws.data(), &limits)),
    }
}

impl Function {
    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version of its code.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The SHA-256 of its component (hex).
    pub fn code_hash(&self) -> &str {
        &self.hash
    }

    /// Warm instances ready now.
    pub fn warm_instances(&self) -> usize {
        self.warm.lock().map(|w| w.len()).unwrap_or(0)
    }

    /// A warm instance made with the same memory cap and environment.
    fn take_warm(&self, invocation: &Invocation) -> Option<Warm> {
        let mut warm = self.warm.lock().ok()?;
        // Instances made for other settings are stale: drop them.
        warm.retain(|w| {
            w.memory_bytes == invocation.limits.memory_bytes && w.env == invocation.env
        });
        warm.pop()
    }

    fn put_warm(&self, instance: Warm) {
        if let Ok(mut warm) = self.warm.lock()
            && warm.len() < MAX_WARM
        {
            warm.push(instance);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::content_hash;
    use crate::guests;

    fn noop() -> Vec<u8> {
        let path = guests::path("test_noop").expect("the noop guest is built");
        std::fs::read(path).unwrap()
    }

    fn runtime(dir: &std::path::Path) -> Runtime {
        let store = Store::open(dir, eddy_store::StoreOptions::default()).unwrap();
        Runtime::new(store, RuntimeOptions::default()).unwrap()
    }

    fn invocation() -> Invocation {
        Invocation::new(
            Event::Invoke("{}".into()),
            Limits::default(),
            Grants::none(),
        )
    }

    #[test]
    fn a_known_hash_finds_the_cached_code_and_a_malformed_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let code = noop();
        let hash = content_hash(&code);
        runtime(dir.path()).validate(&code).unwrap();
        let runtime = runtime(dir.path());
        let f = runtime.load_with_hash("noop", 1, &hash, &code).unwrap();
        assert_eq!(f.code_hash(), hash);
        let g = runtime
            .load_with_hash("noop", 2, "../../etc", &code)
            .unwrap();
        assert_eq!(g.code_hash(), hash, "a malformed hash is recomputed");
        assert_eq!(runtime.compile_count(), 0, "both came from the cache");
        assert!(runtime.invoke(&f, &invocation()).result.is_ok());
    }

    #[test]
    fn warm_instances_are_reused_per_version() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = runtime(dir.path());
        let code = noop();
        let v1 = runtime.load("noop", 1, &code).unwrap();
        let v2 = runtime.load("noop", 2, &code).unwrap();
        let first = runtime.invoke(&v1, &invocation());
        let second = runtime.invoke(&v1, &invocation());
        assert!(first.cold_start && !second.cold_start);
        assert_ne!(first.request_id, second.request_id);
        assert_eq!(v1.warm_instances(), 1);
        assert_eq!(v2.warm_instances(), 0, "version 2 has instances of its own");
        assert!(runtime.invoke(&v2, &invocation()).cold_start);
        let mut other_env = invocation();
        other_env.env = vec![("K".into(), "V".into())];
        assert!(
            runtime.invoke(&v1, &other_env).cold_start,
            "an instance made with another environment is not reused"
        );
    }
}
