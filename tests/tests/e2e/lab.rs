//! `eddy lab`: the seed lab end to end — fresh, re-run, and through a server.

use eddy_tests::{Eddy, Run};

/// The checklist's six objectives, each passed.
fn all_objectives_passed(run: &Run) {
    let objectives: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.contains("== Lab objectives"))
        .skip(1)
        .collect();
    assert_eq!(objectives.len(), 6, "the checklist:\n{}", run.stdout);
    for line in objectives {
        assert!(
            line.trim_start().starts_with('✓'),
            "failed objective: {line}\n{}",
            run.stdout
        );
    }
}

/// Panics unless the lab printed every one of `needles`.
fn printed(run: &Run, needles: &[&str]) {
    for needle in needles {
        assert!(
            run.stdout.contains(needle),
            "expected {needle:?} in:\n{}",
            run.stdout
        );
    }
}

#[test]
fn the_lab_passes_on_a_fresh_directory_and_again_on_the_same_one() {
    let eddy = Eddy::new();
    let first = eddy.ok(&["lab"]);
    all_objectives_passed(&first);
    printed(
        &first,
        &[
            "created table GameScoreRecords",
            "Decoded payload: Hello, this is a test 123.",
            "Successfully processed 1 records.",
            "Jane Doe = 100 (was 0)",
        ],
    );
    let again = eddy.ok(&["lab"]);
    all_objectives_passed(&again);
    printed(
        &again,
        &[
            "Lab-Stream exists",
            "table GameScoreRecords exists",
            "Jane Doe = 200 (was 100)",
        ],
    );
}

#[test]
fn the_lab_runs_through_a_server_whose_triggers_do_the_work() {
    let eddy = Eddy::new();
    let _server = eddy.serve();
    all_objectives_passed(&eddy.ok(&["lab"]));
}

#[test]
fn a_broken_lab_step_fails_its_objective_and_the_exit_code() {
    let eddy = Eddy::new();
    // A Lab-Stream with two shards fails the "1 shard" check of Task 1.
    eddy.ok(&["stream", "create", "Lab-Stream", "--shards", "2"]);
    let run = eddy.fails(&["lab"]);
    assert!(
        run.stdout.contains("✗ Created an Amazon Kinesis Stream"),
        "{}",
        run.stdout
    );
}
