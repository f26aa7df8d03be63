//! The one HTTP/1.1 client of the tests, the demo and the benchmarks: plain
//! loopback HTTP, raw enough to send malformed requests, keep-alive for the
//! throughput benchmark.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A server that does not answer within this long has hung: the caller fails.
const ANSWER_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header lines, lowercased, as received.
    pub head: String,
    pub body: String,
}

/// One open connection; requests on it are kept alive.
pub struct Connection {
    addr: String,
    stream: BufReader<TcpStream>,
}

impl Connection {
    pub async fn open(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("{addr}: {e}"));
        Self { addr: addr.to_string(), stream: BufReader::new(stream) }
    }

    /// Sends one request and reads its whole response.
    pub async fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n", self.addr, body.len());
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.get_mut().write_all(&bytes).await.unwrap();
        tokio::time::timeout(ANSWER_LIMIT, self.read_response())
            .await
            .unwrap_or_else(|_| panic!("{} did not answer {method} {path} within {ANSWER_LIMIT:?}", self.addr))
    }

    async fn read_response(&mut self) -> Response {
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).await.unwrap();
        let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let (mut head, mut length) = (String::new(), None);
        loop {
            let mut line = String::new();
            if self.stream.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
                break;
            }
            let line = line.to_ascii_lowercase();
            if let Some(value) = line.strip_prefix("content-length:") {
                length = value.trim().parse::<usize>().ok();
            }
            head.push_str(&line);
        }
        let mut body = Vec::new();
        match length {
            Some(length) => {
                body.resize(length, 0);
                self.stream.read_exact(&mut body).await.unwrap();
            }
            // No length: the body runs until the server closes the connection.
            None => {
                self.stream.read_to_end(&mut body).await.unwrap();
            }
        }
        Response { status, head, body: String::from_utf8_lossy(&body).into_owned() }
    }
}

/// One request on a connection of its own.
pub async fn request(method: &str, addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut headers = headers.to_vec();
    headers.push(("connection", "close"));
    Connection::open(addr).await.send(method, path, &headers, body).await
}

/// A JSON request; returns status and body.
pub async fn json(method: &str, addr: &str, path: &str, body: &str) -> (u16, String) {
    let response = request(method, addr, path, &[("content-type", "application/json")], body.as_bytes()).await;
    (response.status, response.body)
}
