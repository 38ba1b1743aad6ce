//! `eddy logs` and `eddy metrics` (the lab's Monitor tab), and the CloudWatch
//! Logs / CloudWatch operations behind them: every `eddy invoke` is its own
//! process, so each one's logs and metrics must reach the store before it exits.

use eddy_tests::{Eddy, Run, lines_of};
use serde_json::{Value, json};

fn create(eddy: &Eddy, name: &str, extra: &[&str]) {
    let mut args = vec![
        "function",
        "create",
        name,
        "--blueprint",
        "kinesis-process-record",
    ];
    args.extend_from_slice(extra);
    eddy.ok(&args);
}

fn metrics(eddy: &Eddy, name: &str) -> Value {
    eddy.ok(&["metrics", name, "--json"]).json()
}

fn count(run: &Run, prefix: &str) -> usize {
    run.stdout
        .lines()
        .filter(|l| {
            l.split_once(' ')
                .is_some_and(|(_, m)| m.starts_with(prefix))
        })
        .count()
}

#[test]
fn four_invocations_show_in_logs_and_metrics() {
    let eddy = Eddy::new();
    create(&eddy, "ProcessKinesisRecords", &[]);
    for _ in 0..4 {
        eddy.ok(&["invoke", "ProcessKinesisRecords", "--template", "kinesis"]);
    }
    let logs = eddy.ok(&["logs", "ProcessKinesisRecords"]);
    assert_eq!(count(&logs, "START RequestId: "), 4, "{}", logs.stdout);
    assert_eq!(
        count(&logs, "Decoded payload: Hello, this is a test 123."),
        4
    );
    assert_eq!(count(&logs, "END RequestId: "), 4);
    assert_eq!(count(&logs, "REPORT RequestId: "), 4);
    assert_eq!(count(&logs, "ERROR "), 0);
    let recent = eddy.ok(&["logs", "ProcessKinesisRecords", "--since", "1h"]);
    assert_eq!(recent.stdout, logs.stdout);

    let doc = metrics(&eddy, "ProcessKinesisRecords");
    assert_eq!(doc["Totals"]["Invocations"], 4);
    assert_eq!(doc["Totals"]["Errors"], 0);
    let minutes = doc["Minutes"].as_array().unwrap();
    assert!(!minutes.is_empty());
    for minute in minutes {
        let duration = &minute["Duration"];
        let (min, max) = (
            duration["Minimum"].as_f64().unwrap(),
            duration["Maximum"].as_f64().unwrap(),
        );
        assert!(min > 0.0 && min <= max, "{minute}");
        let p99 = duration["p99"].as_f64().unwrap();
        assert!(min <= p99 && p99 <= max, "{minute}");
        assert_eq!(minute["Throttles"], 0);
        assert_eq!(minute["ConcurrentExecutions"], 1);
        assert!(minute["FuelUsed"].as_u64().unwrap() > 0);
    }
    let table = eddy.ok(&["metrics", "ProcessKinesisRecords"]);
    assert!(table.stdout.starts_with("TIME (UTC)"), "{}", table.stdout);
}

#[test]
fn a_failed_invocation_is_an_error_in_metrics_and_named_in_logs() {
    let eddy = Eddy::new();
    create(&eddy, "starved", &["--fuel", "1000"]);
    eddy.fails(&["invoke", "starved", "--template", "kinesis"]);
    let logs = eddy.ok(&["logs", "starved"]);
    assert_eq!(count(&logs, "ERROR RequestId: "), 1, "{}", logs.stdout);
    assert!(
        logs.stdout.contains(r#""errorMessage":"fuel exhausted""#),
        "{}",
        logs.stdout
    );
    assert_eq!(count(&logs, "REPORT RequestId: "), 1);
    let doc = metrics(&eddy, "starved");
    assert_eq!(doc["Totals"]["Invocations"], 1);
    assert_eq!(doc["Totals"]["Errors"], 1);
}

#[test]
fn the_cloudwatch_operations_answer_as_aws_does() {
    let eddy = Eddy::new();
    create(&eddy, "f", &[]);
    // No invocation yet: Lambda has not created the log group.
    let missing = eddy.fails(&["logs", "f"]);
    missing.says(&["ResourceNotFoundException: The specified log group does not exist."]);
    eddy.ok(&["invoke", "f", "--template", "kinesis"]);

    let filtered = eddy
        .ok(&[
            "call",
            "Logs_20140328.FilterLogEvents",
            r#"{"logGroupName": "/aws/lambda/f", "filterPattern": "\"Decoded payload\"", "limit": 5}"#,
        ])
        .json();
    let events = filtered["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{filtered}");
    let event = &events[0];
    for member in [
        "timestamp",
        "message",
        "ingestionTime",
        "logStreamName",
        "eventId",
    ] {
        assert!(event.get(member).is_some(), "{member} missing: {event}");
    }
    let stream = event["logStreamName"].as_str().unwrap();
    assert!(stream.ends_with("/[1]eddy"), "{stream}");

    let request = json!({"logGroupName": "/aws/lambda/f", "logStreamName": stream, "startFromHead": true, "limit": 2});
    let page = eddy
        .ok(&["call", "Logs_20140328.GetLogEvents", &request.to_string()])
        .json();
    let messages: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2);
    assert!(messages[0].starts_with("START RequestId: "));
    assert!(page["nextForwardToken"].as_str().unwrap().starts_with("f/"));

    let groups = eddy
        .ok(&[
            "call",
            "Logs_20140328.DescribeLogGroups",
            r#"{"logGroupNamePrefix": "/aws/lambda/"}"#,
        ])
        .json();
    assert_eq!(groups["logGroups"][0]["logGroupName"], "/aws/lambda/f");

    let stats = |body: Value| {
        eddy.run(&[
            "call",
            "GraniteServiceVersion20100801.GetMetricStatistics",
            &body.to_string(),
        ])
    };
    let base = json!({
        "Namespace": "AWS/Lambda", "MetricName": "Invocations",
        "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
        "StartTime": 0, "EndTime": 4_000_000_000u64, "Period": 61, "Statistics": ["Sum"],
    });
    stats(base.clone()).says(&["InvalidParameterValue"]);
    let mut none = base.clone();
    none["Period"] = json!(86_400 * 365);
    none["Statistics"] = json!([]);
    stats(none).says(&["InvalidParameterCombination"]);
    let mut many = base.clone();
    many["Period"] = json!(60);
    stats(many).says(&["InvalidParameterCombination", "exceeds the limit of 1440"]);
    let mut ok = base;
    ok["Period"] = json!(86_400 * 365 * 10);
    let answer = stats(ok);
    assert!(answer.success, "{}", answer.stderr);
    let answer = answer.json();
    assert_eq!(answer["Label"], "Invocations");
    assert_eq!(answer["Datapoints"][0]["Sum"], 1.0);
    assert_eq!(answer["Datapoints"][0]["Unit"], "Count");
}

/// Lines of `eddy logs NAME --follow` as it prints them, until it is killed.
struct Follow {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Follow {
    fn start(eddy: &Eddy, name: &str) -> Follow {
        let mut child = eddy
            .command(["logs", name, "--follow"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("eddy logs --follow starts");
        let lines = lines_of(child.stdout.take().expect("piped stdout"));
        Follow {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads what it printed for `wait`; returns how many lines start (after
    /// their timestamp) with `prefix`.
    fn count_after(&mut self, wait: std::time::Duration, prefix: &str) -> usize {
        let deadline = std::time::Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => break,
            }
        }
        self.seen
            .iter()
            .filter(|l| {
                l.split_once(' ')
                    .is_some_and(|(_, m)| m.starts_with(prefix))
            })
            .count()
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn logs_follow_prints_each_new_line_once() {
    let eddy = Eddy::new();
    create(&eddy, "ProcessKinesisRecords", &[]);
    let _server = eddy.serve();
    eddy.ok(&["invoke", "ProcessKinesisRecords", "--template", "kinesis"]);
    let mut follow = Follow::start(&eddy, "ProcessKinesisRecords");
    let wait = std::time::Duration::from_secs(3);
    assert_eq!(
        follow.count_after(wait, "START RequestId: "),
        1,
        "{:?}",
        follow.seen
    );
    for _ in 0..2 {
        eddy.ok(&["invoke", "ProcessKinesisRecords", "--template", "kinesis"]);
    }
    // Several polls later: every invocation's lines, none twice.
    let long = std::time::Duration::from_secs(4);
    assert_eq!(
        follow.count_after(long, "START RequestId: "),
        3,
        "{:?}",
        follow.seen
    );
    assert_eq!(
        follow.count_after(std::time::Duration::ZERO, "Decoded payload: "),
        3,
        "{:?}",
        follow.seen
    );
    assert_eq!(
        follow.count_after(std::time::Duration::ZERO, "REPORT RequestId: "),
        3
    );
}
