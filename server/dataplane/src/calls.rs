//! Calls answered by Python: read the request (one length-prefixed message, or a stream of
//! them), hand it to the dispatcher, frame the answer (gRPC over HTTP/2). Three shapes: one
//! request and one response (ModelInfer), a client stream (WriteVersion), a server stream
//! (ReadVersion).

use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Request, Response};
use hyper::body::Incoming;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

use crate::dispatch::{Answer, Dispatcher, Inbox, Message, Pending, Responses, Value};
use crate::framing::{self, Budget, MessageReader};
use crate::grpc_status::{
    self, Status, DEADLINE_EXCEEDED, INTERNAL, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE,
};
use crate::responses::Streamed;
use crate::responses::{self, ResponseBody};
use crate::Shared;

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
/// Request messages of one client stream that may wait for its handler: past this, the
/// stream waits in HTTP/2 flow control.
const CLIENT_STREAM_WINDOW_BYTES: usize = 32 * 1024 * 1024;

/// How the calls of a method the front answers are shaped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Unary,
    ClientStream,
    ServerStream,
}

/// Answer one call of a method served through the dispatcher.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    shape: Shape,
    request: Request<Incoming>,
) -> Response<ResponseBody> {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum();
    if size > MAX_METADATA_BYTES {
        return responses::trailers_only(&Status::new(
            RESOURCE_EXHAUSTED,
            format!("received metadata size exceeds hard limit ({size} vs. {MAX_METADATA_BYTES})"),
        ));
    }
    let deadline = grpc_status::timeout(request.headers()).map(|t| Instant::now() + t);
    let (parts, body) = request.into_parts();
    if shape == Shape::ServerStream {
        return match start_stream(shared, parts, body, deadline).await {
            Ok(response) => response,
            Err(status) => responses::trailers_only(&status),
        };
    }
    let work = answer(&shared, shape, parts, body, deadline);
    // Past the deadline the work is dropped, which tells Python to cancel it (Unanswered).
    let result = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline.into(), work)
            .await
            .unwrap_or_else(|_| Err(Status::new(DEADLINE_EXCEEDED, "Deadline Exceeded"))),
        None => work.await,
    };
    match result {
        Ok(message) => responses::respond(message),
        Err(status) => responses::trailers_only(&status),
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

/// Queue a call for Python: its id, or UNAVAILABLE once the front is stopping.
fn submit(
    shared: &Shared,
    parts: &Parts,
    request: Option<Message>,
    deadline: Option<Instant>,
    answer: Answer,
    inbox: Option<Arc<Inbox>>,
) -> Result<u64, Status> {
    let pending = Pending {
        method: parts.uri.path().to_owned(),
        request,
        metadata: metadata(&parts.headers)?,
        timeout: deadline.map(|d| d.saturating_duration_since(Instant::now()).as_secs_f64()),
        answer,
        inbox,
    };
    shared
        .dispatcher
        .submit(pending)
        .ok_or_else(|| Status::new(UNAVAILABLE, "the server is shutting down"))
}

/// The next request message and its share of each of `budgets`; None at the stream's end.
/// A compressed message holds room for the largest message until it is inflated, then for
/// what it inflated to.
async fn next_message(
    reader: &mut MessageReader,
    headers: &HeaderMap,
    limit: usize,
    budgets: &[&Budget],
) -> Result<Option<(Message, Vec<OwnedSemaphorePermit>)>, Status> {
    let Some(prefix) = reader.prefix(limit).await? else {
        return Ok(None);
    };
    let room = if prefix.compressed {
        limit
    } else {
        prefix.size
    };
    let mut held = Vec::with_capacity(budgets.len());
    for budget in budgets {
        held.push(budget.reserve(room).await);
    }
    let message = reader.message(prefix.size).await?;
    if !prefix.compressed {
        return Ok(Some((message, held)));
    }
    let message = framing::decompress(headers, message, limit).await?;
    for (budget, permit) in budgets.iter().zip(&mut held) {
        budget.shrink(permit, message.len);
    }
    Ok(Some((message, held)))
}

/// The request message of a call with one, and its share of the memory budget, held
/// until the call is answered. Reading stops at the message's end (grpc-core too answers
/// from the first message).
async fn read_one(
    shared: &Shared,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<(Message, Vec<OwnedSemaphorePermit>), Status> {
    let mut reader = MessageReader::new(body);
    let limit = shared.max_message_bytes;
    next_message(&mut reader, headers, limit, &[&shared.budget])
        .await?
        .ok_or_else(framing::ended_early)
}

/// The one response of a unary call or a client stream.
async fn answer(
    shared: &Arc<Shared>,
    shape: Shape,
    parts: Parts,
    body: Incoming,
    deadline: Option<Instant>,
) -> Result<Bytes, Status> {
    let (reply, answered) = oneshot::channel();
    let reply = if shape == Shape::Unary {
        let (message, _held) = read_one(shared, &parts.headers, body).await?;
        let id = submit(
            shared,
            &parts,
            Some(message),
            deadline,
            Answer::Once(reply),
            None,
        )?;
        let mut unanswered = Unanswered {
            dispatcher: &shared.dispatcher,
            id: Some(id),
        };
        let reply = answered.await;
        unanswered.id = None;
        reply
    } else {
        let inbox = Arc::new(Inbox::default());
        let id = submit(
            shared,
            &parts,
            None,
            deadline,
            Answer::Once(reply),
            Some(inbox.clone()),
        )?;
        let mut unanswered = Unanswered {
            dispatcher: &shared.dispatcher,
            id: Some(id),
        };
        let mut answered = answered;
        // The handler may answer before the stream ends (a bad first message): its answer
        // ends the call, and the rest of the stream is not read.
        let outcome = tokio::select! {
            biased;
            reply = &mut answered => Ok(reply),
            read = hand_stream(shared, &parts.headers, body, id, &inbox) => match read {
                Ok(()) => Ok(answered.await),
                Err(status) => Err(status),
            },
        };
        // Messages the handler never took give their room back now, not when Python lets
        // go of the call.
        inbox.clear();
        let reply = outcome?;
        unanswered.id = None;
        reply
    };
    // A dropped sender means Python failed before answering (it logs why).
    let response = reply.map_err(|_| Status::new(INTERNAL, "internal error"))??;
    let limit = shared.max_message_bytes;
    if response.len() > limit {
        let size = response.len();
        return Err(Status::new(
            RESOURCE_EXHAUSTED,
            format!("Sent message larger than max ({size} vs. {limit})"),
        ));
    }
    Ok(response)
}

/// Hand each request message of client stream `id` to Python as it arrives, then its end.
/// Each waits for room in the call's window, then in what all client streams share (apart
/// from unary calls, which a slow stream must not hold up), held until the handler takes
/// it (`Call.took`).
async fn hand_stream(
    shared: &Shared,
    headers: &HeaderMap,
    body: Incoming,
    id: u64,
    inbox: &Inbox,
) -> Result<(), Status> {
    let limit = shared.max_message_bytes;
    let window = Budget::of_bytes(CLIENT_STREAM_WINDOW_BYTES);
    let budgets = [&window, &shared.stream_budget];
    let mut reader = MessageReader::new(body);
    while let Some((message, held)) = next_message(&mut reader, headers, limit, &budgets).await? {
        inbox.hand(held);
        shared.dispatcher.message(id, Some(message));
    }
    shared.dispatcher.message(id, None);
    Ok(())
}

/// Hand a server stream's request to Python and answer with the stream of its responses:
/// headers go out with the first response, so a call that fails before it has one is
/// answered trailers-only, as grpc-core does.
async fn start_stream(
    shared: Arc<Shared>,
    parts: Parts,
    body: Incoming,
    deadline: Option<Instant>,
) -> Result<Response<ResponseBody>, Status> {
    let work = async {
        let (message, _held) = read_one(&shared, &parts.headers, body).await?;
        let (sender, events) = mpsc::unbounded_channel();
        let responses = Arc::new(Responses::new(sender));
        let answer = Answer::Stream(responses.clone());
        let id = submit(&shared, &parts, Some(message), deadline, answer, None)?;
        // Dropped before it answers (deadline, or the client gone), it cancels the call.
        let mut streamed = Streamed::new(shared.clone(), id, events, responses, deadline);
        let first = streamed.first().await;
        Ok::<_, Status>(streamed.respond(first))
    };
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline.into(), work)
            .await
            .unwrap_or_else(|_| Err(Status::new(DEADLINE_EXCEEDED, "Deadline Exceeded"))),
        None => work.await,
    }
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
