//! Per-invocation limits and the state a function's wasmtime `Store` holds:
//! WASI p2 that grants nothing (no preopened directories, no environment
//! unless granted, no network, no name lookup), stdout/stderr captured into a
//! bounded log, a memory cap through a `ResourceLimiter`, fuel and an epoch
//! deadline set per call. Exceeding a limit is turned into a named
//! `InvocationError`.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder, Trap, WasmBacktrace};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::error::InvocationError;
use crate::grants::Grants;
use crate::logs::LogBuffer;
use crate::overlay::Overlay;

/// Lambda's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Lambda's default memory size.
pub const DEFAULT_MEMORY_BYTES: usize = 128 << 20;
/// Fuel per invocation by default (roughly a second of tight guest code).
pub const DEFAULT_FUEL: u64 = 1_000_000_000;
/// Log output kept per invocation by default.
pub const DEFAULT_LOG_BYTES: usize = 256 * 1024;

/// The limits of one function's invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time per invocation.
    pub timeout: Duration,
    /// The most linear memory the instance may have, in bytes.
    pub memory_bytes: usize,
    /// Fuel per invocation (deterministic: the same work uses the same fuel).
    pub fuel: u64,
    /// Log bytes kept per invocation; the rest is dropped with a marker.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: DEFAULT_TIMEOUT,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            fuel: DEFAULT_FUEL,
            log_bytes: DEFAULT_LOG_BYTES,
        }
    }
}

/// A memory cap that remembers the peak and whether the guest hit the cap.
pub(crate) struct MemoryLimiter {
    cap: usize,
    peak: usize,
    exceeded: bool,
    others: StoreLimits,
}

/// The error a refused memory growth traps with.
#[derive(Debug, thiserror::Error)]
#[error("memory limit exceeded")]
struct MemoryCapReached;

impl MemoryLimiter {
    fn new(cap: usize) -> MemoryLimiter {
        MemoryLimiter {
            cap,
            peak: 0,
            exceeded: false,
            others: StoreLimitsBuilder::new().table_elements(1 << 20).build(),
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            // Trap right away: a Rust guest would abort on the failed grow
            // anyway, and this way the error is named precisely.
            self.exceeded = true;
            return Err(wasmtime::Error::new(MemoryCapReached));
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.others.table_growing(current, desired, maximum)
    }
}

/// What a host call needs during one invocation.
pub(crate) struct Call {
    pub overlay: Overlay,
    pub grants: Arc<Grants>,
}

/// The data of a function instance's wasmtime `Store`.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    pub log: LogBuffer,
    /// `Some` while an invocation runs.
    pub call: Option<Call>,
}

impl HostState {
    /// A sandbox with `memory_bytes` of memory, the granted environment
    /// variables and nothing else.
    pub fn new(memory_bytes: usize, env: &[(String, String)]) -> HostState {
        let log = LogBuffer::default();
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(log.sink(0))
            .stderr(log.sink(1))
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false);
        for (key, value) in env {
            wasi.env(key, value);
        }
        HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_bytes),
            log,
            call: None,
        }
    }

    /// The largest linear memory the instance has had, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.limiter.peak
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Names the failure of a call into the guest.
pub(crate) fn classify(
    err: wasmtime::Error,
    state: &HostState,
    limits: &Limits,
) -> InvocationError {
    if state.limiter.exceeded {
        return InvocationError::MemoryLimitExceeded;
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => InvocationError::FuelExhausted,
        Some(Trap::Interrupt) => InvocationError::TimedOut(limits.timeout),
        Some(trap) => {
            let backtrace = err
                .downcast_ref::<WasmBacktrace>()
                .map(|b| format!("\n{b}"))
                .unwrap_or_default();
            InvocationError::Trap(format!("{trap}{backtrace}"))
        }
        None => InvocationError::Trap(format!("{err:?}")),
    }
}
