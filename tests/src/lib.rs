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
