//! The server record: how `eddy serve` tells the other eddy commands that it
//! holds a data directory, and how they find it.
//!
//! `<data-dir>/server.json` holds {pid, addr, started_ms, state}. The server
//! claims the file atomically (written aside, then hard-linked into place, so
//! two servers cannot both claim it and no reader sees half a record), says
//! `starting` until it holds the store and `serving` once it answers, and
//! removes it when it exits cleanly. A record left by a killed server is stale
//! when its process is gone and its address does not answer; whoever finds it
//! so removes it.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use eddy_api::http::Client;
use serde::{Deserialize, Serialize};

/// The record's file name inside the data directory.
pub const RECORD_FILE: &str = "server.json";

/// How long a command waits for a starting server, and a starting server for
/// the command that holds the directory.
pub const STARTUP_WAIT: Duration = Duration::from_secs(10);

/// How often a waiting side looks again.
pub const POLL: Duration = Duration::from_millis(25);

/// How long a health check may take before the server counts as not answering.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Bound, waiting for the store.
    Starting,
    /// Answering requests.
    Serving,
}

/// The contents of `server.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRecord {
    pub pid: u32,
    pub addr: SocketAddr,
    pub started_ms: u64,
    pub state: State,
}

/// The record's path for `data_dir`.
pub fn record_path(data_dir: &Path) -> PathBuf {
    data_dir.join(RECORD_FILE)
}

/// The record, if there is one. A record that does not parse is treated as
/// absent only by the caller's choice: it is reported here as an error.
fn read(data_dir: &Path) -> Result<Option<ServerRecord>> {
    let path = record_path(data_dir);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let record = serde_json::from_slice(&text).with_context(|| {
        format!(
            "{} is not a server record; if no `eddy serve` is running on this directory, delete it",
            path.display()
        )
    })?;
    Ok(Some(record))
}

/// The server that holds `data_dir`, if one does; waits up to `STARTUP_WAIT`
/// for a starting server. A stale record is removed and means no server.
pub fn find_server(data_dir: &Path) -> Result<Option<Client>> {
    let deadline = Instant::now() + STARTUP_WAIT;
    let mut said = false;
    loop {
        let Some(record) = read(data_dir)? else {
            return Ok(None);
        };
        if record.state == State::Serving
            && let Some(client) = answering(&record)?
        {
            return Ok(Some(client));
        }
        if !pid_alive(record.pid) {
            // Gone; its address answered no health check as this server.
            remove_if_still(data_dir, &record);
            return Ok(None);
        }
        if Instant::now() >= deadline {
            bail!(
                "eddy serve (pid {}) is recorded in {} as {:?} at http://{} but has not answered for {STARTUP_WAIT:?}; \
                 if no eddy serve is running on this directory, delete that file",
                record.pid,
                record_path(data_dir).display(),
                record.state,
                record.addr
            );
        }
        if !said {
            eprintln!("eddy: waiting for eddy serve (pid {}) to start", record.pid);
            said = true;
        }
        std::thread::sleep(POLL);
    }
}

/// A client of the recorded server when it answers as that very process.
fn answering(record: &ServerRecord) -> Result<Option<Client>> {
    let client = Client::new(record.addr).context("cannot start an HTTP client")?;
    match client.health(HEALTH_TIMEOUT) {
        Ok(health) if health.pid == record.pid => Ok(Some(client)),
        _ => Ok(None),
    }
}

/// Removes a stale record, unless a new server has claimed the file since.
fn remove_if_still(data_dir: &Path, stale: &ServerRecord) {
    if let Ok(Some(now)) = read(data_dir)
        && now == *stale
    {
        let _ = std::fs::remove_file(record_path(data_dir));
    }
}

/// Whether process `pid` is running (a zombie is not). Only Linux can tell
/// through /proc without unsafe code; elsewhere every pid counts as alive,
/// so a stale record is found by its address alone after `STARTUP_WAIT`.
pub fn pid_alive(pid: u32) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: "123 (eddy) Z ...".
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// This process's claim on a data directory: the record, removed on drop.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    record: ServerRecord,
}

impl Claim {
    /// Claims `data_dir` for a server at `addr`, recorded as starting. Fails,
    /// saying who, when another server holds or is starting on it; a stale
    /// record is removed and the claim retried.
    pub fn take(data_dir: &Path, addr: SocketAddr) -> Result<Claim> {
        let record = ServerRecord {
            pid: std::process::id(),
            addr,
            started_ms: eddy_store::Clock::System.now_ms(),
            state: State::Starting,
        };
        let path = record_path(data_dir);
        for _ in 0..3 {
            match link_new(&path, &record) {
                Ok(()) => return Ok(Claim { path, record }),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => refuse_unless_stale(data_dir)?,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot write {}", path.display()));
                }
            }
        }
        bail!(
            "cannot claim {}: other servers keep claiming it",
            path.display()
        )
    }

    /// Records that the server now answers requests.
    pub fn serving(&mut self) -> Result<()> {
        self.record.state = State::Serving;
        let aside = aside(&self.path);
        write(&aside, &self.record)?;
        std::fs::rename(&aside, &self.path)
            .with_context(|| format!("cannot update {}", self.path.display()))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Errors unless the existing record is stale (then it is removed).
fn refuse_unless_stale(data_dir: &Path) -> Result<()> {
    let Some(record) = read(data_dir)? else {
        return Ok(());
    };
    let live = match record.state {
        State::Serving => answering(&record)?.is_some() || pid_alive(record.pid),
        State::Starting => pid_alive(record.pid),
    };
    if live {
        bail!(
            "eddy serve (pid {}) already {} this data directory at http://{}; stop it first (its record: {})",
            record.pid,
            if record.state == State::Serving {
                "serves"
            } else {
                "is starting on"
            },
            record.addr,
            record_path(data_dir).display()
        );
    }
    remove_if_still(data_dir, &record);
    Ok(())
}

/// Writes `record` beside `path`, then links it into place: creating `path`
/// fails if it exists, and a reader sees either no record or all of it.
fn link_new(path: &Path, record: &ServerRecord) -> io::Result<()> {
    let aside = aside(path);
    write(&aside, record).map_err(io::Error::other)?;
    let linked = std::fs::hard_link(&aside, path);
    let _ = std::fs::remove_file(&aside);
    linked
}

fn write(path: &Path, record: &ServerRecord) -> Result<()> {
    let text = serde_json::to_vec_pretty(record)?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// A private temporary name beside the record.
fn aside(path: &Path) -> PathBuf {
    path.with_extension(format!("json.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[test]
    fn a_claim_is_exclusive_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let mut claim = Claim::take(dir.path(), addr()).unwrap();
        let record = read(dir.path()).unwrap().unwrap();
        assert_eq!(record.pid, std::process::id());
        assert_eq!(record.state, State::Starting);
        // This very process is alive, so a second claim is refused.
        let err = Claim::take(dir.path(), addr()).unwrap_err().to_string();
        assert!(err.contains("already"), "{err}");
        claim.serving().unwrap();
        assert_eq!(read(dir.path()).unwrap().unwrap().state, State::Serving);
        drop(claim);
        assert!(read(dir.path()).unwrap().is_none());
    }

    #[test]
    fn a_dead_servers_record_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        for state in [State::Starting, State::Serving] {
            let record = ServerRecord {
                pid: dead,
                addr: addr(),
                started_ms: 0,
                state,
            };
            write(&record_path(dir.path()), &record).unwrap();
            assert!(find_server(dir.path()).unwrap().is_none());
            assert!(
                read(dir.path()).unwrap().is_none(),
                "the stale record is removed"
            );
        }
        write(
            &record_path(dir.path()),
            &ServerRecord {
                pid: dead,
                addr: addr(),
                started_ms: 0,
                state: State::Serving,
            },
        )
        .unwrap();
        let claim = Claim::take(dir.path(), addr()).unwrap();
        assert_eq!(claim.record.pid, std::process::id());
    }

    #[test]
    fn a_garbled_record_is_reported_not_guessed_at() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(record_path(dir.path()), b"{half").unwrap();
        let err = format!("{:#}", find_server(dir.path()).err().unwrap());
        assert!(err.contains("delete it"), "{err}");
    }

    /// The pid of a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!pid_alive(pid));
        pid
    }

    #[test]
    fn this_process_is_alive() {
        assert!(pid_alive(std::process::id()));
    }
}
