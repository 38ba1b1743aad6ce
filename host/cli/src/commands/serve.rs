//! `eddy serve [--listen ADDR]`: holds a data directory and serves it over
//! HTTP (the AWS JSON protocol, so the aws CLI and the SDKs work with
//! `--endpoint-url`), runs the trigger engine, and lets every other eddy
//! command on that directory work through it (see `crate::remote`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use eddy_api::Api;
use eddy_api::http::Server;
use eddy_store::{Store, StoreError};
use eddy_triggers::Triggers;

use super::Ctx;
use crate::remote::{self, Claim};

/// LocalStack's port, so tools already pointed at a local AWS find eddy there.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4566";

/// Arguments of `eddy serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on. Port 0 picks a free port (the line printed on
    /// start says which). Serve on loopback only: eddy has no authentication.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
}

/// Serves the context's data directory until SIGINT or SIGTERM.
pub fn run(ctx: &Ctx, args: ServeArgs) -> Result<()> {
    let data_dir = ctx.data_dir();
    let server = Server::bind(args.listen).map_err(|e| bind_error(args.listen, e))?;
    let addr = server.local_addr();
    if !addr.ip().is_loopback() {
        eprintln!(
            "eddy serve: warning: {addr} is reachable from other machines, and eddy has no authentication"
        );
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let mut claim = Claim::take(data_dir, addr)?;
    let store = open_store(ctx)?;
    let api = Arc::new(Api::new(store));
    let functions = api.functions()?;
    // The event source mappings run for as long as the server does.
    let triggers = Triggers::start(functions.clone());
    claim.serving()?;
    println!(
        "eddy serve: listening on http://{addr} (data dir {})",
        data_dir.display()
    );
    server.serve(api);
    // After the last request, so no invocation is cut off mid-request; the
    // pollers finish their invocation in flight and are joined.
    drop(triggers);
    if let Err(e) = functions.telemetry().flush() {
        eprintln!("eddy serve: could not write the last logs and metrics: {e}");
    }
    // The store closes with its last holder: close it before the record goes,
    // so a command that finds no record also finds the directory free.
    drop(functions);
    drop(claim);
    eprintln!("eddy serve: stopped");
    Ok(())
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        anyhow::anyhow!(
            "cannot listen on {addr}: the address is in use (LocalStack or another eddy serve?); \
             choose another with --listen 127.0.0.1:PORT, or --listen 127.0.0.1:0 for any free port"
        )
    } else {
        anyhow::Error::new(e).context(format!("cannot listen on {addr}"))
    }
}

/// Opens the store, waiting up to `remote::STARTUP_WAIT` while another eddy
/// command holds the directory: that command finishes, then the server has it.
fn open_store(ctx: &Ctx) -> Result<Store> {
    let data_dir = ctx.data_dir();
    let deadline = Instant::now() + remote::STARTUP_WAIT;
    let mut said = false;
    loop {
        match ctx.open() {
            Err(StoreError::DirectoryLocked(_)) if Instant::now() < deadline => {
                if !said {
                    eprintln!(
                        "eddy serve: waiting for the eddy command that holds {}",
                        data_dir.display()
                    );
                    said = true;
                }
                std::thread::sleep(remote::POLL);
            }
            Err(StoreError::DirectoryLocked(_)) => bail!(
                "another eddy process has held {} for over {:?}; stop it, then start eddy serve again",
                data_dir.display(),
                remote::STARTUP_WAIT
            ),
            Err(e) => return Err(ctx.open_error(e)),
            Ok(store) => return Ok(store),
        }
    }
}
