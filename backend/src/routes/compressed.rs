//! JSON answers gzipped where they are made. Answers without a `Content-Encoding` are compressed
//! by actix's `Compress` middleware, which hands every body over 1 KiB to the blocking pool to
//! compress (a thread hand-off per answer, and a wait for a thread that database work also
//! uses); a search answer is 17 to 64 KiB. Handlers that already run on the blocking pool make
//! their answer here instead, in the same task, at the middleware's level (fast) and for the
//! same clients: those whose `Accept-Encoding` the middleware would answer with gzip. The
//! middleware leaves an answer with a `Content-Encoding` alone and compresses the rest as before.

use std::io::Write;

use actix_web::http::header::{self, AcceptEncoding, ContentEncoding, Encoding, Header};
use actix_web::{HttpRequest, HttpResponse};
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::error::AppError;

/// Bodies shorter than this go out as they are, for the middleware (which compresses them in
/// place, without a hand-off).
const SMALL: usize = 1024;

/// What the middleware offers, in its order: the same negotiation gives the same choice.
const OFFERED: [Encoding; 3] = [Encoding::identity(), Encoding::gzip(), Encoding::deflate()];

/// Whether the client's `Accept-Encoding` gets gzip from the `Compress` middleware.
pub fn wants_gzip(req: &HttpRequest) -> bool {
    AcceptEncoding::parse(req)
        .ok()
        .and_then(|accepted| accepted.negotiate(OFFERED.iter()))
        .is_some_and(|chosen| chosen == Encoding::gzip())
}

/// A JSON answer, ready to send: serialised, and gzipped when `gzip` and not small.
pub struct JsonBody {
    bytes: Vec<u8>,
    gzipped: bool,
}

impl JsonBody {
    /// Serialises `value` (and compresses it when `gzip`).
    pub fn new(value: &impl Serialize, gzip: bool) -> Result<Self, AppError> {
        let json = serde_json::to_vec(value).map_err(|e| AppError::Internal(e.to_string()))?;
        if !gzip || json.len() < SMALL {
            return Ok(Self { bytes: json, gzipped: false });
        }
        let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4), flate2::Compression::fast());
        encoder.write_all(&json).map_err(|e| AppError::Internal(e.to_string()))?;
        let bytes = encoder.finish().map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(Self { bytes, gzipped: true })
    }

    /// The 200 answer.
    pub fn ok(self) -> HttpResponse {
        let mut answer = HttpResponse::Ok();
        answer.insert_header(header::ContentType::json());
        if self.gzipped {
            answer.insert_header(ContentEncoding::Gzip).insert_header((header::VARY, "accept-encoding"));
        }
        answer.body(self.bytes)
    }
}
