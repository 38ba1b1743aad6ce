//! Test guest: tries to reach outside the sandbox and reports what it got.
//! eddy grants no filesystem, no network and no environment by default
//! (`--env K=V` grants environment variables), so every probe should fail or
//! come back empty. Returns (success), e.g.
//! `{"probes":{"fs.read":"error: ...","net.connect":"error: ...",...},
//!   "env":{"vars":[]},"args":0,"failed":["fs.read",...]}`.
//! `failed` names every probe that was refused; `env.vars` lists the names
//! (not the values) of the variables the function can see.

use std::io::Read;
use std::net::TcpStream;

use eddy_guest::serde_json::{Map, Value, json};
use eddy_guest::{Context, Event, Handler, HandlerError, Response};

struct WasiProbe;

impl Handler for WasiProbe {
    fn handle(_event: Event, _context: Context) -> Result<Response, HandlerError> {
        let probes = [
            ("fs.read", probe(read_passwd)),
            ("fs.list_root", probe(|| list("/"))),
            ("fs.list_cwd", probe(|| list("."))),
            ("fs.create", probe(create_file)),
            ("net.connect", probe(connect)),
        ];
        let failed: Vec<&str> = probes
            .iter()
            .filter(|(_, result)| result.starts_with("error"))
            .map(|(name, _)| *name)
            .collect();
        let mut vars: Vec<String> = std::env::vars_os()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        vars.sort();
        let report: Map<String, Value> = probes
            .iter()
            .map(|(name, result)| ((*name).to_owned(), Value::String(result.clone())))
            .collect();
        Ok(Response::json(&json!({
            "probes": report,
            "env": { "vars": vars },
            "args": std::env::args_os().count(),
            "failed": failed,
        })))
    }
}

/// Runs one probe: `ok: <what it saw>` or `error: <why not>`.
fn probe(f: impl FnOnce() -> std::io::Result<String>) -> String {
    match f() {
        Ok(seen) => format!("ok: {seen}"),
        Err(error) => format!("error: {error}"),
    }
}

fn read_passwd() -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open("/etc/passwd")?.read_to_string(&mut text)?;
    Ok(format!("read {} bytes of /etc/passwd", text.len()))
}

fn list(dir: &str) -> std::io::Result<String> {
    let count = std::fs::read_dir(dir)?.count();
    Ok(format!("{count} entries in {dir}"))
}

fn create_file() -> std::io::Result<String> {
    std::fs::write("eddy-wasi-probe.txt", b"escaped")?;
    Ok("created eddy-wasi-probe.txt".to_owned())
}

fn connect() -> std::io::Result<String> {
    TcpStream::connect("127.0.0.1:1")?;
    Ok("connected to 127.0.0.1:1".to_owned())
}

eddy_guest::export_handler!(WasiProbe);
