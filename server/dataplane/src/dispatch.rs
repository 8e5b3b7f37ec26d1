//! Calls handed to Python: a queue the connections fill and one thread that drains it,
//! taking the GIL once per batch of waiting calls rather than once per call.

use std::sync::Mutex;
use std::thread::JoinHandle;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use tokio::sync::{mpsc, oneshot};

use crate::grpc_status::{Status, INTERNAL};

/// At most this many calls are handed to Python at once.
const MAX_BATCH: usize = 256;

/// The answer to one call: the serialized response, or a status.
pub(crate) type Reply = Result<Bytes, Status>;

/// One metadata value as gRPC's Python API gives it: text, or bytes for a `-bin` key.
pub(crate) enum Value {
    Text(String),
    Binary(Vec<u8>),
}

/// A call waiting for Python.
pub(crate) struct Pending {
    pub method: String,
    pub request: Bytes,
    pub metadata: Vec<(String, Value)>,
    pub reply: oneshot::Sender<Reply>,
}

/// Where connections queue their calls.
pub(crate) struct Dispatcher {
    sender: mpsc::UnboundedSender<Pending>,
}

impl Dispatcher {
    pub(crate) fn new() -> (Self, mpsc::UnboundedReceiver<Pending>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Dispatcher { sender }, receiver)
    }

    /// Queue `pending`; false once the dispatcher thread is gone.
    pub(crate) fn submit(&self, pending: Pending) -> bool {
        self.sender.send(pending).is_ok()
    }
}

/// One call as Python sees it: `method`, `request` (bytes), `metadata` (a tuple of
/// (key, value) pairs, as `ServicerContext.invocation_metadata()` gives them), answered once
/// with `ok(response)` or `fail(code, message, trailing_metadata)`.
#[pyclass(module = "lepton_dataplane", frozen)]
pub(crate) struct Call {
    #[pyo3(get)]
    method: String,
    #[pyo3(get)]
    request: Py<PyBytes>,
    #[pyo3(get)]
    metadata: Py<PyTuple>,
    reply: Mutex<Option<oneshot::Sender<Reply>>>,
}

impl Call {
    fn answer(&self, reply: Reply) {
        let sender = self.reply.lock().ok().and_then(|mut slot| slot.take());
        // A call whose client has gone has no one to receive its answer.
        if let Some(sender) = sender {
            let _ = sender.send(reply);
        }
    }
}

#[pymethods]
impl Call {
    /// Answer with a serialized response message.
    fn ok(&self, response: &[u8]) {
        self.answer(Ok(Bytes::copy_from_slice(response)));
    }

    /// Answer with a status: its code, message and trailing metadata ((key, bytes) pairs;
    /// a `-bin` key's value is sent base64-encoded).
    fn fail(&self, code: i32, message: String, metadata: Vec<(String, Vec<u8>)>) {
        self.answer(Err(Status {
            code,
            message,
            metadata,
        }));
    }
}

fn to_python(py: Python<'_>, pending: Pending) -> PyResult<Py<Call>> {
    let metadata: Vec<Bound<'_, PyTuple>> = pending
        .metadata
        .into_iter()
        .map(|(key, value)| {
            let key = PyString::new(py, &key).into_any();
            let value = match value {
                Value::Text(text) => PyString::new(py, &text).into_any(),
                Value::Binary(data) => PyBytes::new(py, &data).into_any(),
            };
            PyTuple::new(py, [key, value])
        })
        .collect::<PyResult<_>>()?;
    Py::new(
        py,
        Call {
            method: pending.method,
            request: PyBytes::new(py, &pending.request).unbind(),
            metadata: PyTuple::new(py, metadata)?.unbind(),
            reply: Mutex::new(Some(pending.reply)),
        },
    )
}

/// The thread that hands queued calls to `dispatch` (a Python callable taking a list of
/// `Call`s, which must not block). It ends when every sender is gone.
pub(crate) fn spawn_thread(
    mut receiver: mpsc::UnboundedReceiver<Pending>,
    dispatch: PyObject,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("lepton-dispatch".into())
        .spawn(move || {
            while let Some(first) = receiver.blocking_recv() {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match receiver.try_recv() {
                        Ok(pending) => batch.push(pending),
                        Err(_) => break,
                    }
                }
                Python::with_gil(|py| {
                    let mut calls = Vec::with_capacity(batch.len());
                    for pending in batch {
                        match to_python(py, pending) {
                            Ok(call) => calls.push(call),
                            Err(error) => error.print(py),
                        }
                    }
                    let handed: Vec<Py<Call>> = calls.iter().map(|c| c.clone_ref(py)).collect();
                    if let Err(error) = dispatch.call1(py, (handed,)) {
                        error.print(py);
                        for call in calls {
                            call.get()
                                .answer(Err(Status::new(INTERNAL, "internal error")));
                        }
                    }
                });
            }
            Python::with_gil(|_py| drop(dispatch));
        })
        .expect("spawn the dispatcher thread")
}
