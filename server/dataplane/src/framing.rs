//! gRPC messages on an HTTP/2 request stream: the length-prefixed messages a request body
//! carries, the memory they may take while they wait for Python, and their decompression.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::dispatch::Message;
use crate::grpc_status::{Status, CANCELLED, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNIMPLEMENTED};

pub(crate) const PREFIX_BYTES: usize = 5;

/// The start of one message: whether it is compressed, and its length.
pub(crate) struct Prefix {
    pub compressed: bool,
    pub size: usize,
}

/// Reads the messages of a request body one at a time, never further than the message
/// asked for: a client that sends more than it should costs nothing until it is read.
pub(crate) struct MessageReader {
    body: Incoming,
    /// Bytes received past the end of the last piece returned.
    leftover: Option<Bytes>,
}

impl MessageReader {
    pub(crate) fn new(body: Incoming) -> Self {
        MessageReader {
            body,
            leftover: None,
        }
    }

    /// The next bytes of the body; None at its end.
    async fn data(&mut self) -> Result<Option<Bytes>, Status> {
        if let Some(data) = self.leftover.take() {
            return Ok(Some(data));
        }
        while let Some(frame) = self.body.frame().await {
            let frame =
                frame.map_err(|e| Status::new(CANCELLED, format!("the request ended: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if !data.is_empty() {
                    return Ok(Some(data));
                }
            }
        }
        Ok(None)
    }

    /// The next message's prefix, checked against `limit`; None when the body ended where a
    /// message would start.
    pub(crate) async fn prefix(&mut self, limit: usize) -> Result<Option<Prefix>, Status> {
        let mut prefix = [0u8; PREFIX_BYTES];
        let mut received = 0;
        while received < PREFIX_BYTES {
            let Some(data) = self.data().await? else {
                if received == 0 {
                    return Ok(None);
                }
                return Err(ended_early());
            };
            let take = data.len().min(PREFIX_BYTES - received);
            prefix[received..received + take].copy_from_slice(&data[..take]);
            received += take;
            if take < data.len() {
                self.leftover = Some(data.slice(take..));
            }
        }
        if prefix[0] > 1 {
            return Err(Status::new(
                INVALID_ARGUMENT,
                format!("unknown message flags {:#04x}", prefix[0]),
            ));
        }
        let size = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
        if size > limit {
            return Err(Status::new(
                RESOURCE_EXHAUSTED,
                format!("Received message larger than max ({size} vs. {limit})"),
            ));
        }
        Ok(Some(Prefix {
            compressed: prefix[0] == 1,
            size,
        }))
    }

    /// The `size` bytes of the message whose prefix was just read, as the chunks they
    /// arrived in.
    pub(crate) async fn message(&mut self, size: usize) -> Result<Message, Status> {
        let mut chunks = Vec::new();
        let mut collected = 0;
        while collected < size {
            let Some(mut data) = self.data().await? else {
                return Err(ended_early());
            };
            let wanted = size - collected;
            if data.len() > wanted {
                self.leftover = Some(data.slice(wanted..));
                data = data.slice(..wanted);
            }
            collected += data.len();
            chunks.push(data);
        }
        Ok(Message { chunks, len: size })
    }
}

/// A request that ended inside a message, or before the one it must carry.
pub(crate) fn ended_early() -> Status {
    Status::new(INVALID_ARGUMENT, "the request ended before its message did")
}

/// Memory for request messages waiting for Python. A message waits for its share while
/// too many are waiting: its client's stream then waits in HTTP/2 flow control instead of
/// in this process's memory.
pub(crate) struct Budget {
    semaphore: Arc<Semaphore>,
    units: usize,
}

/// The budget's unit: a message holds one per started 64 KiB.
const BUDGET_UNIT: usize = 64 * 1024;
/// The front's whole budget: at least this much, or four messages of the largest size.
const MIN_BUDGET_BYTES: usize = 256 * 1024 * 1024;

impl Budget {
    /// What all calls share.
    pub(crate) fn for_limit(max_message_bytes: usize) -> Self {
        Budget::of_bytes(max_message_bytes.saturating_mul(4).max(MIN_BUDGET_BYTES))
    }

    pub(crate) fn of_bytes(bytes: usize) -> Self {
        let units = (bytes / BUDGET_UNIT).clamp(1, u32::MAX as usize);
        Budget {
            semaphore: Arc::new(Semaphore::new(units)),
            units,
        }
    }

    /// The units a message of `size` bytes holds: never more than the whole budget.
    fn units_for(&self, size: usize) -> usize {
        (size / BUDGET_UNIT + 1).min(self.units)
    }

    /// Wait for room for a message of `size` bytes; the room is given back when the
    /// permit is dropped.
    pub(crate) async fn reserve(&self, size: usize) -> OwnedSemaphorePermit {
        self.semaphore
            .clone()
            .acquire_many_owned(self.units_for(size) as u32)
            .await
            .expect("the budget's semaphore is never closed")
    }

    /// Give back what `permit` holds beyond a message of `size` bytes.
    pub(crate) fn shrink(&self, permit: &mut OwnedSemaphorePermit, size: usize) {
        let excess = permit.num_permits().saturating_sub(self.units_for(size));
        drop(permit.split(excess));
    }
}

/// A compressed message inflated, at most `limit` bytes of it, on a blocking thread:
/// inflating on the runtime would hold a thread other connections need.
pub(crate) async fn decompress(
    headers: &HeaderMap,
    message: Message,
    limit: usize,
) -> Result<Message, Status> {
    let encoding = headers
        .get("grpc-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_owned();
    tokio::task::spawn_blocking(move || inflate(&encoding, &message.concat(), limit))
        .await
        .map_err(|_| Status::new(crate::grpc_status::INTERNAL, "internal error"))?
        .map(Message::whole)
}

fn inflate(encoding: &str, message: &[u8], limit: usize) -> Result<Vec<u8>, Status> {
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
