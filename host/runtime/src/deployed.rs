//! `Functions`: the deployed functions of one data directory, ready to run.
//! The one way an invocation happens — a direct Invoke or a trigger's batch:
//! resolve the function version (loaded once, cached by name, version and code
//! hash), run it under the function's limits and grants, record its logs and
//! metrics.
//!
//! Hot swap: `resolve(name, None)` reads the function's newest version from the
//! store each time, so the first invocation after `update-code` runs the new
//! code while invocations in flight finish on the `Arc<Deployed>` they hold.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy_store::Store;
use eddy_store::functions::{self, FunctionConfig};

use crate::bindgen::Event;
use crate::error::{InvocationError, RuntimeError};
use crate::grants::Grants;
use crate::invoke::{Function, Invocation, InvocationOutcome, Runtime, RuntimeOptions};
use crate::overlay::{Committed, Writes};
use crate::sandbox::Limits;
use crate::telemetry::Telemetry;

/// Loaded function versions kept; beyond this the cache starts over (a
/// reload is a cache hit on disk, ~0.3 ms).
const MAX_LOADED: usize = 256;

/// The runtime, the telemetry buffer and the loaded function versions.
pub struct Functions {
    store: Store,
    runtime: Runtime,
    telemetry: Arc<Telemetry>,
    loaded: Mutex<HashMap<(String, u32), Arc<Deployed>>>,
}

/// One function version as it runs: its settings, code, limits and grants.
pub struct Deployed {
    pub config: FunctionConfig,
    pub version: u32,
    pub function: Function,
    pub limits: Limits,
    pub grants: Arc<Grants>,
    pub env: Vec<(String, String)>,
}

impl Functions {
    /// The functions of `store`, with a runtime and telemetry of their own.
    pub fn new(store: Store, options: RuntimeOptions) -> Result<Functions, RuntimeError> {
        let runtime = Runtime::new(store.clone(), options)?;
        let telemetry = Telemetry::new(store.clone());
        Ok(Functions {
            store,
            runtime,
            telemetry,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// The store the functions read and write.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The engine and component cache.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The logs and metrics buffer.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// Version `version` of `name` (the newest when `None`), loaded.
    pub fn resolve(&self, name: &str, version: Option<u32>) -> Result<Arc<Deployed>, RuntimeError> {
        let config = functions::get_function(&self.store, name)?;
        let chosen = match version {
            Some(n) => config.version(n),
            None => config.latest(),
        };
        let Some(chosen) = chosen.cloned() else {
            // The store words the not-found error as Lambda does.
            functions::function_code(&self.store, name, version)?;
            return Err(RuntimeError::InvalidCode(format!("{name} has no code")));
        };
        let key = (name.to_string(), chosen.version);
        if let Some(found) = self.cached(&key)
            && found.function.code_hash() == chosen.code_hash
            && found.config == config
        {
            return Ok(found);
        }
        let (config, info, code) =
            functions::function_code(&self.store, name, Some(chosen.version))?;
        let deployed = Arc::new(self.deploy(config, info.version, &info.code_hash, &code)?);
        if let Ok(mut loaded) = self.loaded.lock() {
            if loaded.len() >= MAX_LOADED {
                loaded.clear();
            }
            loaded.insert(key, deployed.clone());
        }
        Ok(deployed)
    }

    fn cached(&self, key: &(String, u32)) -> Option<Arc<Deployed>> {
        self.loaded.lock().ok()?.get(key).cloned()
    }

    fn deploy(
        &self,
        config: FunctionConfig,
        version: u32,
        code_hash: &str,
        code: &[u8],
    ) -> Result<Deployed, RuntimeError> {
        let mut grants = config.grants.clone();
        if let Some(role) = &config.role {
            grants.extend(functions::get_role(&self.store, role)?.grants);
        }
        let grants = Arc::new(Grants::parse(&grants)?);
        // The store knows the code's hash: no need to hash the component again.
        let function = self
            .runtime
            .load_with_hash(&config.name, version, code_hash, code)?;
        let mib = usize::try_from(config.memory_mib).unwrap_or(usize::MAX);
        let limits = Limits {
            timeout: Duration::from_secs(u64::from(config.timeout_secs)),
            memory_bytes: mib.saturating_mul(1 << 20),
            fuel: config.fuel,
            ..Limits::default()
        };
        let env = config
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Deployed {
            config,
            version,
            function,
            limits,
            grants,
            env,
        })
    }

    /// Runs `event` on `deployed` and commits its writes when it succeeds.
    pub fn invoke(&self, deployed: &Deployed, event: Event) -> InvocationOutcome {
        let outcome = self
            .runtime
            .invoke(&deployed.function, &deployed.invocation(event));
        self.record(deployed, &outcome);
        outcome
    }

    /// Runs `event` on `deployed`; on success hands its writes to `commit`
    /// (a trigger commits them with its checkpoint).
    pub fn invoke_with_commit(
        &self,
        deployed: &Deployed,
        event: Event,
        commit: impl FnOnce(Writes) -> Result<Committed, InvocationError>,
    ) -> InvocationOutcome {
        let invocation = deployed.invocation(event);
        let outcome = self
            .runtime
            .invoke_with_commit(&deployed.function, &invocation, commit);
        self.record(deployed, &outcome);
        outcome
    }

    /// Buffers the logs and metrics of one invocation of `deployed`.
    pub fn record(&self, deployed: &Deployed, outcome: &InvocationOutcome) {
        self.telemetry.record(
            &deployed.config.name,
            deployed.version,
            deployed.config.memory_mib,
            outcome,
        );
    }
}

/// An invocation's log as Lambda frames it: `START RequestId: … Version: N`,
/// the function's lines, `END`, and `REPORT` with Duration, Billed Duration,
/// Memory Size, Max Memory Used and eddy's Fuel Used. Invoke's LogResult and
/// the CLI show it; telemetry stores it.
pub fn framed_log(outcome: &InvocationOutcome, version: u32, memory_mib: u32) -> Vec<String> {
    let id = &outcome.request_id;
    let ms = outcome.duration.as_secs_f64() * 1000.0;
    // Lambda bills whole milliseconds, at least one.
    let billed = outcome.duration.as_micros().div_ceil(1000).max(1);
    let used_mb = outcome.max_memory_used.div_ceil(1 << 20);
    let mut lines = vec![format!("START RequestId: {id} Version: {version}")];
    lines.extend(outcome.logs.iter().map(|l| l.trim_end().to_string()));
    lines.push(format!("END RequestId: {id}"));
    lines.push(format!(
        "REPORT RequestId: {id}\tDuration: {ms:.2} ms\tBilled Duration: {billed} ms\t\
         Memory Size: {memory_mib} MB\tMax Memory Used: {used_mb} MB\tFuel Used: {}",
        outcome.fuel_used
    ));
    lines
}

impl Deployed {
    /// An invocation of `event` under this version's limits, grants and env.
    pub fn invocation(&self, event: Event) -> Invocation {
        Invocation {
            event,
            limits: self.limits,
            grants: self.grants.clone(),
            env: self.env.clone(),
            request_id: None,
        }
    }
}
