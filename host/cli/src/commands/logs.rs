//! `eddy logs NAME [--follow] [--since DURATION]`: a function's log (START,
//! what it printed, END, REPORT, errors) through CloudWatch Logs'
//! FilterLogEvents on `/aws/lambda/NAME`, one `TIMESTAMP MESSAGE` per line.
//!
//! `--follow` polls every second until interrupted. Each poll opens the data
//! directory (or reaches the `eddy serve` holding it) for just that request,
//! so other eddy commands (an `eddy invoke` in another terminal) can use it
//! in between; a command that starts during a poll may still find the
//! directory busy — run `eddy serve` to share it without that race.

use std::time::Duration;

use anyhow::{Result, bail};
use eddy_store::Clock;
use eddy_store::timefmt::iso_ms;
use serde_json::json;

use super::Ctx;

/// How often `--follow` asks for new events.
const POLL: Duration = Duration::from_secs(1);

/// `eddy logs` arguments.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The function whose log to print.
    pub name: String,
    /// Keep printing new lines as they arrive, until interrupted.
    #[arg(long)]
    pub follow: bool,
    /// Only lines from the last DURATION (e.g. 30s, 10m, 1h, 2d); default:
    /// everything retained.
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<Duration>,
}

/// `30s`, `10m`, `1h`, `2d` (a whole number and a unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit: write e.g. 30s, 10m, 1h or 2d"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let secs_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: use s, m, h or d"
            ));
        }
    };
    n.checked_mul(secs_per)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// Prints the events after `seen` (an eventId; ids order as events do) from
/// `start_ms` on; returns the last eventId printed.
fn print_since(
    ctx: &Ctx,
    name: &str,
    start_ms: u64,
    mut seen: Option<String>,
) -> Result<Option<String>> {
    let mut next: Option<String> = None;
    loop {
        let mut request = json!({
            "logGroupName": format!("/aws/lambda/{name}"),
            "startTime": start_ms,
        });
        if let (Some(token), Some(map)) = (&next, request.as_object_mut()) {
            map.insert("nextToken".into(), token.clone().into());
        }
        let page = ctx.call(&format!("{}.FilterLogEvents", eddy_api::LOGS), &request)?;
        let events = page["events"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut out = String::new();
        for event in events {
            let id = event["eventId"].as_str().unwrap_or_default();
            if seen.as_deref().is_some_and(|s| id <= s) {
                continue;
            }
            let ts = event["timestamp"].as_u64().unwrap_or_default();
            let message = event["message"].as_str().unwrap_or_default();
            out.push_str(&format!("{} {message}\n", iso_ms(ts)));
            seen = Some(id.to_string());
        }
        print_text(&out)?;
        match page["nextToken"].as_str() {
            Some(token) => next = Some(token.to_string()),
            None => return Ok(seen),
        }
    }
}

fn print_text(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The timestamp inside an eventId (its first 20 digits).
fn id_timestamp(id: &str) -> Option<u64> {
    id.get(..20)?.parse().ok()
}

/// Prints the log, then (with --follow) keeps polling for new lines.
pub fn run(ctx: &Ctx, args: LogsArgs) -> Result<()> {
    if args.name.is_empty() {
        bail!("give the function's name");
    }
    let start = args.since.map_or(0, |since| {
        Clock::System
            .now_ms()
            .saturating_sub(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    });
    if !args.follow {
        return match print_since(ctx, &args.name, start, None) {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) && function_exists(ctx, &args.name) => Err(e.context(
                format!("{} exists but has not been invoked yet: its log group appears with its first invocation", args.name),
            )),
            Err(e) => Err(e),
        };
    }
    let mut seen: Option<String> = None;
    loop {
        let from = seen.as_deref().and_then(id_timestamp).unwrap_or(start);
        // A fresh context per poll: the directory is free between polls.
        // Dropped before the sleep, so the directory is free while waiting.
        let polled = {
            let fresh = Ctx::new(ctx.data_dir().to_path_buf(), ctx.durability());
            print_since(&fresh, &args.name, from, seen.clone())
        };
        match polled {
            Ok(last) => seen = last,
            // No log group yet (the function has not run), or another eddy
            // command holds the directory right now: try again next poll.
            Err(e) if is_not_found(&e) || is_locked(&e) => {}
            Err(e) => return Err(e),
        }
        std::thread::sleep(POLL);
    }
}

fn is_locked(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<eddy_store::StoreError>(),
            Some(eddy_store::StoreError::DirectoryLocked(_))
        )
    })
}

/// Whether `name` is a function (to tell "never invoked" from "no such function").
fn function_exists(ctx: &Ctx, name: &str) -> bool {
    ctx.lambda("GetFunction", &serde_json::json!({"FunctionName": name}))
        .is_ok()
}

fn is_not_found(e: &anyhow::Error) -> bool {
    super::aws_error_type(e) == Some("ResourceNotFoundException")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_number_and_a_unit() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("-5m").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn event_ids_carry_their_timestamp() {
        let id = format!("{:020}{:020}", 1_800_000_000_123u64, 7u64);
        assert_eq!(id_timestamp(&id), Some(1_800_000_000_123));
        assert_eq!(id_timestamp("12"), None);
    }
}
