//! A browser keeps its connection open and accepts gzip: every answer after the first must come
//! as fast as the first. A compressed answer is sent chunked, in more than one write; without
//! `TCP_NODELAY` the last write waited for the browser's delayed acknowledgement, about 40 ms on
//! Linux, on every request after the first.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::helpers::spawn_app;

/// What a raw HTTP/1.1 answer said about itself.
struct Answer {
    status: u16,
    gzip: bool,
    chunked: bool,
    body_len: usize,
}

fn read_answer(reader: &mut BufReader<TcpStream>) -> Answer {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (mut gzip, mut chunked, mut length) = (false, false, 0usize);
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        match (name, value.trim()) {
            ("content-encoding", "gzip") => gzip = true,
            ("transfer-encoding", "chunked") => chunked = true,
            ("content-length", n) => length = n.parse().unwrap(),
            _ => {}
        }
    }
    let mut body_len = 0;
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            body_len += size;
            if size == 0 {
                break;
            }
        }
    } else {
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        body_len = length;
    }
    Answer { status, gzip, chunked, body_len }
}

#[test]
fn compressed_answers_on_a_kept_alive_connection_do_not_stall() {
    let app = spawn_app();
    let port = app.address.rsplit(':').next().unwrap();
    let stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    // A search over the API and the search page, in turn, as a browser and a client would.
    let paths = ["/api/v1/services?q=walking&near=GL5%201AA", "/?q=walking&near=GL5%201AA"];
    let mut times = Vec::new();
    for n in 0..20 {
        let path = paths[n % paths.len()];
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n");
        let sent = Instant::now();
        writer.write_all(request.as_bytes()).unwrap();
        let answer = read_answer(&mut reader);
        times.push(sent.elapsed());
        assert_eq!(answer.status, 200, "{path}");
        // The API's search is gzipped where it is made and sent sized; the page is compressed
        // by the middleware and sent chunked.
        assert!(answer.gzip && answer.body_len > 0, "{path}: a gzip answer");
        assert_eq!(answer.chunked, !path.starts_with("/api/"), "{path}");
    }
    // The first request of the connection never stalled: the rest are the point.
    let mut later = times[1..].to_vec();
    later.sort();
    let median = later[later.len() / 2];
    // Loopback answers in a few milliseconds even in a debug build; a stall is 40 ms.
    assert!(median < Duration::from_millis(20), "median round trip {median:?} on one kept-alive connection: {times:?}");
}
