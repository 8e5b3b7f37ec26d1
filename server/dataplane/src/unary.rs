//! One unary call answered by Python: read the length-prefixed request message, hand it to
//! the dispatcher, frame the answer (gRPC over HTTP/2).

use std::collections::VecDeque;
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::dispatch::{Dispatcher, Message, Pending, Value};
use crate::grpc_status::{
    self, Status, CANCELLED, DEADLINE_EXCEEDED, INTERNAL, INVALID_ARGUMENT, OK, RESOURCE_EXHAUSTED,
    UNAVAILABLE, UNIMPLEMENTED,
};
use crate::Shared;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every response this front sends: its own, or the Python server's.
pub(crate) type ResponseBody = BoxBody<Bytes, BoxError>;

const PREFIX_BYTES: usize = 5;
/// grpc-core's default hard limit on a call's metadata (name + value + 32 per entry).
const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Headers gRPC keeps for itself, which `invocation_metadata()` does not list.
const RESERVED: [&str; 8] = [
    "content-type",
    "te",
    "grpc-timeout",
    "grpc-encoding",
    "grpc-accept-encoding",
    "accept-encoding",
    "grpc-trace-bin",
    "grpc-tags-bin",
];
/// What this front decompresses (sent back as `grpc-accept-encoding`, as grpc-core does).
const ACCEPTED_ENCODINGS: &str = "identity, deflate, gzip";

/// Answer one call of a method served through the dispatcher.
pub(crate) async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<ResponseBody> {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum();
    if size > MAX_METADATA_BYTES {
        return trailers_only(&Status::new(
            RESOURCE_EXHAUSTED,
            format!("received metadata size exceeds hard limit ({size} vs. {MAX_METADATA_BYTES})"),
        ));
    }
    let deadline = grpc_status::timeout(request.headers()).map(|t| Instant::now() + t);
    let work = answer(shared, request, deadline);
    // Past the deadline the work is dropped, which tells Python to cancel it (Unanswered).
    let result = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline.into(), work)
            .await
            .unwrap_or_else(|_| Err(Status::new(DEADLINE_EXCEEDED, "Deadline Exceeded"))),
        None => work.await,
    };
    match result {
        Ok(message) => respond(message),
        Err(status) => trailers_only(&status),
    }
}

/// A call handed to Python and not answered yet: dropped so (its client gone, or its
/// deadline past), it tells Python to cancel the call's work.
struct Unanswered<'a> {
    dispatcher: &'a Dispatcher,
    id: Option<u64>,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.dispatcher.cancel(id);
        }
    }
}

async fn answer(
    shared: &Shared,
    request: Request<Incoming>,
    deadline: Option<Instant>,
) -> Result<Bytes, Status> {
    let (parts, body) = request.into_parts();
    let limit = shared.max_message_bytes;
    let metadata = metadata(&parts.headers)?;
    let (compressed, message, _held) = read_message(body, limit, &shared.budget).await?;
    let message = if compressed {
        let headers = parts.headers.clone();
        // Inflating up to the limit would hold a runtime thread other connections need.
        tokio::task::spawn_blocking(move || decompress(&headers, &message.concat(), limit))
            .await
            .map_err(|_| Status::new(INTERNAL, "internal error"))?
            .map(Message::whole)?
    } else {
        message
    };
    let (reply, answered) = oneshot::channel();
    let pending = Pending {
        method: parts.uri.path().to_owned(),
        request: message,
        metadata,
        timeout: deadline.map(|d| d.saturating_duration_since(Instant::now()).as_secs_f64()),
        reply,
    };
    let Some(id) = shared.dispatcher.submit(pending) else {
        return Err(Status::new(UNAVAILABLE, "the server is shutting down"));
    };
    let mut unanswered = Unanswered {
        dispatcher: &shared.dispatcher,
        id: Some(id),
    };
    let reply = answered.await;
    unanswered.id = None;
    // A dropped sender means Python failed before answering (it logs why).
    let response = reply.map_err(|_| Status::new(INTERNAL, "internal error"))??;
    if response.len() > limit {
        let size = response.len();
        return Err(Status::new(
            RESOURCE_EXHAUSTED,
            format!("Sent message larger than max ({size} vs. {limit})"),
        ));
    }
    Ok(response)
}

/// The request message of a unary call, as the chunks it arrived in; whether it is
/// compressed; and its share of the memory budget for requests, held until it is answered.
/// A message over `limit` is refused as soon as its length prefix arrives, and reading stops
/// at the message's end (grpc-core too answers from the first message).
async fn read_message(
    mut body: Incoming,
    limit: usize,
    budget: &Budget,
) -> Result<(bool, Message, Option<OwnedSemaphorePermit>), Status> {
    let mut prefix = [0u8; PREFIX_BYTES];
    let mut received = 0usize; // bytes of the prefix so far
    let mut size = 0usize;
    let mut chunks = Vec::new();
    let mut collected = 0usize;
    let mut held = None;
    while received < PREFIX_BYTES || collected < size {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|e| Status::new(CANCELLED, format!("the request ended: {e}")))?;
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        if received < PREFIX_BYTES {
            let take = data.len().min(PREFIX_BYTES - received);
            prefix[received..received + take].copy_from_slice(&data[..take]);
            received += take;
            data = data.slice(take..);
            if received == PREFIX_BYTES {
                size = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
                if prefix[0] > 1 {
                    return Err(Status::new(
                        INVALID_ARGUMENT,
                        format!("unknown message flags {:#04x}", prefix[0]),
                    ));
                }
                if size > limit {
                    return Err(Status::new(
                        RESOURCE_EXHAUSTED,
                        format!("Received message larger than max ({size} vs. {limit})"),
                    ));
                }
                held = Some(budget.reserve(size).await);
            }
        }
        let wanted = size - collected;
        if data.len() > wanted {
            data = data.slice(..wanted);
        }
        collected += data.len();
        if !data.is_empty() {
            chunks.push(data);
        }
    }
    if received < PREFIX_BYTES || collected < size {
        return Err(Status::new(
            INVALID_ARGUMENT,
            "the request ended before its message did",
        ));
    }
    let message = Message { chunks, len: size };
    Ok((prefix[0] == 1, message, held))
}

/// Memory for the request messages in flight. A request waits for its share while too
/// many large ones are in flight: its client's stream then waits in HTTP/2 flow control
/// instead of in this process's memory.
pub(crate) struct Budget {
    semaphore: Arc<Semaphore>,
    units: usize,
}

/// The budget's unit: a request holds one per started 64 KiB.
const BUDGET_UNIT: usize = 64 * 1024;
/// At least this much, or four requests of the largest size.
const MIN_BUDGET_BYTES: usize = 256 * 1024 * 1024;

impl Budget {
    pub(crate) fn for_limit(max_message_bytes: usize) -> Self {
        let bytes = max_message_bytes.saturating_mul(4).max(MIN_BUDGET_BYTES);
        let units = (bytes / BUDGET_UNIT).min(u32::MAX as usize);
        Budget {
            semaphore: Arc::new(Semaphore::new(units)),
            units,
        }
    }

    async fn reserve(&self, size: usize) -> OwnedSemaphorePermit {
        // A request never asks for more than the whole budget.
        let units = (size / BUDGET_UNIT + 1).min(self.units) as u32;
        self.semaphore
            .clone()
            .acquire_many_owned(units)
            .await
            .expect("the budget's semaphore is never closed")
    }
}

fn decompress(headers: &HeaderMap, message: &[u8], limit: usize) -> Result<Vec<u8>, Status> {
    let encoding = headers
        .get("grpc-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    let mut reader: Box<dyn Read> = match encoding {
        "gzip" => Box::new(flate2::read::GzDecoder::new(message)),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(message)),
        "identity" => {
            return Err(Status::new(
                INVALID_ARGUMENT,
                "a compressed message without grpc-encoding",
            ))
        }
        other => {
            return Err(Status::new(
                UNIMPLEMENTED,
                format!("Compression algorithm '{other}' is not supported"),
            ))
        }
    };
    let mut out = Vec::new();
    (&mut reader)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            Status::new(
                INVALID_ARGUMENT,
                format!("the message does not decompress: {e}"),
            )
        })?;
    if out.len() > limit {
        return Err(Status::new(
            RESOURCE_EXHAUSTED,
            format!("Received message after decompression larger than max ({limit})"),
        ));
    }
    Ok(out)
}

/// The call's metadata as grpc's Python API lists it: `-bin` values decoded to bytes.
fn metadata(headers: &HeaderMap) -> Result<Vec<(String, Value)>, Status> {
    let mut pairs = Vec::new();
    for (name, value) in headers {
        let key = name.as_str();
        if RESERVED.contains(&key) {
            continue;
        }
        let value = if key.ends_with("-bin") {
            let text = value.as_bytes().trim_ascii();
            let unpadded = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"="));
            match STANDARD_NO_PAD.decode(unpadded.unwrap_or(text)) {
                Ok(data) => Value::Binary(data),
                Err(_) => {
                    return Err(Status::new(
                        INVALID_ARGUMENT,
                        format!("metadata '{key}' is not valid base64"),
                    ))
                }
            }
        } else {
            match value.to_str() {
                Ok(text) => Value::Text(text.to_owned()),
                Err(_) => continue,
            }
        };
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

fn grpc_response(
    frames: VecDeque<Frame<Bytes>>,
    headers: Option<HeaderMap>,
) -> Response<ResponseBody> {
    let mut response = Response::new(Frames(frames).boxed());
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

/// A response carrying `message`, then status OK in the trailers.
fn respond(message: Bytes) -> Response<ResponseBody> {
    let mut prefix = BytesMut::with_capacity(PREFIX_BYTES);
    prefix.put_u8(0);
    prefix.put_u32(message.len() as u32);
    let mut trailers = HeaderMap::new();
    Status::new(OK, "").write(&mut trailers);
    let frames = VecDeque::from([
        Frame::data(prefix.freeze()),
        Frame::data(message),
        Frame::trailers(trailers),
    ]);
    grpc_response(frames, None)
}

/// A response that is only headers: the status and its metadata.
pub(crate) fn trailers_only(status: &Status) -> Response<ResponseBody> {
    let mut headers = HeaderMap::new();
    status.write(&mut headers);
    grpc_response(VecDeque::new(), Some(headers))
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
