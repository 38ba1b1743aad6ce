//! Printing data. Records, items and put results are one compact JSON object per
//! line (easy to pipe into `jq -c` or a loop); descriptions, lists and raw `call`
//! responses are one pretty-printed document. Messages for people go to stderr.

use std::io::Write;

use anyhow::Result;
use serde_json::Value;

/// Prints `value` as one line of compact JSON.
pub fn line(value: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Prints `value` as a pretty-printed JSON document.
pub fn document(value: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// A message for the person at the terminal (stderr, so stdout stays data).
pub fn note(message: &str) {
    eprintln!("{message}");
}

/// True when the error is stdout closing under us (`eddy ... | head`).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let kind = match cause.downcast_ref::<serde_json::Error>() {
            Some(json) => json.io_error_kind(),
            None => cause
                .downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind),
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}
