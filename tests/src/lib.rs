//! The shared context of eddy's end-to-end tests: a fresh data directory per test
//! and helpers that run the built `eddy` binary on it and decode what it prints.
//!
//! The binary belongs to another package, and cargo only exposes
//! `CARGO_BIN_EXE_*` within a package, so it is found beside the test executable
//! (`target/<profile>/eddy`, next to `target/<profile>/deps/`). Build it first:
//! `bash .ci/run` (see README.md). `EDDY_BIN`
//! overrides the path.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The path of the built `eddy` binary. Panics with what to run if it is missing.
pub fn eddy_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("EDDY_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    // target/<profile>/deps/<test> → target/<profile>/eddy
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("eddy{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --workspace` first (README.md has the test command)",
        bin.display()
    );
    bin
}

/// One test's eddy: a temporary data directory, removed when the test ends.
pub struct Eddy {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Default for Eddy {
    fn default() -> Self {
        Self::new()
    }
}

impl Eddy {
    /// Creates AggregateScoresByUser from the dynamodb-aggregate-scores
    /// blueprint, with `role` (none: only its own grants, which are none).
    pub fn create_aggregator(&self, role: Option<&str>) {
        let mut args = vec![
            "function",
            "create",
            "AggregateScoresByUser",
            "--blueprint",
            "dynamodb-aggregate-scores",
        ];
        if let Some(role) = role {
            args.extend(["--role", role]);
        }
        self.ok(&args);
    }

    /// The lab's aggregator end to end: its two tables, AggregateScoresByUser
    /// (with `role`) and its trigger on GameScoreRecords' change stream from
    /// TRIM_HORIZON; returns the trigger as `trigger create` printed it.
    pub fn create_lab_aggregator_trigger(&self, role: Option<&str>) -> Value {
        self.create_lab_tables();
        self.create_aggregator(role);
        self.ok(&[
            "trigger",
            "create",
            "AggregateScoresByUser",
            "--source",
            "table/GameScoreRecords",
            "--starting-position",
            "trim-horizon",
        ])
        .json()
    }

    /// Creates the lab's two tables: GameScoreRecords (RecordID:N, change
    /// stream NEW_IMAGE) and GameScoresByUser (Username:S).
    pub fn create_lab_tables(&self) {
        self.ok(&[
            "table",
            "create",
            "GameScoreRecords",
            "--partition-key",
            "RecordID:N",
            "--stream",
            "new-image",
        ]);
        self.ok(&[
            "table",
            "create",
            "GameScoresByUser",
            "--partition-key",
            "Username:S",
        ]);
    }

    pub fn new() -> Eddy {
        Eddy {
            dir: tempfile::tempdir().expect("a temporary directory"),
            bin: eddy_bin(),
        }
    }

    /// The data directory every command of this context runs on.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A scratch file path inside the context's temporary directory.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `eddy --data-dir <dir> ARGS...`, not yet run.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.bin);
        command.arg("--data-dir").arg(self.data_dir()).args(args);
        command
            .env_remove("EDDY_DATA_DIR")
            .env_remove("EDDY_DURABILITY");
        command
    }

    /// Runs eddy with ARGS and returns what happened, success or not.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    /// Runs eddy with ARGS, writing `stdin` to its standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut command = self.command(args);
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("eddy starts");
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(bytes).expect("writing eddy's stdin");
        }
        let output = child.wait_with_output().expect("eddy runs");
        Run::new(args, output)
    }

    /// Runs eddy with ARGS and panics (showing stderr) unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(
            run.success,
            "`eddy {}` failed:\n{}",
            args.join(" "),
            run.stderr
        );
        run
    }

    /// Runs eddy with ARGS and panics unless it fails; returns the failure.
    pub fn fails(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(
            !run.success,
            "`eddy {}` should have failed, but succeeded with:\n{}",
            args.join(" "),
            run.stdout
        );
        assert!(
            run.stderr.contains("error: "),
            "a failure must say `error: ...` on stderr, got:\n{}",
            run.stderr
        );
        run
    }
}

/// What one eddy invocation did.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn new(args: &[&str], output: Output) -> Run {
        Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            success: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Stdout as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`eddy {}` printed invalid JSON ({e}):\n{}",
                self.args.join(" "),
                self.stdout
            )
        })
    }

    /// Stdout as JSON lines, one value per non-empty line.
    pub fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!(
                        "`eddy {}` printed a non-JSON line ({e}): {l}",
                        self.args.join(" ")
                    )
                })
            })
            .collect()
    }

    /// Panics unless stderr mentions every one of `needles`.
    pub fn says(&self, needles: &[&str]) -> &Run {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "`eddy {}`: stderr should mention {needle:?}, got:\n{}",
                self.args.join(" "),
                self.stderr
            );
        }
        self
    }
}

/// The items the crash-durability test writes, shared by `crash_writer` (which
/// writes them) and the test (which checks what survived).
pub mod crash {
    use serde_json::{Value, json};

    /// The table the crash writer fills.
    pub const TABLE: &str = "Crash";

    /// The key of writer `thread`'s `n`th put in run `run`: `run-thread-n`.
    pub fn key(run: u32, thread: u32, n: u64) -> String {
        format!("{run}-{thread}-{n}")
    }

    /// Splits a key back into (run, thread, n).
    pub fn parse_key(key: &str) -> Option<(u32, u32, u64)> {
        let mut parts = key.split('-');
        let run = parts.next()?.parse().ok()?;
        let thread = parts.next()?.parse().ok()?;
        let n = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some((run, thread, n))
    }

    /// The whole item for `key` (about 300 bytes), so a torn write would show.
    pub fn item(key: &str) -> Value {
        let (run, thread, n) = parse_key(key).unwrap_or_default();
        json!({
            "pk": {"S": key},
            "run": {"N": run.to_string()},
            "thread": {"N": thread.to_string()},
            "n": {"N": n.to_string()},
            "payload": {"S": key.repeat(300 / key.len().max(1))},
        })
    }

    /// The CreateTable request for the crash table.
    pub fn create_table() -> Value {
        json!({
            "TableName": TABLE,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        })
    }
}

/// How long a test waits for a server to say something before it gives up: a
/// guard against hanging forever on a bug, not a measure of speed.
const SERVER_PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// A running `eddy serve --listen 127.0.0.1:0` on an `Eddy`'s data directory;
/// killed (SIGKILL) on drop if the test has not stopped it.
pub struct Server {
    child: std::process::Child,
    stdout: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::mpsc::Receiver<String>,
    /// Every stderr line read so far.
    said: Vec<String>,
    addr: Option<std::net::SocketAddr>,
}

impl Eddy {
    /// Starts `eddy serve` on this data directory and waits until it listens.
    pub fn serve(&self) -> Server {
        let mut server = self.spawn_server();
        server.wait_listening();
        server
    }

    /// Starts `eddy serve` on this data directory without waiting for it.
    pub fn spawn_server(&self) -> Server {
        let mut child = self
            .command(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("eddy serve starts");
        let stdout = lines_of(child.stdout.take().expect("piped stdout"));
        let stderr = lines_of(child.stderr.take().expect("piped stderr"));
        Server {
            child,
            stdout,
            stderr,
            said: Vec::new(),
            addr: None,
        }
    }
}

/// The lines `pipe` yields, read on a thread that ends with the pipe.
pub fn lines_of(pipe: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

impl Server {
    /// Waits for the `listening on http://ADDR` line and returns ADDR.
    pub fn wait_listening(&mut self) -> std::net::SocketAddr {
        if let Some(addr) = self.addr {
            return addr;
        }
        let line = self
            .stdout
            .recv_timeout(SERVER_PATIENCE)
            .unwrap_or_else(|e| {
                let _ = self.child.kill();
                self.drain_stderr();
                panic!(
                    "eddy serve printed no address ({e}); stderr:\n{}",
                    self.said.join("\n")
                )
            });
        let addr = line
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from eddy serve: {line}"));
        self.addr = Some(addr);
        addr
    }

    /// The address it listens on (waits for it).
    pub fn addr(&mut self) -> std::net::SocketAddr {
        self.wait_listening()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a stderr line contains `needle`.
    pub fn wait_for_stderr(&mut self, needle: &str) {
        if self.said.iter().any(|l| l.contains(needle)) {
            return;
        }
        loop {
            match self.stderr.recv_timeout(SERVER_PATIENCE) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.said.push(line);
                    if found {
                        return;
                    }
                }
                Err(e) => panic!(
                    "eddy serve never said {needle:?} ({e}); stderr:\n{}",
                    self.said.join("\n")
                ),
            }
        }
    }

    /// Sends SIGTERM and waits for the server to exit; returns its exit code
    /// and everything it said on stderr.
    pub fn terminate(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
        let code = self.child.wait().expect("eddy serve exits").code();
        self.drain_stderr();
        (code, self.said.join("\n"))
    }

    /// SIGKILL: the server dies at once, leaving its record behind.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything left on stderr (the process has exited, so the pipe ends).
    fn drain_stderr(&mut self) {
        while let Ok(line) = self.stderr.recv_timeout(SERVER_PATIENCE) {
            self.said.push(line);
        }
    }

    /// `POST /` with `X-Amz-Target: target` and `body`, as the AWS SDKs send it.
    pub fn post(&mut self, target: &str, body: &str) -> HttpResponse {
        let addr = self.addr();
        http(
            addr,
            "POST",
            "/",
            &[
                ("X-Amz-Target", target),
                ("Content-Type", "application/x-amz-json-1.0"),
            ],
            body.as_bytes(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response, as a raw client reads it.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh connection, written by hand so the
/// server is checked against the protocol, not against eddy's own client.
/// Panics if the server cannot be reached or answers with no whole response.
pub fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    try_http(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"))
}

/// `http`, for a server that may die at any moment (the crash tests): any
/// failure to connect, send or read a whole response is an `Err` saying
/// what went wrong, never a panic.
pub fn try_http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, String> {
    use std::io::Read;
    let mut stream =
        std::net::TcpStream::connect(addr).map_err(|e| format!("cannot connect: {e}"))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| format!("sending the head: {e}"))?;
    // The server may answer (and close) before reading a body it refuses.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading the response: {e}"))?;
    parse_response(&raw)
}

/// A whole response: a status line, headers, and as many body bytes as its
/// Content-Length says (a connection cut mid-body is an error).
fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in: {head:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let declared = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length != body.len()) {
        return Err(format!("a cut response: {text:?}"));
    }
    Ok(HttpResponse {
        status,
        headers,
        body: body.to_string(),
    })
}
