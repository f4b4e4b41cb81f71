//! The installable field app (DESIGN.md: the field pages keep what the user entered through
//! network drops and send it once when the network returns): the web-app manifest and its
//! icons, the service worker at the site's root (so that its scope is every page), and the
//! outbox script the field pages and the worker share. Which pages the worker keeps for use
//! without a network is for their contexts to say; the composition root passes them in.

use axum::Router;
use axum::body::Bytes;
use axum::response::Response;
use axum::routing::get;

use super::{JAVASCRIPT, asset};

/// What the kit itself adds to the pages kept offline: the stylesheet and the outbox.
const KIT: &[&str] = &["/static/app.css", "/static/outbox.js"];

/// The service worker's source with the paths it keeps offline filled in.
fn worker(offline: &[&str]) -> String {
    let paths: Vec<&str> = KIT.iter().chain(offline).copied().collect();
    let list = serde_json::to_string(&paths).expect("a list of strings serialises");
    let source = include_str!("../../static/sw.js");
    assert!(
        source.contains("/*OFFLINE*/[]"),
        "sw.js names where its list goes"
    );
    source.replace("/*OFFLINE*/[]", &list)
}

async fn manifest() -> Response {
    asset(
        "application/manifest+json",
        include_str!("../../static/manifest.webmanifest"),
    )
}

async fn outbox() -> Response {
    asset(JAVASCRIPT, include_str!("../../static/outbox.js"))
}

/// The manifest, the icons, the outbox and the worker keeping `offline` (pages and their
/// scripts) besides the kit's own stylesheet and outbox.
pub fn router<S: Clone + Send + Sync + 'static>(offline: &[&str]) -> Router<S> {
    let worker = Bytes::from(worker(offline));
    Router::new()
        .route("/manifest.webmanifest", get(manifest))
        .route(
            "/sw.js",
            get(move || {
                let worker = worker.clone();
                async move { asset(JAVASCRIPT, worker) }
            }),
        )
        .route("/static/outbox.js", get(outbox))
        .route(
            "/static/icon-192.png",
            get(|| async {
                asset(
                    "image/png",
                    &include_bytes!("../../static/icon-192.png")[..],
                )
            }),
        )
        .route(
            "/static/icon-512.png",
            get(|| async {
                asset(
                    "image/png",
                    &include_bytes!("../../static/icon-512.png")[..],
                )
            }),
        )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_worker_keeps_the_kit_and_the_pages_it_is_given() {
        let source = super::worker(&["/cases/new", "/static/report.js"]);
        assert!(
            source.contains(
                r#"var OFFLINE = ["/static/app.css","/static/outbox.js","/cases/new","/static/report.js"];"#
            ),
            "{source}"
        );
    }
}
