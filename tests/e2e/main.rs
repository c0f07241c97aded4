//! End-to-end tests: the real `trygg` binary on real files and real stores, checked
//! with GDAL's `ogrinfo` where the GeoPackage layout matters, and the HTTP service
//! through its router and on loopback.

mod api;
mod charts;
mod crash;
mod demo;
mod export;
mod feed;
mod hardening;
mod ingest_bad;
mod ingest_police;
mod municipality;
mod postgis;
mod query;
mod report;
mod revisions;
mod snapshot;
mod store_layout;
mod support;
mod tiles;
mod transforms;
mod web;
