//! Global options: the data directory from `$EDDY_DATA_DIR` or `./.eddy`, and
//! `--durability relaxed`.

use std::process::Command;

use eddy_tests::{Eddy, eddy_bin};

fn eddy_in(cwd: &std::path::Path) -> Command {
    let mut command = Command::new(eddy_bin());
    command
        .current_dir(cwd)
        .env_remove("EDDY_DATA_DIR")
        .env_remove("EDDY_DURABILITY");
    command
}

#[test]
fn the_data_directory_comes_from_the_environment_or_defaults_to_dot_eddy() {
    let eddy = Eddy::new();
    let cwd = eddy.scratch("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let status = eddy_in(&cwd)
        .args(["table", "create", "Tbl", "--partition-key", "id:S"])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        cwd.join(".eddy").join("eddy.redb").is_file(),
        "default is ./.eddy"
    );

    let elsewhere = eddy.scratch("elsewhere");
    let out = eddy_in(&cwd)
        .env("EDDY_DATA_DIR", &elsewhere)
        .args(["table", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let names: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        names["TableNames"],
        serde_json::json!([]),
        "EDDY_DATA_DIR is a different directory"
    );
    assert!(elsewhere.join("eddy.redb").is_file());
}

#[test]
fn relaxed_durability_writes_are_there_on_the_next_run() {
    let eddy = Eddy::new();
    eddy.ok(&[
        "--durability",
        "relaxed",
        "table",
        "create",
        "Tbl",
        "--partition-key",
        "id:S",
    ]);
    eddy.ok(&[
        "--durability",
        "relaxed",
        "table",
        "put",
        "Tbl",
        r#"{"id":{"S":"a"}}"#,
    ]);
    // A clean exit commits durably, whatever the mode.
    let item = eddy
        .ok(&["table", "get", "Tbl", r#"{"id":{"S":"a"}}"#])
        .json();
    assert_eq!(item, serde_json::json!({"id": {"S": "a"}}));
}
