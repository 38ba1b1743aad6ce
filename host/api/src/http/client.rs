//! `Client`: a small blocking client of an eddy server, for the CLI. One
//! connection per operation: it runs on loopback, where connecting costs less
//! than the operation, and a stale pooled connection can never bite.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::runtime::Runtime;

use super::{HEALTH_PATH, wire};
use crate::ApiError;

/// What the health endpoint answers: which process serves which directory,
/// so a client can tell its server from another that took the port since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always "eddy".
    pub service: String,
    /// "serving".
    pub status: String,
    /// The server's process id.
    pub pid: u32,
    /// The data directory it serves.
    pub data_dir: PathBuf,
}

impl Health {
    /// This process, serving `data_dir`.
    pub fn of(data_dir: &Path) -> Health {
        Health {
            service: "eddy".to_string(),
            status: "serving".to_string(),
            pid: std::process::id(),
            data_dir: data_dir.to_path_buf(),
        }
    }
}

/// Why a call through a server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server ran the operation and it failed: the same error the
    /// dispatcher returns in-process.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The request never got an answer.
    #[error("cannot reach eddy serve at http://{addr}: {message}")]
    Unreachable { addr: SocketAddr, message: String },
    /// Something answered, but not as an eddy server does.
    #[error("http://{addr} did not answer as eddy serve does: {message}")]
    Protocol { addr: SocketAddr, message: String },
}

/// A blocking client of the server at one address.
pub struct Client {
    addr: SocketAddr,
    runtime: Runtime,
}

impl Client {
    /// A client of `addr`; nothing is sent until the first call.
    pub fn new(addr: SocketAddr) -> io::Result<Client> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Client { addr, runtime })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs `operation` on the server, exactly as `Api::dispatch` would here.
    pub fn call(&self, operation: &str, request: &Value) -> Result<Value, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| self.protocol(e))?;
        // A name no header can carry names no operation: say so as in-process.
        if HeaderValue::from_str(operation).is_err() {
            return Err(ApiError::unknown_operation(operation).into());
        }
        let request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(HOST, self.addr.to_string())
            .header(CONTENT_TYPE, wire::JSON_1_0)
            .header(wire::TARGET, operation)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| self.protocol(e))?;
        let (status, headers, body) = self.runtime.block_on(self.send(request))?;
        if status != StatusCode::OK {
            return Err(wire::decode_error(status.as_u16(), &headers, &body).into());
        }
        serde_json::from_slice(&body).map_err(|e| self.protocol(e))
    }

    /// Asks the server whether it is up, waiting at most `timeout`.
    pub fn health(&self, timeout: Duration) -> Result<Health, ClientError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(HEALTH_PATH)
            .header(HOST, self.addr.to_string())
            .body(Full::new(Bytes::new()))
            .map_err(|e| self.protocol(e))?;
        let answer = self
            .runtime
            .block_on(async { tokio::time::timeout(timeout, self.send(request)).await });
        let (status, _, body) = answer.map_err(|_| self.unreachable("no answer in time"))??;
        if status != StatusCode::OK {
            return Err(self.protocol(format!("health answered {status}")));
        }
        serde_json::from_slice(&body).map_err(|e| self.protocol(e))
    }

    async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, HeaderMap, Bytes), ClientError> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| self.unreachable(e))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.unreachable(e))?;
        // The connection task drives the socket while `sender` waits; it ends
        // when the response is read and the sender dropped.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| self.unreachable(e))?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| self.unreachable(e))?;
        Ok((parts.status, parts.headers, body.to_bytes()))
    }

    fn unreachable(&self, message: impl ToString) -> ClientError {
        ClientError::Unreachable {
            addr: self.addr,
            message: message.to_string(),
        }
    }

    fn protocol(&self, message: impl ToString) -> ClientError {
        ClientError::Protocol {
            addr: self.addr,
            message: message.to_string(),
        }
    }
}
