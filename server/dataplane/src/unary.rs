//! One unary call answered by Python: read the length-prefixed request message, hand it to
//! the dispatcher, frame the answer (gRPC over HTTP/2).

use std::collections::VecDeque;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::oneshot;

use crate::dispatch::{Pending, Value};
use crate::grpc_status::{
    self, Status, DEADLINE_EXCEEDED, INTERNAL, INVALID_ARGUMENT, OK, RESOURCE_EXHAUSTED,
    UNAVAILABLE, UNIMPLEMENTED,
};
use crate::Shared;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every response this front sends: its own, or the Python server's.
pub(crate) type ResponseBody = BoxBody<Bytes, BoxError>;

const PREFIX_BYTES: usize = 5;
const CANCELLED: i32 = 1;
/// Headers gRPC keeps for itself, which `invocation_metadata()` does not list.
const RESERVED: [&str; 6] = [
    "content-type",
    "te",
    "grpc-timeout",
    "grpc-encoding",
    "grpc-accept-encoding",
    "accept-encoding",
];

/// Answer one call of a method served through the dispatcher.
pub(crate) async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<ResponseBody> {
    let deadline = grpc_status::timeout(request.headers());
    let work = answer(shared, request);
    let result = match deadline {
        Some(deadline) => tokio::time::timeout(deadline, work)
            .await
            .unwrap_or_else(|_| Err(Status::new(DEADLINE_EXCEEDED, "Deadline Exceeded"))),
        None => work.await,
    };
    match result {
        Ok(message) => respond(message),
        Err(status) => trailers_only(&status),
    }
}

async fn answer(shared: &Shared, request: Request<Incoming>) -> Result<Bytes, Status> {
    let (parts, body) = request.into_parts();
    let limit = shared.max_message_bytes;
    let (compressed, message) = read_message(body, limit).await?;
    let message = if compressed {
        decompress(&parts.headers, &message, limit)?
    } else {
        message
    };
    let (reply, answered) = oneshot::channel();
    let pending = Pending {
        method: parts.uri.path().to_owned(),
        request: message,
        metadata: metadata(&parts.headers),
        reply,
    };
    if !shared.dispatcher.submit(pending) {
        return Err(Status::new(UNAVAILABLE, "the server is shutting down"));
    }
    // A dropped sender means Python failed before answering (it logs why).
    let response = answered
        .await
        .map_err(|_| Status::new(INTERNAL, "internal error"))??;
    if response.len() > limit {
        let size = response.len();
        return Err(Status::new(
            RESOURCE_EXHAUSTED,
            format!("Sent message larger than max ({size} vs. {limit})"),
        ));
    }
    Ok(response)
}

/// The one request message of a unary call and whether it is compressed. A message over
/// `limit` is refused as soon as its length prefix arrives.
async fn read_message(mut body: Incoming, limit: usize) -> Result<(bool, Bytes), Status> {
    let mut buffer = BytesMut::new();
    let mut expected: Option<(bool, usize)> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Status::new(CANCELLED, format!("the request ended: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buffer.extend_from_slice(&data);
        if expected.is_none() && buffer.len() >= PREFIX_BYTES {
            let size = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
            if size > limit {
                return Err(Status::new(
                    RESOURCE_EXHAUSTED,
                    format!("Received message larger than max ({size} vs. {limit})"),
                ));
            }
            buffer.reserve(PREFIX_BYTES + size - buffer.len().min(PREFIX_BYTES + size));
            expected = Some((buffer[0] == 1, size));
        }
    }
    match expected {
        Some((compressed, size)) if buffer.len() == PREFIX_BYTES + size => {
            Ok((compressed, buffer.freeze().slice(PREFIX_BYTES..)))
        }
        _ => Err(Status::new(
            INVALID_ARGUMENT,
            "a unary call carries exactly one request message",
        )),
    }
}

fn decompress(headers: &HeaderMap, message: &[u8], limit: usize) -> Result<Bytes, Status> {
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
    Ok(out.into())
}

/// The call's metadata as grpc's Python API lists it: `-bin` values decoded to bytes.
fn metadata(headers: &HeaderMap) -> Vec<(String, Value)> {
    let mut pairs = Vec::new();
    for (name, value) in headers {
        let key = name.as_str();
        if RESERVED.contains(&key) {
            continue;
        }
        let value = if key.ends_with("-bin") {
            let text = value.as_bytes();
            match STANDARD_NO_PAD.decode(text.trim_ascii_end().strip_suffix(b"=").unwrap_or(text)) {
                Ok(data) => Value::Binary(data),
                Err(_) => match STANDARD.decode(text) {
                    Ok(data) => Value::Binary(data),
                    Err(_) => continue,
                },
            }
        } else {
            match value.to_str() {
                Ok(text) => Value::Text(text.to_owned()),
                Err(_) => continue,
            }
        };
        pairs.push((key.to_owned(), value));
    }
    pairs
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
