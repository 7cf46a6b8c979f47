//! A minimal HTTP/1.1 client over one kept-alive socket, as a browser uses one: a request is one
//! write; an answer is read whole (sized or chunked) and its body kept compressed, as sent.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// An answer: status and body bytes (compressed when the server compressed them).
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One connection, reopened when the server closes it.
pub struct Conn {
    addr: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, reader: None }
    }

    fn open(&mut self) -> io::Result<&mut BufReader<TcpStream>> {
        if self.reader.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.reader = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        self.reader.as_mut().ok_or_else(|| io::Error::other("no connection"))
    }

    /// Sends a request (`extra` holds whole header lines, each ending in CRLF) and reads the
    /// answer. A kept-alive socket the server closed meanwhile is reopened once.
    pub fn send(&mut self, method: &str, path: &str, extra: &str, body: &[u8]) -> io::Result<Answer> {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: commonground-load\r\n{extra}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        let reused = self.reader.is_some();
        match self.exchange(&request) {
            Ok(answer) => Ok(answer),
            Err(_) if reused => {
                self.reader = None;
                self.exchange(&request)
            }
            Err(e) => Err(e),
        }
    }

    fn exchange(&mut self, request: &[u8]) -> io::Result<Answer> {
        let reader = self.open()?;
        reader.get_mut().write_all(request)?;
        let result = read_answer(reader);
        match &result {
            Ok((_, true)) | Err(_) => self.reader = None,
            Ok(_) => {}
        }
        result.map(|(answer, _)| answer)
    }
}

/// Reads one answer; also says whether the server will close the connection.
fn read_answer(reader: &mut BufReader<TcpStream>) -> io::Result<(Answer, bool)> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    line.clear();
                    reader.read_line(&mut line)?;
                    if line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok((Answer { status, body }, close))
}
