//! Part 1 of the lab: Lab-Stream, ProcessKinesisRecords from the
//! kinesis-process-record blueprint with a Lab-Stream trigger, four test
//! invocations, records through the trigger, and the function's metrics.

use anyhow::Result;
use base64::Engine as _;
use serde_json::{Value, json};

use super::checklist::Objective;
use super::{Lab, ensure_function, ensure_trigger, step, task, wait_for};
use crate::commands::metrics;

const STREAM: &str = "Lab-Stream";
const FUNCTION: &str = "ProcessKinesisRecords";
/// How many times Task 3 chooses Test.
const TESTS: usize = 4;

pub(super) fn run(lab: &Lab<'_>) -> Result<()> {
    let started_s = eddy_store::Clock::System.now_ms() / 1000;
    task("Task 1: Create an Amazon Kinesis Stream");
    let stream_arn = create_stream(lab)?;
    task("Task 2: Create a Lambda Function (kinesis-process-record blueprint)");
    ensure_function(
        lab,
        FUNCTION,
        eddy_runtime::guests::KINESIS_LOGGER,
        "lambda_basic_execution",
        &[],
    )?;
    ensure_trigger(lab, FUNCTION, &stream_arn)?;
    task("Task 3: Test your Function");
    test_four_times(lab)?;
    records_through_trigger(lab)?;
    show_metrics(lab, started_s)
}

fn create_stream(lab: &Lab<'_>) -> Result<String> {
    let request = json!({"StreamName": STREAM, "ShardCount": 1});
    match lab.call_unless(
        "Kinesis_20131202.CreateStream",
        request,
        "ResourceInUseException",
    )? {
        Some(_) => step("created Lab-Stream (1 shard)"),
        None => step("Lab-Stream exists"),
    }
    let summary = lab.call(
        "Kinesis_20131202.DescribeStreamSummary",
        json!({"StreamName": STREAM}),
    )?;
    let summary = &summary["StreamDescriptionSummary"];
    let active = summary["StreamStatus"] == "ACTIVE" && summary["OpenShardCount"] == 1;
    lab.check(
        Objective::StreamTriggersFunction,
        active,
        "Lab-Stream is ACTIVE with 1 shard",
    );
    Ok(summary["StreamARN"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// The console's Test button, four times, with the Kinesis template.
fn test_four_times(lab: &Lab<'_>) -> Result<()> {
    for n in 1..=TESTS {
        let response = lab.call(
            "Lambda_20150331.Invoke",
            json!({
                "FunctionName": FUNCTION,
                "Payload": eddy_runtime::events::KINESIS_TEST_EVENT,
                "LogType": "Tail"
            }),
        )?;
        let log = log_result(&response);
        let succeeded = response.get("FunctionError").is_none();
        let printed = log.contains("Decoded payload: Hello, this is a test 123.");
        step(&format!(
            "Test {n}: Execution result: {}",
            if succeeded { "succeeded" } else { "failed" }
        ));
        for line in log
            .lines()
            .filter(|l| l.starts_with("Decoded") || l.starts_with("REPORT"))
        {
            step(&format!("  {line}"));
        }
        lab.check(
            Objective::FunctionFromBlueprint,
            succeeded && printed,
            "the function decoded the test record",
        );
    }
    Ok(())
}

/// Puts records into Lab-Stream and waits for the logger's output to arrive
/// through the trigger.
fn records_through_trigger(lab: &Lab<'_>) -> Result<()> {
    let since_ms = (eddy_store::Clock::System.now_ms() / 1000) * 1000;
    let texts: Vec<String> = (1..=3)
        .map(|i| format!("Hello from the eddy lab, record {i} at {since_ms}"))
        .collect();
    for (i, text) in texts.iter().enumerate() {
        let data = base64::engine::general_purpose::STANDARD.encode(text);
        lab.call(
            "Kinesis_20131202.PutRecord",
            json!({"StreamName": STREAM, "PartitionKey": format!("lab-{i}"), "Data": data}),
        )?;
    }
    step(&format!("put {} records into Lab-Stream", texts.len()));
    let arrived = wait_for(|| {
        let lines = log_lines(lab, since_ms)?;
        let all = texts.iter().all(|t| {
            lines
                .iter()
                .any(|l| l.contains(&format!("Decoded payload: {t}")))
        });
        Ok(all.then_some(lines))
    })?;
    match &arrived {
        Some(lines) => {
            for line in lines
                .iter()
                .filter(|l| l.contains("Decoded payload: Hello from the eddy lab"))
            {
                step(&format!("  log: {line}"));
            }
        }
        None => step("the trigger's output did not arrive in time"),
    }
    lab.check(
        Objective::StreamTriggersFunction,
        arrived.is_some(),
        "Lab-Stream's trigger ran ProcessKinesisRecords on every record",
    );
    Ok(())
}

/// The function's log lines since `since_ms`.
fn log_lines(lab: &Lab<'_>, since_ms: u64) -> Result<Vec<String>> {
    let response = lab.call(
        "Logs_20140328.FilterLogEvents",
        json!({"logGroupName": format!("/aws/lambda/{FUNCTION}"), "startTime": since_ms}),
    )?;
    Ok(response["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["message"].as_str().map(|m| m.trim_end().to_string()))
                .collect()
        })
        .unwrap_or_default())
}

/// The Monitor tab: Invocations and Duration since the lab started, read the
/// way `eddy metrics` reads them.
fn show_metrics(lab: &Lab<'_>, since_s: u64) -> Result<()> {
    let now_ms = eddy_store::Clock::System.now_ms();
    let start_ms = since_s.saturating_sub(60).saturating_mul(1000);
    let rows = metrics::fetch_rows(lab.ctx, FUNCTION, start_ms, now_ms + 60_000)?;
    step("Monitor: minute                  Invocations  Duration avg (ms)");
    let mut total = 0.0;
    let mut timed = false;
    for (minute, row) in &rows {
        let count = metrics::stat(row, "Invocations", "Sum");
        let avg = row
            .contains_key("Duration")
            .then(|| metrics::stat(row, "Duration", "Average"));
        total += count;
        timed |= avg.is_some();
        let time = eddy_store::timefmt::iso_ms(minute.saturating_mul(1000));
        let avg = avg.map_or(String::from("-"), |d| format!("{d:.3}"));
        step(&format!("         {time:<24}{count:>11}  {avg:>17}"));
    }
    lab.check(
        Objective::MonitorWithMetrics,
        total >= TESTS as f64 && timed,
        &format!("metrics show {total} invocations and their Duration"),
    );
    Ok(())
}

/// The START ... REPORT log of an Invoke with LogType Tail.
fn log_result(response: &Value) -> String {
    response["LogResult"]
        .as_str()
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}
