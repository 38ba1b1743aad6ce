//! The dispatcher over HTTP, as the AWS JSON protocols carry it: `POST /` with
//! `X-Amz-Target: <Service_Version>.<Operation>` and a JSON body; 200 and the
//! JSON response, or the error's status with `x-amzn-ErrorType` and
//! `{"__type": ..., "message": ...}` (what botocore and the AWS SDKs parse).
//!
//! Lambda's own wire protocol (REST-JSON under `/2015-03-31/functions/...`)
//! is not served yet; eddy's Lambda operations are reachable here as
//! `X-Amz-Target: Lambda_20150331.<Operation>`.
//!
//! `Server` is `eddy serve`'s listener; `Client` is how the CLI reaches a
//! server that holds its data directory. Both sides live here so the wire
//! format is written down once.

mod client;
mod server;
mod wire;

pub use client::{Client, ClientError, Health};
pub use server::Server;

/// The largest request body the server reads: 16 MiB, DynamoDB's largest
/// request (a BatchWriteItem of 25 items of 400 KB fits well inside). A larger
/// body is refused with 413 `RequestTooLargeException` before it is read.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// `GET` here (or on `/`) answers `Health` as JSON while the server is up.
pub const HEALTH_PATH: &str = "/_eddy/health";
