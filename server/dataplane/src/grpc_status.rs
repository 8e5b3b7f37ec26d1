//! gRPC statuses on the wire: the codes this front answers with itself, and the trailers
//! (or trailers-only response) that carry a status and its metadata.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

pub(crate) const OK: i32 = 0;
pub(crate) const CANCELLED: i32 = 1;
pub(crate) const INVALID_ARGUMENT: i32 = 3;
pub(crate) const DEADLINE_EXCEEDED: i32 = 4;
pub(crate) const RESOURCE_EXHAUSTED: i32 = 8;
pub(crate) const UNIMPLEMENTED: i32 = 12;
pub(crate) const INTERNAL: i32 = 13;
pub(crate) const UNAVAILABLE: i32 = 14;

/// grpc-message is percent-encoded outside printable ASCII, and '%' itself (gRPC over HTTP/2).
const MESSAGE_ESCAPES: &AsciiSet = &CONTROLS.add(b'%');

/// A status with the trailing metadata the server attaches to it (ErrorInfo and the rest,
/// in `grpc-status-details-bin`).
#[derive(Debug)]
pub(crate) struct Status {
    pub code: i32,
    pub message: String,
    pub metadata: Vec<(String, Vec<u8>)>,
}

impl Status {
    pub(crate) fn new(code: i32, message: impl Into<String>) -> Self {
        Status {
            code,
            message: message.into(),
            metadata: Vec::new(),
        }
    }

    /// Written into `headers`: the trailers of a response, or the headers of a
    /// trailers-only one.
    pub(crate) fn write(&self, headers: &mut HeaderMap) {
        headers.insert("grpc-status", HeaderValue::from(self.code));
        if !self.message.is_empty() {
            let encoded = utf8_percent_encode(&self.message, MESSAGE_ESCAPES).to_string();
            if let Ok(value) = HeaderValue::from_str(&encoded) {
                headers.insert("grpc-message", value);
            }
        }
        for (key, value) in &self.metadata {
            let Ok(name) = HeaderName::from_bytes(key.as_bytes()) else {
                continue;
            };
            let value = if key.ends_with("-bin") {
                HeaderValue::from_str(&STANDARD_NO_PAD.encode(value))
            } else {
                HeaderValue::from_bytes(value)
            };
            if let Ok(value) = value {
                headers.append(name, value);
            }
        }
    }
}

/// The `grpc-timeout` header as a duration: up to 8 digits and a unit (gRPC over HTTP/2).
pub(crate) fn timeout(headers: &HeaderMap) -> Option<std::time::Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    use std::time::Duration;
    Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}
