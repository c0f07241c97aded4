//! The web map (`web/`): its built files, embedded in the binary at build time
//! by `build.rs`, served at `/` (the page) and `/app/...` (its modules, styles
//! and MapLibre), gzip-encoded when the browser accepts it, revalidated by
//! ETag. A binary built without `web/dist` serves the API page at `/` instead.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::{accepts_gzip, not_modified};
use crate::error::ApiError;
use crate::state::AppState;

/// One embedded file of `web/dist`.
pub(crate) struct Asset {
    /// Path below `web/dist`, `/`-separated.
    pub path: &'static str,
    /// The file.
    pub body: &'static [u8],
    /// Its gzip encoding, when the build made one.
    pub gzip: Option<&'static [u8]>,
    /// A strong ETag of the content.
    pub etag: &'static str,
}

/// The embedded files (empty when the binary was built without `web/dist`).
pub(crate) static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The page's Content-Security-Policy: only this origin, blobs for MapLibre's
/// worker and for charts fetched with a key, inline styles for MapLibre's
/// markers. An external basemap style adds its origin to what may be fetched.
fn csp(external: Option<&str>) -> String {
    let extra = external
        .and_then(origin_of)
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' blob: data:{extra}; worker-src 'self' blob:; connect-src 'self'{extra}; \
         font-src 'self'{extra}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// `https://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (matches!(scheme, "http" | "https") && !host.is_empty()).then(|| format!("{scheme}://{host}"))
}

fn media_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// An asset's response (304 when the browser holds it).
fn serve(state: &AppState, asset: &Asset, headers: &HeaderMap) -> Response {
    if let Some(r) = not_modified(state, headers, asset.etag) {
        return r;
    }
    let gzip = asset.gzip.filter(|_| accepts_gzip(headers));
    let mut r = gzip.unwrap_or(asset.body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media_type(asset.path)),
    );
    h.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if gzip.is_some() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if asset.path.ends_with(".html") {
        if let Ok(v) = HeaderValue::from_str(&csp(state.config.ui.basemap_style.as_deref())) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    r
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// `GET /`: the web map, or the API page when the binary has no web map.
pub(crate) async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match find("index.html") {
        Some(asset) => serve(&state, asset, &headers),
        None => super::meta::home(State(state)).await.into_response(),
    }
}

/// `GET /app/{file}`: one file of the web map.
pub(crate) async fn app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    find(&file)
        .filter(|a| a.path != "index.html")
        .map(|a| serve(&state, a, &headers))
        .ok_or_else(|| ApiError::not_found(format!("no web map file '{file}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_adds_only_an_external_styles_origin() {
        assert!(!csp(None).contains("https:"));
        let with = csp(Some(
            "https://tiles.example.org:8443/styles/basic.json?key=1",
        ));
        assert!(with.contains("connect-src 'self' https://tiles.example.org:8443;"));
        assert!(!with.contains("styles/basic"));
        assert_eq!(origin_of("file:///etc/passwd"), None);
        assert_eq!(origin_of("https://"), None);
    }

    #[test]
    fn every_asset_has_a_media_type_and_a_gzip_that_decodes_to_it() {
        use std::io::Read as _;
        for a in ASSETS {
            assert_ne!(media_type(a.path), "application/octet-stream", "{}", a.path);
            if let Some(gz) = a.gzip {
                let mut back = Vec::new();
                flate2::read::GzDecoder::new(gz)
                    .read_to_end(&mut back)
                    .expect("gunzip");
                assert_eq!(back, a.body, "{}", a.path);
            }
        }
        assert_eq!(ASSETS.is_empty(), find("index.html").is_none());
    }
}
