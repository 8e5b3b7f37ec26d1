//! The public socket and the HTTP/2 settings of its connections.

use std::net::ToSocketAddrs;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

const BACKLOG: i32 = 1024;
/// HTTP/2 flow control, sized for streams of large messages (tensors, Arrow record
/// batches): a window well above the bandwidth-delay product of a local link, and frames
/// far larger than HTTP/2's 16 KiB default, so a large message costs few frames.
pub(crate) const STREAM_WINDOW_BYTES: u32 = 8 * 1024 * 1024;
pub(crate) const CONNECTION_WINDOW_BYTES: u32 = 32 * 1024 * 1024;
pub(crate) const MAX_FRAME_BYTES: u32 = 1024 * 1024;
pub(crate) const SEND_BUFFER_BYTES: usize = 8 * 1024 * 1024;
/// Headers of one call the connection accepts (gRPC's own limit is checked per call).
const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// A listening socket on `address` ("host:port"); with `reuse_port`, beside other processes
/// bound to the same port (`lepton serve --workers`).
pub(crate) fn bind(address: &str, reuse_port: bool) -> std::io::Result<TcpListener> {
    let address = address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("the address resolves to nothing"))?;
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}

/// The HTTP/2 server side of a client connection. The header limit is above gRPC's metadata limit, so an oversized call gets a gRPC status
/// (unary.rs) rather than HTTP 431; keepalive pings close connections whose peer is gone,
/// as grpc-core's do (every 2 hours, 20 seconds to answer).
pub(crate) fn http2() -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .max_send_buf_size(SEND_BUFFER_BYTES)
        .max_header_list_size(MAX_HEADER_LIST_BYTES)
        .max_concurrent_streams(None)
        .keep_alive_interval(Some(Duration::from_secs(2 * 60 * 60)))
        .keep_alive_timeout(Duration::from_secs(20))
        .auto_date_header(false);
    builder
}
