//! The one wasmtime `Engine` eddy runs every function on, and the epoch ticker
//! that gives invocations their wall-clock timeout.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::RuntimeError;

/// How often the epoch advances: the resolution of invocation timeouts.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How the engine allocates instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Allocation {
    /// Pre-reserved slots (instantiation ~10 µs instead of ~15 µs).
    #[default]
    Pooling,
    /// mmap per instance; for hosts where reserving the pool's address space fails.
    OnDemand,
}

/// Builds the engine: component model, fuel, epoch interruption, no
/// component-model concurrency (it makes every export call ~2.7× slower in 48),
/// and the requested allocator.
pub fn build_engine(allocation: Allocation) -> Result<Engine, RuntimeError> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .concurrency_support(false)
        .consume_fuel(true)
        .epoch_interruption(true);
    if allocation == Allocation::Pooling {
        let mut pool = PoolingAllocationConfig::new();
        // Enough slots for many warm instances; every slot is only reserved
        // address space until an instance uses it.
        pool.total_component_instances(1000)
            .total_core_instances(2000)
            .total_memories(1000)
            .total_tables(2000)
            .max_memory_size(4 << 30);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config).map_err(|e| RuntimeError::Engine(format!("{e:#}")))
}

/// A stable hash of everything in the engine's configuration that makes
/// compiled code incompatible (part of the component cache's key).
pub fn config_hash(engine: &Engine) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

/// Advances the engine's epoch every `EPOCH_TICK` on a background thread;
/// stops and joins the thread when dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine`'s epoch.
    pub fn start(engine: &Engine) -> Result<EpochTicker, RuntimeError> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("eddy-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| RuntimeError::Engine(format!("cannot start the epoch thread: {e}")))?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Epoch ticks in `timeout`, rounded up, at least one.
pub fn ticks_for(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_micros().max(1);
    let ticks = timeout.as_micros().div_ceil(tick);
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_allocators_build_and_hash_differently() {
        let pooled = build_engine(Allocation::Pooling).unwrap();
        let on_demand = build_engine(Allocation::OnDemand).unwrap();
        assert_eq!(config_hash(&pooled), config_hash(&pooled.clone()));
        // The allocator does not change compiled code, so the cache is shared.
        let _ = config_hash(&on_demand);
    }

    #[test]
    fn the_ticker_advances_the_epoch_and_joins() {
        let engine = build_engine(Allocation::OnDemand).unwrap();
        let ticker = EpochTicker::start(&engine).unwrap();
        std::thread::sleep(EPOCH_TICK * 4);
        drop(ticker);
    }

    #[test]
    fn ticks_round_up() {
        assert_eq!(ticks_for(Duration::ZERO), 1);
        assert_eq!(ticks_for(EPOCH_TICK), 1);
        assert_eq!(ticks_for(EPOCH_TICK + Duration::from_micros(1)), 2);
        assert_eq!(ticks_for(Duration::from_secs(3)), 600);
    }
}
