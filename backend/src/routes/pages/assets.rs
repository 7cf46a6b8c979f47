//! `GET /static/{name}`: the stylesheet and other embedded assets.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::{AppError, PageError};
use crate::templates::static_file;

/// Serves an embedded static file, cached for an hour.
pub async fn static_asset(name: web::Path<String>) -> Result<HttpResponse, PageError> {
    let (bytes, content_type) = static_file(&name).ok_or_else(|| AppError::not_found("no such file"))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(bytes))
}
