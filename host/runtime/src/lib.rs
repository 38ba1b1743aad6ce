//! eddy-runtime: trigger functions as WebAssembly components on wasmtime.
pub mod bindgen;
mod cache;
mod convert;
pub mod deployed;
pub mod engine;
pub mod error;
pub mod events;
pub mod grants;
mod host;
pub mod invoke;
mod logs;
pub mod overlay;
pub mod sandbox;
pub mod telemetry;

/// The guest components built from guests/ (by build.rs): the two lab
/// blueprints embedded as bytes, and every guest's path (test guests).
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));

    /// The path of the guest component `name` (its wasm file stem, e.g.
    /// `infinite_loop`), if it was built.
    pub fn path(name: &str) -> Option<&'static str> {
        GUESTS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }
}
