//! An invocation's log: lines the guest wrote with the `log` import and
//! everything it printed to stdout/stderr, bounded per invocation. Past the
//! budget, output is dropped and one truncation marker is added, so a guest
//! that floods its log neither fails nor grows the host's memory.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The marker written once when an invocation's log budget is used up.
pub const TRUNCATED: &str = "[eddy: log output truncated: this invocation exceeded its log budget]";
/// The longest line kept; a longer line is cut (the rest counts as dropped).
const MAX_LINE: usize = 16 * 1024;

/// The shared log of one instance, reset at the start of each invocation.
#[derive(Clone, Default)]
pub struct LogBuffer {
    inner: Arc<Mutex<Lines>>,
}

#[derive(Default)]
struct Lines {
    lines: Vec<String>,
    /// An unfinished line per stream (0 = stdout, 1 = stderr).
    partial: [Vec<u8>; 2],
    used: usize,
    budget: usize,
    truncated: bool,
}

impl Lines {
    fn push(&mut self, line: String) {
        if self.truncated {
            return;
        }
        let cost = line.len().saturating_add(1);
        if self.used.saturating_add(cost) > self.budget {
            self.truncated = true;
            self.lines.push(TRUNCATED.to_string());
            return;
        }
        self.used += cost;
        self.lines.push(line);
    }

    /// Splits `bytes` into lines. A line that lies whole in `bytes` (the
    /// common case: guests write chunks of whole lines) becomes its `String`
    /// with one copy; only a line split across writes goes through the
    /// stream's partial buffer, which is then handed over without a copy.
    /// (Two copies and allocations per line before: 3% of a trigger's time.)
    fn write(&mut self, stream: usize, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            let (head, rest) = bytes.split_at(end);
            let line = if self.partial[stream].is_empty() {
                text(head.get(..MAX_LINE.min(head.len())).unwrap_or_default())
            } else {
                self.append_partial(stream, head);
                owned_text(std::mem::take(&mut self.partial[stream]))
            };
            self.push(line);
            bytes = rest.get(1..).unwrap_or_default();
        }
        self.append_partial(stream, bytes);
    }

    fn append_partial(&mut self, stream: usize, bytes: &[u8]) {
        let partial = &mut self.partial[stream];
        let room = MAX_LINE.saturating_sub(partial.len());
        partial.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
    }
}

/// `bytes` as text, invalid UTF-8 replaced. `str::from_utf8` first: its
/// ASCII fast path is several times faster than `from_utf8_lossy`'s scan.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// `bytes` as text without a copy when it is valid UTF-8.
fn owned_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl LogBuffer {
    /// Starts a new invocation's log with `budget` bytes.
    pub fn reset(&self, budget: usize) {
        let mut lines = self.lock();
        *lines = Lines {
            budget,
            ..Lines::default()
        };
    }

    /// Adds one line (from the `log` import or the host).
    pub fn line(&self, text: String) {
        self.lock().push(text);
    }

    /// Ends the invocation: flushes unfinished lines and returns them all.
    pub fn take(&self) -> Vec<String> {
        let mut lines = self.lock();
        for stream in 0..2 {
            let rest = std::mem::take(&mut lines.partial[stream]);
            if !rest.is_empty() {
                lines.push(owned_text(rest));
            }
        }
        std::mem::take(&mut lines.lines)
    }

    /// A stdout (`0`) or stderr (`1`) stream for WASI that writes here.
    pub fn sink(&self, stream: usize) -> LogSink {
        LogSink {
            buffer: self.clone(),
            stream: stream.min(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lines> {
        // A panic while holding the lock cannot leave `Lines` inconsistent in
        // a way that matters for a log, so a poisoned lock is still used.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// stdout or stderr of a guest, captured into its `LogBuffer`. Writes always
/// succeed, so a guest's `print!` never fails because its log is full.
#[derive(Clone)]
pub struct LogSink {
    buffer: LogBuffer,
    stream: usize,
}

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for LogSink {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.buffer.lock().write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogSink {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.buffer.lock().write(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_split_into_lines_per_stream() {
        let log = LogBuffer::default();
        log.reset(1024);
        let (mut out, mut err) = (log.sink(0), log.sink(1));
        OutputStream::write(&mut out, Bytes::from_static(b"hel")).unwrap();
        OutputStream::write(&mut err, Bytes::from_static(b"oops\n")).unwrap();
        OutputStream::write(&mut out, Bytes::from_static(b"lo\nworld")).unwrap();
        log.line("from log".into());
        assert_eq!(log.take(), ["oops", "hello", "from log", "world"]);
    }

    #[test]
    fn whole_and_split_lines_are_cut_at_max_line_and_made_valid_text() {
        let log = LogBuffer::default();
        log.reset(1 << 20);
        let mut out = log.sink(0);
        let long = vec![b'x'; MAX_LINE + 10];
        // A long line whole in one write, then one split across writes.
        let mut chunk = long.clone();
        chunk.extend_from_slice(b"\nab\xffc\nsplit ");
        OutputStream::write(&mut out, Bytes::from(chunk)).unwrap();
        let mut rest = long.clone();
        rest.extend_from_slice(b"\nok\n\xfe");
        OutputStream::write(&mut out, Bytes::from(rest)).unwrap();
        let lines = log.take();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], "x".repeat(MAX_LINE));
        assert_eq!(lines[1], "ab\u{fffd}c");
        assert_eq!(lines[2], format!("split {}", "x".repeat(MAX_LINE - 6)));
        assert_eq!(lines[3], "ok");
        assert_eq!(
            lines[4], "\u{fffd}",
            "an unfinished line is flushed at the end"
        );
    }

    #[test]
    fn a_flood_is_truncated_once_and_writes_keep_succeeding() {
        let log = LogBuffer::default();
        log.reset(100);
        let mut out = log.sink(0);
        for _ in 0..1000 {
            OutputStream::write(&mut out, Bytes::from_static(b"0123456789\n")).unwrap();
        }
        let lines = log.take();
        assert_eq!(lines.len(), 10);
        assert_eq!(lines.last().map(String::as_str), Some(TRUNCATED));
        log.reset(100);
        assert!(log.take().is_empty());
    }
}
