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
    #[error("must name a host after the scheme")]
    NoHost,
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
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\'))
    {
        return Err(StreamError::Characters);
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or(StreamError::Scheme)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(StreamError::NoHost);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_host_play() {
        assert_eq!(check_stream_url("https://video.police.example/uav1/index.m3u8"), Ok(()));
        assert_eq!(check_stream_url("HTTP://10.0.0.5:8889/uav2/whep"), Ok(()));
        assert_eq!(check_stream_url("javascript:alert(1)"), Err(StreamError::Scheme));
        assert_eq!(check_stream_url("data:text/html,x"), Err(StreamError::Scheme));
        assert_eq!(check_stream_url("file:///etc/passwd"), Err(StreamError::Scheme));
        assert_eq!(check_stream_url("rtsp://cam/1"), Err(StreamError::Scheme));
        assert_eq!(check_stream_url("https:///x"), Err(StreamError::NoHost));
        assert_eq!(check_stream_url("https://user@:80/x"), Err(StreamError::NoHost));
        assert_eq!(check_stream_url("https://a/\"onerror=x"), Err(StreamError::Characters));
        assert_eq!(check_stream_url("https://a/ b"), Err(StreamError::Characters));
        let long = format!("https://a/{}", "x".repeat(STREAM_URL_MAX));
        assert_eq!(check_stream_url(&long), Err(StreamError::TooLong));
    }
}
