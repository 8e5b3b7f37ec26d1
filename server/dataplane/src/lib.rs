//! The compiled gRPC front of the Lepton reference server.
//!
//! It owns the public port. Calls to the methods it is given (the hot paths: inference, and
//! the data layer's streams) are framed here and handed, as serialized bytes, to a Python
//! callback that runs the server's own registered handler; every other call is proxied
//! unchanged to the Python gRPC server on a private unix socket. So the answers, validation
//! and errors stay those of the Python server, and only HTTP/2 and gRPC framing, which cost
//! grpc.aio most of its time per small call, move out of Python.

mod calls;
mod dispatch;
mod framing;
mod grpc_status;
mod listener;
mod proxy;
mod responses;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use tokio::sync::watch;

use crate::calls::Shape;
use crate::dispatch::Dispatcher;
use crate::framing::Budget;
use crate::proxy::Backend;

/// How long to wait before accepting again after accept failed.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What every connection's service shares.
pub(crate) struct Shared {
    methods: HashMap<String, Shape>,
    max_message_bytes: usize,
    /// Memory for the request messages of unary calls and server streams waiting for Python.
    budget: Budget,
    /// The same for the messages of client streams, which their handlers take at their own
    /// pace: kept apart so that a slow stream never holds up a unary call.
    stream_budget: Budget,
    dispatcher: Dispatcher,
    backend_path: PathBuf,
}

async fn route(
    shared: Arc<Shared>,
    backend: Arc<Backend>,
    request: http::Request<Incoming>,
) -> http::Response<responses::ResponseBody> {
    let shape = shared.methods.get(request.uri().path()).copied();
    match shape {
        Some(shape) if request.method() == http::Method::POST => {
            calls::handle(shared, shape, request).await
        }
        _ => backend.forward(request).await,
    }
}

/// The public listener of one server process.
#[pyclass(module = "lepton_dataplane")]
struct Front {
    /// The port it listens on.
    #[pyo3(get)]
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<watch::Sender<bool>>,
    finished: Option<tokio::sync::oneshot::Receiver<()>>,
    dispatcher_thread: Option<std::thread::JoinHandle<()>>,
}

#[pymethods]
impl Front {
    /// Bind `address` (SO_REUSEPORT when `reuse_port`) and serve: the `methods` ((full path,
    /// shape) pairs: "/package.Service/Method" and "unary", "client_stream" or
    /// "server_stream") through `dispatch` (see `dispatch::spawn_thread`), everything else
    /// proxied to the gRPC server on the unix socket `backend`. Returns the bound port.
    #[new]
    #[pyo3(signature = (address, backend, methods, dispatch, max_message_bytes, reuse_port, threads=2))]
    fn new(
        address: &str,
        backend: &str,
        methods: Vec<(String, String)>,
        dispatch: PyObject,
        max_message_bytes: usize,
        reuse_port: bool,
        threads: usize,
    ) -> PyResult<Self> {
        let methods = methods
            .into_iter()
            .map(|(path, shape)| {
                let shape = match shape.as_str() {
                    "unary" => Shape::Unary,
                    "client_stream" => Shape::ClientStream,
                    "server_stream" => Shape::ServerStream,
                    other => return Err(PyValueError::new_err(format!("no call shape {other:?}"))),
                };
                Ok((path, shape))
            })
            .collect::<PyResult<HashMap<_, _>>>()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("lepton-front")
            .enable_all()
            .build()
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        let listener = {
            let _guard = runtime.enter();
            listener::bind(address, reuse_port)
                .map_err(|e| PyOSError::new_err(format!("cannot bind {address}: {e}")))?
        };
        let port = listener
            .local_addr()
            .map_err(|e| PyOSError::new_err(e.to_string()))?
            .port();
        let (dispatcher, receiver) = Dispatcher::new();
        let dispatcher_thread = dispatch::spawn_thread(receiver, dispatch);
        let shared = Arc::new(Shared {
            methods,
            max_message_bytes,
            budget: Budget::for_limit(max_message_bytes),
            stream_budget: Budget::for_limit(max_message_bytes),
            dispatcher,
            backend_path: backend.into(),
        });
        let (shutdown, mut stopping) = watch::channel(false);
        let (done, finished) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let graceful = GracefulShutdown::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let stream = match accepted {
                            Ok((stream, _)) => stream,
                            // Out of descriptors, say: retrying at once would spin.
                            Err(_) => {
                                tokio::time::sleep(ACCEPT_RETRY).await;
                                continue;
                            }
                        };
                        let _ = stream.set_nodelay(true);
                        let shared = shared.clone();
                        // Each client connection's proxied calls get a connection of their
                        // own to grpc.aio, so one client's flow control never stalls another's.
                        let backend = Arc::new(Backend::new(shared.backend_path.clone()));
                        let service = service_fn(move |request| {
                            let (shared, backend) = (shared.clone(), backend.clone());
                            async move {
                                Ok::<_, std::convert::Infallible>(route(shared, backend, request).await)
                            }
                        });
                        let connection = listener::http2()
                            .serve_connection(TokioIo::new(stream), service);
                        let connection = graceful.watch(connection);
                        tokio::spawn(async move {
                            let _ = connection.await;
                        });
                    }
                    _ = stopping.changed() => break,
                }
            }
            drop(listener);
            graceful.shutdown().await;
            let _ = done.send(());
        });
        Ok(Front {
            port,
            runtime: Some(runtime),
            shutdown: Some(shutdown),
            finished: Some(finished),
            dispatcher_thread: Some(dispatcher_thread),
        })
    }

    /// Stop accepting, send every connection GOAWAY, let calls in flight finish for at most
    /// `grace_seconds`, then close.
    fn stop(&mut self, py: Python<'_>, grace_seconds: f64) {
        let (Some(runtime), Some(shutdown)) = (self.runtime.take(), self.shutdown.take()) else {
            return;
        };
        let finished = self.finished.take();
        py.allow_threads(move || {
            let _ = shutdown.send(true);
            if let Some(finished) = finished {
                let grace = Duration::from_secs_f64(grace_seconds.max(0.0));
                runtime.block_on(async move {
                    let _ = tokio::time::timeout(grace, finished).await;
                });
            }
            // Dropping the runtime drops every connection and with it the dispatcher's
            // sender, which ends the dispatcher thread.
            runtime.shutdown_timeout(Duration::from_millis(100));
        });
        if let Some(thread) = self.dispatcher_thread.take() {
            py.allow_threads(move || {
                let _ = thread.join();
            });
        }
    }
}

/// The version of this extension.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn lepton_dataplane(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Front>()?;
    m.add_class::<dispatch::Call>()?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
