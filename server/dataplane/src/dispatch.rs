//! Calls handed to Python: a queue the connections fill and one thread that drains it,
//! taking the GIL once per batch of waiting calls rather than once per call. A call whose
//! client has gone (cancelled, or past its deadline) is reported the same way, so Python
//! cancels its work as grpc.aio would.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;

use bytes::Bytes;
use pyo3::ffi;
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

/// A request message as it arrived: the chunks of its HTTP/2 data frames.
pub(crate) struct Message {
    pub chunks: Vec<Bytes>,
    pub len: usize,
}

impl Message {
    pub(crate) fn whole(data: Vec<u8>) -> Self {
        let len = data.len();
        Message {
            chunks: vec![Bytes::from(data)],
            len,
        }
    }

    pub(crate) fn concat(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    /// A Python bytes object of the message: its one copy, made straight from the chunks
    /// into memory Python allocated (no zero-fill, no joined buffer in between).
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        assert_eq!(self.chunks.iter().map(Bytes::len).sum::<usize>(), self.len);
        // SAFETY: PyBytes_FromStringAndSize(NULL, n) returns a new bytes object of n
        // uninitialised bytes that nothing else references yet; the chunks fill exactly n.
        unsafe {
            let object =
                ffi::PyBytes_FromStringAndSize(std::ptr::null(), self.len as ffi::Py_ssize_t);
            let object =
                Bound::from_owned_ptr_or_err(py, object)?.downcast_into_unchecked::<PyBytes>();
            let mut target = ffi::PyBytes_AsString(object.as_ptr()).cast::<u8>();
            for chunk in &self.chunks {
                std::ptr::copy_nonoverlapping(chunk.as_ptr(), target, chunk.len());
                target = target.add(chunk.len());
            }
            Ok(object)
        }
    }
}

/// The bytes of a Python bytes object, kept alive by a reference to it: a response goes to
/// the connection without a copy.
struct PythonBytes {
    _object: Py<PyBytes>,
    data: &'static [u8],
}

impl AsRef<[u8]> for PythonBytes {
    fn as_ref(&self) -> &[u8] {
        self.data
    }
}

/// A call waiting for Python.
pub(crate) struct Pending {
    pub method: String,
    pub request: Message,
    pub metadata: Vec<(String, Value)>,
    /// Seconds left before the client's deadline, when it set one.
    pub timeout: Option<f64>,
    pub reply: oneshot::Sender<Reply>,
}

/// What the dispatcher thread hands to Python.
pub(crate) enum Job {
    Call(u64, Pending),
    /// The call of this id lost its client before it was answered.
    Cancel(u64),
}

/// Where connections queue their calls.
pub(crate) struct Dispatcher {
    sender: mpsc::UnboundedSender<Job>,
    next_id: AtomicU64,
}

impl Dispatcher {
    pub(crate) fn new() -> (Self, mpsc::UnboundedReceiver<Job>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let dispatcher = Dispatcher {
            sender,
            next_id: AtomicU64::new(1),
        };
        (dispatcher, receiver)
    }

    /// Queue `pending`: its id, or None once the dispatcher thread is gone.
    pub(crate) fn submit(&self, pending: Pending) -> Option<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.sender.send(Job::Call(id, pending)).ok().map(|_| id)
    }

    /// Tell Python that call `id` lost its client.
    pub(crate) fn cancel(&self, id: u64) {
        let _ = self.sender.send(Job::Cancel(id));
    }
}

/// One call as Python sees it: `id`, `method`, `request` (bytes), `metadata` (a tuple of
/// (key, value) pairs, as `ServicerContext.invocation_metadata()` gives them), `timeout`
/// (seconds left, or None), answered once with `ok(response)` or
/// `fail(code, message, trailing_metadata)`.
#[pyclass(module = "lepton_dataplane", frozen)]
pub(crate) struct Call {
    #[pyo3(get)]
    id: u64,
    #[pyo3(get)]
    method: String,
    #[pyo3(get)]
    timeout: Option<f64>,
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
    /// Answer with a serialized response message (bytes, or any bytes-like object).
    fn ok(&self, response: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = match response.downcast::<PyBytes>() {
            Ok(object) => {
                let view = object.as_bytes();
                // SAFETY: a bytes object is immutable and its buffer lives as long as the
                // object, which PythonBytes holds for as long as the slice is used.
                let data: &'static [u8] =
                    unsafe { std::slice::from_raw_parts(view.as_ptr(), view.len()) };
                Bytes::from_owner(PythonBytes {
                    _object: object.clone().unbind(),
                    data,
                })
            }
            Err(_) => Bytes::from(response.extract::<Vec<u8>>()?),
        };
        self.answer(Ok(data));
        Ok(())
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

fn to_python(py: Python<'_>, id: u64, pending: Pending) -> PyResult<Py<Call>> {
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
            id,
            method: pending.method,
            timeout: pending.timeout,
            request: pending.request.to_python(py)?.unbind(),
            metadata: PyTuple::new(py, metadata)?.unbind(),
            reply: Mutex::new(Some(pending.reply)),
        },
    )
}

/// The thread that hands queued calls to `dispatch` (a Python callable taking a list of
/// `Call`s and a list of the ids of calls to cancel, which must not block). It ends when
/// every sender is gone.
pub(crate) fn spawn_thread(
    mut receiver: mpsc::UnboundedReceiver<Job>,
    dispatch: PyObject,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("lepton-dispatch".into())
        .spawn(move || {
            while let Some(first) = receiver.blocking_recv() {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match receiver.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                Python::with_gil(|py| hand_over(py, &dispatch, batch));
            }
            Python::with_gil(|_py| drop(dispatch));
        })
        .expect("spawn the dispatcher thread")
}

fn hand_over(py: Python<'_>, dispatch: &PyObject, batch: Vec<Job>) {
    let mut calls = Vec::new();
    let mut cancels = Vec::new();
    for job in batch {
        match job {
            // A call that cannot become a Python object is dropped, which the waiting
            // connection answers with INTERNAL.
            Job::Call(id, pending) => match to_python(py, id, pending) {
                Ok(call) => calls.push(call),
                Err(error) => error.print(py),
            },
            Job::Cancel(id) => cancels.push(id),
        }
    }
    let handed: Vec<Py<Call>> = calls.iter().map(|c| c.clone_ref(py)).collect();
    if let Err(error) = dispatch.call1(py, (handed, cancels)) {
        error.print(py);
        for call in calls {
            call.get()
                .answer(Err(Status::new(INTERNAL, "internal error")));
        }
    }
}
