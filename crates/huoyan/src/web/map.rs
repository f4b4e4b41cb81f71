//! The map kit: Leaflet and its marker clusters (vendored from npm, see
//! `static/vendor/README.md`), the script that draws every page's map from the JSON API, and the
//! tile server a city may configure. Without one the map draws outlines and pins on a plain
//! background, so it works on a network that reaches nothing but this server.

use axum::Router;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use huoyan_core::cases::CaseState;
use huoyan_core::org::ControlLevel;

use super::{JAVASCRIPT, asset};
use crate::i18n::Locale;

const CSS: &str = "text/css; charset=utf-8";

/// A tile server drawn under the outlines: Leaflet's URL template (`{s}` `{z}` `{x}` `{y}`) and
/// the attribution its terms ask for, shown as text in the map's corner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiles {
    url: String,
    attribution: String,
    /// The origin the content security policy must let images come from.
    source: String,
    /// The tiles are drawn in GCJ-02 (a Chinese web map): stored WGS-84 positions are shifted to
    /// match them.
    gcj02: bool,
}

impl Tiles {
    /// Checks a template as the configuration gives it: http(s), with `{z}`, `{x}` and `{y}`,
    /// and a host that varies at most by a leading `{s}` (which the policy allows as `*.`).
    pub fn parse(url: &str, attribution: Option<&str>) -> Result<Tiles, String> {
        let url = url.trim();
        let attribution = attribution.unwrap_or_default().trim();
        if url.chars().count() > 500 || attribution.chars().count() > 300 {
            return Err("a tile URL may have 500 characters, its attribution 300".into());
        }
        if url.chars().chain(attribution.chars()).any(char::is_control) {
            return Err("control characters in the tile URL or attribution".into());
        }
        let Some((scheme @ ("https" | "http"), rest)) = url.split_once("://") else {
            return Err(format!(
                "tile URL {url:?} must start with https:// or http://"
            ));
        };
        if let Some(missing) = ["{z}", "{x}", "{y}"].iter().find(|p| !url.contains(*p)) {
            return Err(format!("tile URL {url:?} lacks {missing}"));
        }
        let host = rest.split('/').next().unwrap_or_default();
        let fixed = host.strip_prefix("{s}.").map_or(host, |h| h);
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':');
        if fixed.is_empty() || !fixed.chars().all(plain) {
            return Err(format!(
                "tile URL {url:?}: the host may vary only by a leading {{s}}."
            ));
        }
        let host = if fixed.len() < host.len() {
            format!("*.{fixed}")
        } else {
            fixed.to_string()
        };
        Ok(Tiles {
            url: url.to_string(),
            attribution: attribution.to_string(),
            source: format!("{scheme}://{host}"),
            gcj02: false,
        })
    }

    /// The same tiles, drawn in GCJ-02 (`gcj02`) or WGS-84.
    pub fn in_gcj02(self, gcj02: bool) -> Tiles {
        Tiles { gcj02, ..self }
    }

    /// The `img-src` source of the content security policy for these tiles.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The script that tells `map.js` where tiles come from (`null`: none).
    fn script(tiles: Option<&Tiles>) -> String {
        let config = tiles.map(|t| {
            serde_json::json!({"url": t.url, "attribution": t.attribution,
                "datum": if t.gcj02 { "gcj02" } else { "wgs84" }})
        });
        format!(
            "window.huoyanTiles = {};\n",
            serde_json::Value::from(config)
        )
    }
}

/// Scripts and styles only from files the server serves (no inline script, so an injected one
/// does not run), images also from the phone's camera (`blob:`, `data:`) and the map's tile
/// server when one is configured, no framing, forms posted only here. `media`: the origins a
/// page's video plays from (checked by `huoyan_core::drones::stream_origin`), with `blob:` for
/// the HLS player's media source.
pub fn content_security_policy(tiles: Option<&Tiles>, media: &[String]) -> HeaderValue {
    let tiles = tiles
        .map(|t| format!(" {}", t.source()))
        .unwrap_or_default();
    let media = if media.is_empty() {
        String::new()
    } else {
        let origins = media.join(" ");
        format!(" media-src 'self' blob: {origins}; connect-src 'self' {origins};")
    };
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{tiles};{media} \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("tile and media sources are checked to be plain origins")
}

/// What a page's map shows; `templates/map.html` draws it and `static/map.js` fills it.
pub struct MapView {
    /// The cases list's query whose cases are pinned; None: no pins.
    pub cases: Option<String>,
    /// The inspections coverage query whose key sites are pinned by standing; None: none.
    pub sites: Option<String>,
    /// The region outline lists' queries, each drawn above the one before.
    pub regions: Vec<String>,
    /// Regions shown as chosen (an order's).
    pub selected: Vec<i64>,
    /// Clicking an outline ticks or clears its box in the page's region picker.
    pub pick: bool,
    /// The legend: (code, label) of each case state and each control level.
    pub states: Vec<(&'static str, &'static str)>,
    pub levels: Vec<(&'static str, &'static str)>,
}

impl MapView {
    /// The districts' and compounds' outlines, coloured by control level.
    pub fn outlines(locale: Locale) -> MapView {
        MapView {
            cases: None,
            sites: None,
            regions: vec!["level=district".into(), "level=compound&limit=500".into()],
            selected: Vec::new(),
            pick: false,
            states: CaseState::choices(locale.is_en()),
            levels: ControlLevel::ALL
                .iter()
                .map(|l| (l.code(), l.label(locale.is_en())))
                .collect(),
        }
    }

    /// With the cases of the list query `query` as pins.
    pub fn with_cases(mut self, query: String) -> MapView {
        self.cases = Some(query);
        self
    }

    /// With the key sites of the coverage query `query` as pins coloured by standing.
    pub fn with_sites(mut self, query: String) -> MapView {
        self.sites = Some(query);
        self
    }

    /// Region `id`'s outline and those of the regions inside it, instead of the districts'.
    pub fn around(mut self, id: i64) -> MapView {
        self.regions = vec![format!("ids={id}"), format!("within={id}&limit=500")];
        self
    }

    pub fn selecting(mut self, ids: Vec<i64>) -> MapView {
        self.selected = ids;
        self
    }

    pub fn picking(mut self) -> MapView {
        self.pick = true;
        self
    }

    /// `data-regions`: the queries, `|` apart.
    pub fn region_queries(&self) -> String {
        self.regions.join("|")
    }

    /// `data-selected`: the ids, `,` apart.
    pub fn selected_ids(&self) -> String {
        let ids: Vec<String> = self.selected.iter().map(i64::to_string).collect();
        ids.join(",")
    }
}

/// The kit's routes: the vendored files, the map's script and style, and the tiles' settings.
pub fn router<S: Clone + Send + Sync + 'static>(tiles: Option<Tiles>) -> Router<S> {
    let config = Tiles::script(tiles.as_ref());
    let vendor = |content_type: &'static str, body: &'static str| {
        get(move || async move { asset(content_type, body) })
    };
    Router::new()
        .route(
            "/static/vendor/leaflet.js",
            vendor(JAVASCRIPT, include_str!("../../static/vendor/leaflet.js")),
        )
        .route(
            "/static/vendor/leaflet.css",
            vendor(CSS, include_str!("../../static/vendor/leaflet.css")),
        )
        .route(
            "/static/vendor/leaflet.markercluster.js",
            vendor(
                JAVASCRIPT,
                include_str!("../../static/vendor/leaflet.markercluster.js"),
            ),
        )
        .route(
            "/static/vendor/MarkerCluster.css",
            vendor(CSS, include_str!("../../static/vendor/MarkerCluster.css")),
        )
        .route(
            "/static/vendor/MarkerCluster.Default.css",
            vendor(
                CSS,
                include_str!("../../static/vendor/MarkerCluster.Default.css"),
            ),
        )
        .route(
            "/static/map.js",
            vendor(JAVASCRIPT, include_str!("../../static/map.js")),
        )
        .route(
            "/static/datum.js",
            vendor(JAVASCRIPT, include_str!("../../static/datum.js")),
        )
        .route(
            "/static/map.css",
            vendor(CSS, include_str!("../../static/map.css")),
        )
        .route(
            "/static/map-tiles.js",
            get(move || {
                let config = config.clone();
                async move { tiles_script(config) }
            }),
        )
}

fn tiles_script(config: String) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, JAVASCRIPT),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        config,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::Tiles;

    #[test]
    fn a_tile_template_gives_the_origin_its_images_come_from() {
        let osm = Tiles::parse(
            "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",
            Some("© OpenStreetMap contributors"),
        )
        .unwrap();
        assert_eq!(osm.source(), "https://*.tile.openstreetmap.org");
        let local = Tiles::parse("http://10.0.0.5:8081/tiles/{z}/{x}/{y}.png", None).unwrap();
        assert_eq!(local.source(), "http://10.0.0.5:8081");
        assert!(Tiles::script(Some(&local)).contains("\"url\":\"http://10.0.0.5:8081/tiles"));
        assert_eq!(Tiles::script(None), "window.huoyanTiles = null;\n");
        assert!(Tiles::script(Some(&local)).contains("\"datum\":\"wgs84\""));
        assert!(Tiles::script(Some(&local.in_gcj02(true))).contains("\"datum\":\"gcj02\""));
    }

    #[test]
    fn a_template_the_policy_cannot_name_is_refused() {
        for bad in [
            "ftp://tiles.example/{z}/{x}/{y}.png",
            "https://tiles.example/{z}/{x}.png",
            "https://tiles-{s}.example/{z}/{x}/{y}.png",
            "https://tiles.example; script-src */{z}/{x}/{y}",
            "https://user@tiles.example/{z}/{x}/{y}.png",
            "//tiles.example/{z}/{x}/{y}.png",
            "https:///{z}/{x}/{y}.png",
        ] {
            assert!(Tiles::parse(bad, None).is_err(), "{bad}");
        }
        assert!(Tiles::parse("https://t.example/{z}/{x}/{y}", Some("a\nb")).is_err());
    }
}
