//! The front end's files under `/pkg` (the WASM bundle, its JavaScript, the stylesheet): the
//! build's brotli or gzip copies when it made them (`cargo leptos build --release --precompress`),
//! so nothing is compressed per request; and, when their names carry a content hash, cached by
//! browsers for a year without asking again.

use axum::{
    body::Body,
    http::{header, HeaderValue, Response},
    Router,
};
use leptos::config::LeptosOptions;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

/// A year, and never revalidated: a changed file has a new name.
const HASHED: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Names without a hash (a development build): the browser asks each time (ETag, Last-Modified).
const UNHASHED: HeaderValue = HeaderValue::from_static("no-cache");

/// `/pkg/…`, served from the site root's package folder; only files found are marked cacheable.
pub fn pkg(options: &LeptosOptions) -> Router {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let cache = if options.hash_files { HASHED } else { UNHASHED };
    Router::new()
        .fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            move |res: &Response<Body>| res.status().is_success().then(|| cache.clone()),
        ))
}
