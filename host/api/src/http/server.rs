//! `Server`: a loopback HTTP/1.1 listener in front of `Api::dispatch`.
//!
//! One tokio thread accepts connections and parses HTTP. A data-plane write
//! (`crate::dispatch_async`) is checked on that thread and waits for its group
//! commit as a future; every other operation runs on tokio's blocking pool.
//! Either way concurrent requests run concurrently and the store's group
//! commit batches their writes.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

use super::client::Health;
use super::{HEALTH_PATH, MAX_BODY_BYTES, wire};
use crate::{Api, ApiError, Response as Answer};

/// Operations running at once at most; more wait for a thread. Each holds a
/// store transaction or a function invocation, so far more than the cores.
const MAX_DISPATCH_THREADS: usize = 64;

/// Data-plane writes awaiting their commit at once at most; more wait for a
/// permit. Well under the writer's queue (4,096 jobs), which the blocking
/// pool's threads and the trigger pollers share.
const MAX_ASYNC_WRITES: usize = 1024;

/// How long a stopping server waits for in-flight requests before it drops
/// the connections still open (a client trickling a body, say).
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// A bound listener, not yet serving. Binding first lets `eddy serve` report a
/// taken port before it touches the data directory.
pub struct Server {
    runtime: Runtime,
    listener: TcpListener,
    addr: SocketAddr,
    stop: Stop,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port). SIGINT and SIGTERM are caught
    /// from here on, so a signal during startup stops the server cleanly once
    /// it serves instead of killing it half-started.
    pub fn bind(addr: SocketAddr) -> io::Result<Server> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(MAX_DISPATCH_THREADS)
            .thread_name("eddy-http")
            .build()?;
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let _context = runtime.enter();
        let listener = TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let stop = Stop::new()?;
        drop(_context);
        Ok(Server {
            runtime,
            listener,
            addr,
            stop,
        })
    }

    /// The address it listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `api` until SIGINT or SIGTERM, then stops accepting, finishes the
    /// requests in flight (up to 30 s), and returns.
    pub fn serve(self, api: Arc<Api>) {
        let Server {
            runtime,
            listener,
            stop,
            ..
        } = self;
        runtime.block_on(accept_loop(listener, api, stop.signalled()));
        // Dropping the runtime waits for operations still on the blocking pool.
    }

    /// `serve`, stopping when `shutdown` completes instead of on a signal.
    pub fn serve_until(self, api: Arc<Api>, shutdown: impl Future<Output = ()>) {
        let Server {
            runtime, listener, ..
        } = self;
        runtime.block_on(accept_loop(listener, api, shutdown));
    }
}

/// What every connection shares.
struct Shared {
    api: Arc<Api>,
    health: Bytes,
    requests: AtomicU64,
    /// Permits for data-plane writes awaiting their commit (see `dispatch`).
    async_writes: tokio::sync::Semaphore,
}

async fn accept_loop(listener: TcpListener, api: Arc<Api>, shutdown: impl Future<Output = ()>) {
    let health = Health::of(api.store().dir());
    let shared = Arc::new(Shared {
        api,
        health: Bytes::from(serde_json::to_vec(&health).unwrap_or_default()),
        requests: AtomicU64::new(0),
        async_writes: tokio::sync::Semaphore::new(MAX_ASYNC_WRITES),
    });
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => serve_connection(stream, &shared, &graceful),
                Err(e) => accept_failed(e).await,
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_LIMIT) => {
            eprintln!("eddy serve: requests still open after {DRAIN_LIMIT:?}; closing them");
        }
    }
}

fn serve_connection(
    stream: tokio::net::TcpStream,
    shared: &Arc<Shared>,
    graceful: &GracefulShutdown,
) {
    // Responses are written whole; Nagle would hold the last segment back.
    let _ = stream.set_nodelay(true);
    let shared = shared.clone();
    let service = service_fn(move |req| handle(req, shared.clone()));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        // A client that goes away mid-request is its own business.
        let _ = conn.await;
    });
}

/// Out of file descriptors and the like: say so, and give the system a moment
/// rather than spinning on the same error.
async fn accept_failed(e: io::Error) {
    eprintln!("eddy serve: cannot accept a connection: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let id = request_id(&shared);
    let content_type = wire::response_content_type(req.headers());
    let path = req.uri().path().to_string();
    let mut response = match *req.method() {
        Method::GET | Method::HEAD if path == "/" || path == HEALTH_PATH => {
            respond(StatusCode::OK, "application/json", shared.health.clone())
        }
        Method::POST => match dispatch(req, &shared).await {
            Ok(answer) => respond(StatusCode::OK, content_type, Bytes::from(answer.to_bytes())),
            Err(e) => error(&e, content_type),
        },
        ref method => error(&not_served(method, &path), content_type),
    };
    if let Ok(id) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(wire::REQUEST_ID), id);
    }
    Ok(response)
}

/// One operation: its target, its body, and the dispatcher. A data-plane
/// write waits for its group commit right here, holding no thread; any other
/// operation runs on the blocking pool.
async fn dispatch(req: Request<Incoming>, shared: &Shared) -> Result<Answer, ApiError> {
    let operation = wire::target(req.headers())?;
    let body = read_body(req.into_body()).await?;
    let request = wire::parse_request(&body)?;
    let request = match shared.api.dispatch_async(&operation, request) {
        Ok(dispatching) => {
            // At most MAX_ASYNC_WRITES queued at once: the writer's queue is
            // bounded, and a full one would block this thread, so every
            // connection, until it drains.
            let _permit = shared.async_writes.acquire().await;
            // Its own task, so that a panic is a 500, as on the blocking pool.
            return match tokio::spawn(dispatching).await {
                Ok(answer) => answer.map(Answer::Value),
                Err(_) => Err(internal_failure()),
            };
        }
        Err(request) => request,
    };
    let api = shared.api.clone();
    tokio::task::spawn_blocking(move || api.respond(&operation, &request))
        .await
        .unwrap_or_else(|_| Err(internal_failure()))
}

/// What a client is told of an operation that panicked (a bug in eddy).
fn internal_failure() -> ApiError {
    let mut e = ApiError::new(
        "InternalFailure",
        "the operation failed inside eddy (a bug); nothing else was affected",
    );
    e.status = 500;
    e
}

/// The whole body, refused unread when it declares more than the limit and
/// cut off when it sends more.
async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX);
    if body.size_hint().lower() > limit {
        return Err(too_large());
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::serialization(format!(
            "the request body could not be read: {e}"
        ))),
    }
}

/// Lambda's name for an oversized request, with HTTP's status for it.
fn too_large() -> ApiError {
    let mut e = ApiError::new(
        "RequestTooLargeException",
        format!(
            "the request body is larger than the {} MiB eddy serve accepts",
            MAX_BODY_BYTES / (1024 * 1024)
        ),
    );
    e.status = 413;
    e
}

fn not_served(method: &Method, path: &str) -> ApiError {
    let mut e = ApiError::new(
        "UnknownOperationException",
        format!(
            "eddy serve answers POST / with an X-Amz-Target header (the AWS JSON protocol) and GET {HEALTH_PATH}; got {method} {path}"
        ),
    );
    e.status = 404;
    e
}

fn request_id(shared: &Shared) -> String {
    let n = shared.requests.fetch_add(1, Ordering::Relaxed);
    format!("eddy-{:08x}-{n:012x}", std::process::id())
}

/// The AWS JSON error shape: the status, `x-amzn-ErrorType`, and
/// `{"__type": ..., "message": ...}` (plus the error's extra members).
fn error(e: &ApiError, content_type: &'static str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&e.to_json()).unwrap_or_default();
    let mut response = respond(status, content_type, Bytes::from(body));
    if let Ok(kind) = HeaderValue::from_str(&e.error_type) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(wire::ERROR_TYPE), kind);
    }
    response
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// SIGINT and SIGTERM, registered when the server binds.
struct Stop {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Stop {
    #[cfg(unix)]
    fn new() -> io::Result<Stop> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Stop {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> io::Result<Stop> {
        Ok(Stop {})
    }

    #[cfg(unix)]
    async fn signalled(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn signalled(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Client, ClientError};
    use eddy_store::{Store, StoreOptions};
    use serde_json::json;

    #[test]
    fn serves_until_told_to_stop_with_errors_in_the_aws_shape() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let server = Server::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = std::thread::spawn(move || {
            server.serve_until(Arc::new(Api::new(store)), async {
                let _ = stopped.await;
            })
        });

        let client = Client::new(addr).unwrap();
        let health = client.health(Duration::from_secs(30)).unwrap();
        assert_eq!(health.pid, std::process::id());
        let tables = client
            .call("DynamoDB_20120810.ListTables", &json!({}))
            .unwrap();
        assert_eq!(tables, json!({"TableNames": []}));
        match client.call(
            "DynamoDB_20120810.DescribeTable",
            &json!({"TableName": "Nope"}),
        ) {
            Err(ClientError::Api(e)) => {
                assert_eq!(e.error_type, "ResourceNotFoundException");
                assert_eq!(e.status, 400);
            }
            other => panic!("expected the AWS error, got {other:?}"),
        }

        stop.send(()).unwrap();
        serving.join().unwrap();
        match client.call("DynamoDB_20120810.ListTables", &json!({})) {
            Err(ClientError::Unreachable { .. }) => {}
            other => panic!("a stopped server must not answer, got {other:?}"),
        }
    }

    #[test]
    fn an_oversized_request_is_refused_with_413() {
        let e = too_large();
        assert_eq!(
            (e.status, e.error_type.as_str()),
            (413, "RequestTooLargeException")
        );
        let response = error(&e, wire::JSON_1_0);
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            response.headers().get(wire::ERROR_TYPE).unwrap(),
            "RequestTooLargeException"
        );
    }
}
