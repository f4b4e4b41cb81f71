//! The camera scanner the scanning pages share: `static/scan.js`, and the ZXing library it falls
//! back on where the browser reads no codes itself (vendored unchanged from npm, see
//! `static/vendor/README.md`). The library's file name carries its version, so a phone keeps
//! it for a year instead of fetching 360 KB again.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::{JAVASCRIPT, asset};

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/static/scan.js",
            get(|| async { asset(JAVASCRIPT, include_str!("../../static/scan.js")) }),
        )
        .route(
            "/static/vendor/zxing-library-0.23.0.min.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, JAVASCRIPT),
                        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                    ],
                    include_str!("../../static/vendor/zxing-library-0.23.0.min.js"),
                )
                    .into_response()
            }),
        )
}
