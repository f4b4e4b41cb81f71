//! Drones (空中督导): the police fleet's patrols over the sealed zones. The core holds the rules
//! that need no I/O: the coverage planner that turns zone polygons into sorties, a sortie as
//! ground-control software takes it, the GCJ-02 datum of Chinese web maps, and the vehicles' link
//! state.

pub mod coverage;
pub mod gcj02;
pub mod ground_control;
pub mod link;

crate::coded_enum!(
    /// What a patrol looks for (31 August: zone control, order at testing points, outside workers,
    /// vendors' compliance, spill-over from sealed zones).
    Objective {
        ZoneControl = "zone_control", "封控管控", "Zone control";
        TestingOrder = "testing_order", "核酸秩序", "Order at testing points";
        OutsideWorkers = "outside_workers", "外来人员", "Outside workers";
        Vendors = "vendors", "商户经营", "Vendors' compliance";
        SpillOver = "spill_over", "人员外溢", "Spill-over";
    }
);

crate::coded_enum!(
    /// How a drone's video plays in the page: HLS (hls.js) or WebRTC by WHEP.
    StreamKind {
        Hls = "hls", "HLS", "HLS";
        Whep = "whep", "WebRTC (WHEP)", "WebRTC (WHEP)";
    }
);

/// Longest stream URL accepted.
pub const STREAM_URL_MAX: usize = 500;

/// Why a stream URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("must start with https:// or http:// (the page plays nothing else)")]
    Scheme,
    #[error("must name a host (letters, digits, dots, hyphens, a port) after the scheme")]
    NoHost,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("must not contain spaces, quotes, angle brackets or control characters")]
    Characters,
    #[error("at most {STREAM_URL_MAX} characters")]
    TooLong,
}

/// Checks a playback URL: only http(s), which the browser fetches itself (the server never
/// fetches or proxies it), so `javascript:`, `data:` and `file:` URLs cannot reach the page.
pub fn check_stream_url(url: &str) -> Result<(), StreamError> {
    if url.chars().count() > STREAM_URL_MAX {
        return Err(StreamError::TooLong);
    }
    if url.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\')
    }) {
        return Err(StreamError::Characters);
    }
    stream_origin(url).map(|_| ())
}

/// The origin (`https://host:port`) a checked stream URL is fetched from, for the page's content
/// security policy. The host may hold only letters, digits, `.`, `-`, and a port or an IPv6
/// literal's brackets and colons, so that an origin can never add a directive to the policy.
pub fn stream_origin(url: &str) -> Result<String, StreamError> {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = ["https://", "http://"]
        .iter()
        .find_map(|s| lower.strip_prefix(s).map(|r| (s, r)))
        .ok_or(StreamError::Scheme)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.contains('@') {
        return Err(StreamError::Credentials);
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if host.is_empty() || host.starts_with(':') || !host.chars().all(plain) {
        return Err(StreamError::NoHost);
    }
    Ok(format!("{scheme}{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_host_play() {
        assert_eq!(
            check_stream_url("https://video.police.example/uav1/index.m3u8"),
            Ok(())
        );
        assert_eq!(check_stream_url("HTTP://10.0.0.5:8889/uav2/whep"), Ok(()));
        assert_eq!(
            check_stream_url("javascript:alert(1)"),
            Err(StreamError::Scheme)
        );
        assert_eq!(
            check_stream_url("data:text/html,x"),
            Err(StreamError::Scheme)
        );
        assert_eq!(
            check_stream_url("file:///etc/passwd"),
            Err(StreamError::Scheme)
        );
        assert_eq!(check_stream_url("rtsp://cam/1"), Err(StreamError::Scheme));
        assert_eq!(check_stream_url("https:///x"), Err(StreamError::NoHost));
        assert_eq!(
            check_stream_url("https://user@cam/x"),
            Err(StreamError::Credentials)
        );
        assert_eq!(
            check_stream_url("https://a;script-src/x"),
            Err(StreamError::NoHost)
        );
        assert_eq!(check_stream_url("https://a,b/x"), Err(StreamError::NoHost));
        assert_eq!(
            stream_origin("HTTPS://Video.Example:8443/a/b.m3u8?t=1"),
            Ok("https://video.example:8443".into())
        );
        assert_eq!(
            check_stream_url("https://a/\"onerror=x"),
            Err(StreamError::Characters)
        );
        assert_eq!(
            check_stream_url("https://a/ b"),
            Err(StreamError::Characters)
        );
        let long = format!("https://a/{}", "x".repeat(STREAM_URL_MAX));
        assert_eq!(check_stream_url(&long), Err(StreamError::TooLong));
    }
}
