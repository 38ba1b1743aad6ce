//! `eddy lab`: the seed lab ("Serverless Architectures with Amazon DynamoDB and
//! Amazon Kinesis Streams with AWS Lambda"), end to end, in one command.
//!
//! Every step goes through the dispatcher (`Ctx::call`), the way the console's
//! clicks go through the AWS APIs, so the lab runs the same in-process or
//! against `eddy serve`. Each step prints what it did and checks its result;
//! the run ends with the lab's checklist of objectives and exits non-zero if
//! any failed. Re-running on the same directory works: what exists is
//! reported and reused, and the checks compare before and after.

mod checklist;
mod part1;
mod part2;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::Ctx;
use checklist::{Checklist, Objective};

/// How long a step waits for a trigger to deliver what was written.
const TRIGGER_DEADLINE: Duration = Duration::from_secs(20);

/// `eddy lab` arguments.
#[derive(Debug, clap::Args)]
pub struct LabArgs {
    /// Score items inserted into GameScoreRecords in the last step.
    #[arg(long, default_value_t = 5)]
    pub scores: u32,
}

/// Runs the lab; fails when any objective of the checklist failed.
pub fn run(ctx: &Ctx, args: LabArgs) -> Result<()> {
    // In-process, the lab runs the triggers itself; against a server, the
    // server does.
    let _triggers = ctx.start_triggers()?;
    let lab = Lab {
        ctx,
        checklist: Checklist::default(),
    };
    part1::run(&lab)?;
    part2::run(&lab, args.scores)?;
    lab.checklist.print();
    if !lab.checklist.all_passed() {
        bail!("the lab did not complete: see the checklist above");
    }
    Ok(())
}

/// The lab's state: where to send requests, and the objectives' results.
struct Lab<'a> {
    ctx: &'a Ctx,
    checklist: Checklist,
}

impl Lab<'_> {
    fn call(&self, operation: &str, request: Value) -> Result<Value> {
        self.ctx.call(operation, &request)
    }

    /// `call`, with `Ok(None)` for the AWS error `expected` (e.g. "already exists").
    fn call_unless(
        &self,
        operation: &str,
        request: Value,
        expected: &str,
    ) -> Result<Option<Value>> {
        match self.ctx.call(operation, &request) {
            Ok(response) => Ok(Some(response)),
            Err(e) if super::aws_error_type(&e) == Some(expected) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records a check of `objective` and prints it.
    fn check(&self, objective: Objective, passed: bool, what: &str) {
        self.checklist.record(objective, passed);
        let mark = if passed { "✓" } else { "✗" };
        println!("   {mark} {what}");
    }
}

/// A task's heading.
fn task(title: &str) {
    println!("\n== {title}");
}

/// A step's line.
fn step(text: &str) {
    println!("   {text}");
}

/// Polls `probe` until it returns `Some` or the trigger deadline passes.
fn wait_for<T>(mut probe: impl FnMut() -> Result<Option<T>>) -> Result<Option<T>> {
    let start = Instant::now();
    loop {
        if let Some(found) = probe()? {
            return Ok(Some(found));
        }
        if start.elapsed() > TRIGGER_DEADLINE {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An event source mapping from `function` to `source_arn`, created unless
/// one exists. Returns its UUID.
fn ensure_trigger(lab: &Lab<'_>, function: &str, source_arn: &str) -> Result<String> {
    let existing = lab.call(
        "Lambda_20150331.ListEventSourceMappings",
        json!({"FunctionName": function, "EventSourceArn": source_arn}),
    )?;
    if let Some(uuid) = existing["EventSourceMappings"]
        .as_array()
        .and_then(|list| list.first())
        .and_then(|m| m["UUID"].as_str())
    {
        step(&format!(
            "trigger {uuid} exists ({function} ← {source_arn})"
        ));
        return Ok(uuid.to_string());
    }
    let created = lab.call(
        "Lambda_20150331.CreateEventSourceMapping",
        json!({
            "FunctionName": function,
            "EventSourceArn": source_arn,
            "StartingPosition": "LATEST",
            "BatchSize": 100,
            "Enabled": true
        }),
    )?;
    let uuid = created["UUID"].as_str().unwrap_or_default().to_string();
    step(&format!(
        "created trigger {uuid} ({function} ← {source_arn})"
    ));
    Ok(uuid)
}

/// A function from an embedded blueprint, created unless it exists.
fn ensure_function(
    lab: &Lab<'_>,
    name: &str,
    code: &[u8],
    role: &str,
    grants: &[&str],
) -> Result<()> {
    use base64::Engine as _;
    let zip = base64::engine::general_purpose::STANDARD.encode(code);
    let mut request = json!({
        "FunctionName": name,
        "Role": role,
        "Code": {"ZipFile": zip},
    });
    if !grants.is_empty() {
        request["Grants"] = json!(grants);
    }
    match lab.call_unless(
        "Lambda_20150331.CreateFunction",
        request,
        "ResourceConflictException",
    )? {
        Some(created) => step(&format!(
            "created function {name} (version {}, role {role})",
            created["Version"].as_str().unwrap_or("1")
        )),
        None => step(&format!("function {name} exists")),
    }
    Ok(())
}
