//! Calls handed to Python: a queue the connections fill and one thread that drains it,
//! taking the GIL once per batch of waiting events rather than once per event. The events
//! are new calls, the request messages of client streams, room to send more on server
//! streams, and calls whose client has gone (cancelled, or past its deadline), so Python
//! cancels their work as grpc.aio would.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

use crate::grpc_status::{Status, INTERNAL, OK};

/// At most this many events are handed to Python at once.
const MAX_BATCH: usize = 256;
/// Responses of one server stream that Python may queue before it waits for the
/// connection to take them; it is told it may go on once they are down to half.
const STREAM_HIGH_WATER: usize = 16 * 1024 * 1024;

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

/// What a server stream's body receives from Python.
pub(crate) enum Event {
    Message(Bytes),
    End(Status),
}

/// The response side of a server-streaming call: the channel to its body, and how much
/// Python has queued in it.
pub(crate) struct Responses {
    flow: Mutex<Flow>,
}

struct Flow {
    sender: Option<mpsc::UnboundedSender<Event>>,
    queued: usize,
    /// Python was told to wait and must be told when it may go on.
    waiting: bool,
}

impl Responses {
    pub(crate) fn new(sender: mpsc::UnboundedSender<Event>) -> Self {
        Responses {
            flow: Mutex::new(Flow {
                sender: Some(sender),
                queued: 0,
                waiting: false,
            }),
        }
    }

    /// Queue one response; whether Python may send another before it is told it may.
    fn send(&self, data: Bytes) -> bool {
        let mut flow = self.flow.lock().expect("the flow lock is never poisoned");
        let size = data.len();
        // Once the body is gone nothing is queued, and Python is told to wait: the call is
        // being cancelled, and the cancel, already on its way, ends the wait.
        let sent = flow
            .sender
            .as_ref()
            .is_some_and(|sender| sender.send(Event::Message(data)).is_ok());
        if !sent {
            return false;
        }
        flow.queued += size;
        if flow.queued > STREAM_HIGH_WATER {
            flow.waiting = true;
        }
        !flow.waiting
    }

    /// Whether the stream's body is still there to take responses.
    fn live(&self) -> bool {
        self.flow
            .lock()
            .is_ok_and(|flow| flow.sender.as_ref().is_some_and(|s| !s.is_closed()))
    }

    fn end(&self, status: Status) {
        let sender = self
            .flow
            .lock()
            .ok()
            .and_then(|mut flow| flow.sender.take());
        if let Some(sender) = sender {
            let _ = sender.send(Event::End(status));
        }
    }

    /// The body took `size` bytes off the queue: whether Python, which waits, may now go on.
    pub(crate) fn drained(&self, size: usize) -> bool {
        let mut flow = self.flow.lock().expect("the flow lock is never poisoned");
        flow.queued -= size;
        let resume = flow.waiting && flow.queued <= STREAM_HIGH_WATER / 2;
        if resume {
            flow.waiting = false;
        }
        resume
    }
}

/// The request messages of a client stream handed to Python and not yet taken by its
/// handler: each holds its share of the memory budgets until then.
#[derive(Default)]
pub(crate) struct Inbox {
    held: Mutex<VecDeque<Vec<OwnedSemaphorePermit>>>,
}

impl Inbox {
    pub(crate) fn hand(&self, permits: Vec<OwnedSemaphorePermit>) {
        if let Ok(mut held) = self.held.lock() {
            held.push_back(permits);
        }
    }

    fn took(&self) {
        if let Ok(mut held) = self.held.lock() {
            held.pop_front();
        }
    }

    /// The call is over: what its handler never took gives its room back.
    pub(crate) fn clear(&self) {
        if let Ok(mut held) = self.held.lock() {
            held.clear();
        }
    }
}

/// How a call is answered: once, or with a stream of responses.
pub(crate) enum Answer {
    Once(oneshot::Sender<Reply>),
    Stream(Arc<Responses>),
}

/// A call waiting for Python.
pub(crate) struct Pending {
    pub method: String,
    /// The request message; None when the client streams them (they follow as events).
    pub request: Option<Message>,
    pub metadata: Vec<(String, Value)>,
    /// Seconds left before the client's deadline, when it set one.
    pub timeout: Option<f64>,
    pub answer: Answer,
    pub inbox: Option<Arc<Inbox>>,
}

/// What the dispatcher thread hands to Python.
pub(crate) enum Job {
    Call(u64, Pending),
    /// The next request message of a client stream; None at the stream's end.
    Message(u64, Option<Message>),
    /// Python, which waits, may send more responses on this server stream.
    Writable(u64),
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

    /// Hand Python the next request message of call `id` (None: the stream ended).
    pub(crate) fn message(&self, id: u64, message: Option<Message>) {
        let _ = self.sender.send(Job::Message(id, message));
    }

    /// Tell Python it may send more responses on call `id`.
    pub(crate) fn writable(&self, id: u64) {
        let _ = self.sender.send(Job::Writable(id));
    }

    /// Tell Python that call `id` lost its client.
    pub(crate) fn cancel(&self, id: u64) {
        let _ = self.sender.send(Job::Cancel(id));
    }
}

/// The bytes of a serialized message from Python: a bytes object's without a copy, any
/// other bytes-like object's copied.
fn message_bytes(response: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    Ok(match response.downcast::<PyBytes>() {
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
    })
}

/// One call as Python sees it: `id`, `method`, `request` (bytes; None when the client
/// streams its requests, which then come as events), `metadata` (a tuple of (key, value)
/// pairs, as `ServicerContext.invocation_metadata()` gives them), `timeout` (seconds left,
/// or None). A call with one response is answered once with `ok(response)` or
/// `fail(code, message, trailing_metadata)`; a server stream sends with `send(response)`
/// and ends with `finish()` or `fail(...)`.
#[pyclass(module = "lepton_dataplane", frozen)]
pub(crate) struct Call {
    #[pyo3(get)]
    id: u64,
    #[pyo3(get)]
    method: String,
    #[pyo3(get)]
    timeout: Option<f64>,
    #[pyo3(get)]
    request: Option<Py<PyBytes>>,
    #[pyo3(get)]
    metadata: Py<PyTuple>,
    reply: Mutex<Option<oneshot::Sender<Reply>>>,
    responses: Option<Arc<Responses>>,
    inbox: Option<Arc<Inbox>>,
}

impl Call {
    fn answer(&self, reply: Reply) {
        if let Some(responses) = &self.responses {
            responses.end(match reply {
                Ok(_) => Status::new(INTERNAL, "internal error"),
                Err(status) => status,
            });
            return;
        }
        let sender = self.reply.lock().ok().and_then(|mut slot| slot.take());
        // A call whose client has gone has no one to receive its answer.
        if let Some(sender) = sender {
            let _ = sender.send(reply);
        }
    }

    fn responses(&self) -> PyResult<&Responses> {
        self.responses
            .as_deref()
            .ok_or_else(|| PyTypeError::new_err("the call's method has one response"))
    }
}

#[pymethods]
impl Call {
    /// Answer with a serialized response message (bytes, or any bytes-like object).
    fn ok(&self, response: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.responses.is_some() {
            return Err(PyTypeError::new_err("a server stream ends with finish()"));
        }
        self.answer(Ok(message_bytes(response)?));
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

    /// Send one response of a server stream. False: wait for the front to say that more
    /// may be sent (a `writable` event) before sending the next.
    fn send(&self, response: &Bound<'_, PyAny>) -> PyResult<bool> {
        let responses = self.responses()?;
        Ok(responses.send(message_bytes(response)?))
    }

    /// End a server stream with status OK.
    fn finish(&self) -> PyResult<()> {
        self.responses()?.end(Status::new(OK, ""));
        Ok(())
    }

    /// Whether the call's client still waits for its answer: false once it has gone or its
    /// deadline has passed (the front has then told Python to cancel the call).
    fn live(&self) -> bool {
        match &self.responses {
            Some(responses) => responses.live(),
            None => self
                .reply
                .lock()
                .is_ok_and(|slot| slot.as_ref().is_some_and(|s| !s.is_closed())),
        }
    }

    /// The handler took the oldest request message handed for this call: the front may
    /// read further.
    fn took(&self) {
        if let Some(inbox) = &self.inbox {
            inbox.took();
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // A server stream Python let go of without ending it (a bug, logged there) must not
        // leave its client waiting.
        if let Some(responses) = &self.responses {
            responses.end(Status::new(INTERNAL, "internal error"));
        }
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
    let request = match &pending.request {
        Some(message) => Some(message.to_python(py)?.unbind()),
        None => None,
    };
    let (reply, responses) = match pending.answer {
        Answer::Once(reply) => (Some(reply), None),
        Answer::Stream(responses) => (None, Some(responses)),
    };
    Py::new(
        py,
        Call {
            id,
            method: pending.method,
            timeout: pending.timeout,
            request,
            metadata: PyTuple::new(py, metadata)?.unbind(),
            reply: Mutex::new(reply),
            responses,
            inbox: pending.inbox,
        },
    )
}

/// The thread that hands queued events to `dispatch`, a Python callable that must not
/// block, taking four lists: new `Call`s, (call id, bytes or None at the end) for the
/// request messages of client streams, the ids of server streams that may send again, and
/// the ids of calls to cancel. It ends when every sender is gone.
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
    let mut messages = Vec::new();
    let mut writable = Vec::new();
    let mut cancels = Vec::new();
    for job in batch {
        match job {
            // A call that cannot become a Python object is dropped, which the waiting
            // connection answers with INTERNAL.
            Job::Call(id, pending) => match to_python(py, id, pending) {
                Ok(call) => calls.push(call),
                Err(error) => error.print(py),
            },
            Job::Message(id, message) => match message.map(|m| m.to_python(py)).transpose() {
                Ok(data) => messages.push((id, data)),
                Err(error) => {
                    error.print(py);
                    cancels.push(id);
                }
            },
            Job::Writable(id) => writable.push(id),
            Job::Cancel(id) => cancels.push(id),
        }
    }
    let handed: Vec<Py<Call>> = calls.iter().map(|c| c.clone_ref(py)).collect();
    if let Err(error) = dispatch.call1(py, (handed, messages, writable, cancels)) {
        error.print(py);
        for call in calls {
            call.get()
                .answer(Err(Status::new(INTERNAL, "internal error")));
        }
    }
}
