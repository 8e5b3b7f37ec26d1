//! The responses the front sends itself: one message and its status, a status alone, or a
//! server stream of the messages Python sends as it produces them.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Response};
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Sleep;

use crate::dispatch::{Event, Responses};
use crate::framing::PREFIX_BYTES;
use crate::grpc_status::{Status, DEADLINE_EXCEEDED, INTERNAL, OK, RESOURCE_EXHAUSTED};
use crate::Shared;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every response this front sends: its own, or the Python server's.
pub(crate) type ResponseBody = BoxBody<Bytes, BoxError>;

/// What this front decompresses (sent back as `grpc-accept-encoding`, as grpc-core does).
const ACCEPTED_ENCODINGS: &str = "identity, deflate, gzip";

fn grpc_response(body: ResponseBody, headers: Option<HeaderMap>) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    let map = response.headers_mut();
    map.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    map.insert(
        "grpc-accept-encoding",
        HeaderValue::from_static(ACCEPTED_ENCODINGS),
    );
    if let Some(headers) = headers {
        map.extend(headers);
    }
    response
}

fn prefix(message: &Bytes) -> Frame<Bytes> {
    let mut prefix = BytesMut::with_capacity(PREFIX_BYTES);
    prefix.put_u8(0);
    prefix.put_u32(message.len() as u32);
    Frame::data(prefix.freeze())
}

fn trailers(status: &Status) -> Frame<Bytes> {
    let mut trailers = HeaderMap::new();
    status.write(&mut trailers);
    Frame::trailers(trailers)
}

/// A response carrying `message`, then status OK in the trailers.
pub(crate) fn respond(message: Bytes) -> Response<ResponseBody> {
    let frames = VecDeque::from([
        prefix(&message),
        Frame::data(message),
        trailers(&Status::new(OK, "")),
    ]);
    grpc_response(Frames(frames).boxed(), None)
}

/// A response that is only headers: the status and its metadata.
pub(crate) fn trailers_only(status: &Status) -> Response<ResponseBody> {
    let mut headers = HeaderMap::new();
    status.write(&mut headers);
    grpc_response(Frames(VecDeque::new()).boxed(), Some(headers))
}

/// A body of frames known in advance.
struct Frames(VecDeque<Frame<Bytes>>);

impl Body for Frames {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

/// The body of a server stream: the messages Python sends, then its status. Dropped before
/// its status (the client gone), or ended by the deadline or an oversized message, it tells
/// Python to cancel the call's work.
pub(crate) struct Streamed {
    shared: Arc<Shared>,
    id: u64,
    events: mpsc::UnboundedReceiver<Event>,
    responses: Arc<Responses>,
    deadline: Option<Pin<Box<Sleep>>>,
    /// Cancels the call at its deadline even while the client reads nothing, when HTTP/2
    /// flow control keeps the body from being asked for more.
    watchdog: Option<JoinHandle<()>>,
    /// Frames ready to go: a message after its prefix.
    ready: VecDeque<Frame<Bytes>>,
    /// The status is sent, or Python answered: nothing to cancel.
    ended: bool,
}

impl Streamed {
    pub(crate) fn new(
        shared: Arc<Shared>,
        id: u64,
        events: mpsc::UnboundedReceiver<Event>,
        responses: Arc<Responses>,
        deadline: Option<std::time::Instant>,
    ) -> Self {
        Streamed {
            shared,
            id,
            events,
            responses,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
            watchdog: None,
            ready: VecDeque::new(),
            ended: false,
        }
    }

    /// Python's first answer: a response, or the status of a call that failed before any.
    pub(crate) async fn first(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The response to send once `first` is known: trailers-only when it is a status.
    pub(crate) fn respond(mut self, first: Option<Event>) -> Response<ResponseBody> {
        let message = match first {
            Some(Event::Message(message)) => message,
            Some(Event::End(status)) => {
                self.ended = true;
                return trailers_only(&status);
            }
            None => {
                self.ended = true;
                return trailers_only(&Status::new(INTERNAL, "internal error"));
            }
        };
        let frame = self.on_message(message);
        self.ready.push_front(frame);
        if let Some(deadline) = self.deadline.as_ref().map(|d| d.deadline()) {
            let (shared, id) = (self.shared.clone(), self.id);
            self.watchdog = Some(tokio::spawn(async move {
                tokio::time::sleep_until(deadline).await;
                shared.dispatcher.cancel(id);
            }));
        }
        grpc_response(self.boxed(), None)
    }

    /// The frame that starts `message` (the message itself is queued behind it), or the
    /// status that ends the call when the message is over the limit.
    fn on_message(&mut self, message: Bytes) -> Frame<Bytes> {
        if self.responses.drained(message.len()) {
            self.shared.dispatcher.writable(self.id);
        }
        let limit = self.shared.max_message_bytes;
        if message.len() > limit {
            let size = message.len();
            let status = Status::new(
                RESOURCE_EXHAUSTED,
                format!("Sent message larger than max ({size} vs. {limit})"),
            );
            return self.end(&status, true);
        }
        let frame = prefix(&message);
        self.ready.push_back(Frame::data(message));
        frame
    }

    fn end(&mut self, status: &Status, cancel: bool) -> Frame<Bytes> {
        self.ended = true;
        if cancel {
            self.shared.dispatcher.cancel(self.id);
        }
        trailers(status)
    }
}

impl Body for Streamed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(frame) = this.ready.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        if let Some(deadline) = this.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                let status = Status::new(DEADLINE_EXCEEDED, "Deadline Exceeded");
                return Poll::Ready(Some(Ok(this.end(&status, true))));
            }
        }
        let frame = match this.events.poll_recv(cx) {
            Poll::Pending => return Poll::Pending,
            // Python let go of the call without ending it (it logs why).
            Poll::Ready(None) => this.end(&Status::new(INTERNAL, "internal error"), false),
            Poll::Ready(Some(Event::End(status))) => this.end(&status, false),
            Poll::Ready(Some(Event::Message(message))) => this.on_message(message),
        };
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.ready.is_empty()
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.abort();
        }
        if !self.ended {
            self.shared.dispatcher.cancel(self.id);
        }
    }
}
