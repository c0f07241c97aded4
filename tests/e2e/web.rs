//! The web map as the server serves it: the page at `/`, its files at `/app/`,
//! gzip when accepted, revalidation by ETag, a Content-Security-Policy that
//! keeps it offline. (Its behaviour in a browser: `web/tests/map.e2e.mjs`.)
//! A binary built without `web/dist` serves the API page at `/` instead, with
//! how to build the map.

use std::io::Read as _;

use axum::body::Body;
use axum::http::StatusCode;
use trygg_server::router;

use crate::api::{call, shared_state, VIEWER};

async fn get(uri: &str, headers: &[(&str, &str)]) -> crate::api::Answer {
    call(
        router(shared_state()),
        "GET",
        uri,
        Some(VIEWER),
        Body::empty(),
        headers,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_and_its_files_are_served_from_the_binary() {
    let page = get("/", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    if !html.contains("/app/app.js") {
        // Built without the map: the API page says how to get it.
        assert!(html.contains("npm run build"), "{html}");
        assert_eq!(get("/app/app.js", &[]).await.status, StatusCode::NOT_FOUND);
        return;
    }
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(
        csp.contains("connect-src 'self';"),
        "offline by default: {csp}"
    );
    for (file, media) in [
        ("app.js", "text/javascript"),
        ("maplibre-gl.mjs", "text/javascript"),
        ("maplibre-gl-worker.mjs", "text/javascript"),
        ("app.css", "text/css"),
    ] {
        let uri = format!("/app/{file}");
        let plain = get(&uri, &[]).await;
        assert_eq!(plain.status, StatusCode::OK, "{file}");
        assert!(plain.headers["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with(media)));
        assert!(plain.headers.get("content-encoding").is_none());
        let zipped = get(&uri, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(zipped.headers["content-encoding"], "gzip", "{file}");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&zipped.body[..])
            .read_to_end(&mut back)
            .expect("gunzip");
        assert_eq!(back, plain.body, "{file}");
        assert!(zipped.body.len() < plain.body.len());
        let tag = plain.headers["etag"].to_str().expect("etag").to_owned();
        let again = get(&uri, &[("if-none-match", &tag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{file}");
        assert!(again.body.is_empty());
    }
    // The modules the page loads are all there (no CDN, nothing missing).
    for m in relative_imports(&get("/app/app.js", &[]).await.text()) {
        assert_eq!(
            get(&format!("/app/{m}"), &[]).await.status,
            StatusCode::OK,
            "{m}"
        );
    }
    let missing = get("/app/nope.js", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.error_field().is_none());
    assert_eq!(
        get("/app/index.html", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(get("/api", &[]).await.text().contains("/api/docs"));
}

/// The relative modules a module imports (`from "./x.js"`).
fn relative_imports(js: &str) -> Vec<String> {
    js.split("from \"./")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}
