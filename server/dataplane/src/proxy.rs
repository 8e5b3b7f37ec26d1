//! Every call the front does not answer itself goes, unchanged (headers, streams, trailers,
//! cancellation), to the Python gRPC server over one HTTP/2 connection on a unix socket.

use std::path::PathBuf;

use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::UnixStream;
use tokio::sync::Mutex;

use crate::grpc_status::{Status, CANCELLED, INTERNAL, RESOURCE_EXHAUSTED, UNAVAILABLE};
use crate::listener;
use crate::responses::{trailers_only, BoxError, ResponseBody};

type RequestBody = http_body_util::combinators::BoxBody<bytes::Bytes, BoxError>;

pub(crate) struct Backend {
    path: PathBuf,
    connection: Mutex<Option<SendRequest<RequestBody>>>,
}

impl Backend {
    pub(crate) fn new(path: PathBuf) -> Self {
        Backend {
            path,
            connection: Mutex::new(None),
        }
    }

    /// The open connection, or a new one when there is none or it has closed.
    async fn sender(&self) -> Result<SendRequest<RequestBody>, BoxError> {
        let mut slot = self.connection.lock().await;
        if let Some(sender) = slot.as_ref() {
            if !sender.is_closed() {
                return Ok(sender.clone());
            }
        }
        let stream = UnixStream::connect(&self.path).await?;
        let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .initial_stream_window_size(listener::STREAM_WINDOW_BYTES)
            .initial_connection_window_size(listener::CONNECTION_WINDOW_BYTES)
            .max_frame_size(listener::MAX_FRAME_BYTES)
            .max_send_buf_size(listener::SEND_BUFFER_BYTES)
            .handshake(TokioIo::new(stream))
            .await?;
        tokio::spawn(connection);
        *slot = Some(sender.clone());
        Ok(sender)
    }

    pub(crate) async fn forward(&self, request: Request<Incoming>) -> Response<ResponseBody> {
        let (mut parts, body) = request.into_parts();
        if parts.uri.authority().is_none() {
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .to_owned();
            if let Ok(uri) = Uri::builder()
                .scheme("http")
                .authority("localhost")
                .path_and_query(path)
                .build()
            {
                parts.uri = uri;
            }
        }
        let request = Request::from_parts(parts, body.map_err(|e| Box::new(e) as BoxError).boxed());
        let sent = async {
            let mut sender = self.sender().await?;
            sender.ready().await?;
            Ok::<_, BoxError>(sender.send_request(request).await?)
        };
        match sent.await {
            Ok(response) => response.map(|body| body.map_err(|e| Box::new(e) as BoxError).boxed()),
            Err(error) => trailers_only(&failure(&*error)),
        }
    }
}

/// The status of a call the grpc.aio server behind could not take or answer: UNAVAILABLE
/// (worth a retry) only where the call cannot have started there; otherwise what the
/// stream's reset means, as a gRPC client would read it.
fn failure(error: &(dyn std::error::Error + 'static)) -> Status {
    let mut source = Some(error);
    while let Some(current) = source {
        if let Some(h2) = current.downcast_ref::<h2::Error>() {
            let code = match h2.reason() {
                Some(h2::Reason::REFUSED_STREAM) | None => UNAVAILABLE,
                Some(h2::Reason::CANCEL) => CANCELLED,
                Some(h2::Reason::ENHANCE_YOUR_CALM) => RESOURCE_EXHAUSTED,
                Some(_) => INTERNAL,
            };
            return Status::new(code, format!("the call was reset: {h2}"));
        }
        source = current.source();
    }
    Status::new(UNAVAILABLE, format!("the server is unavailable: {error}"))
}
