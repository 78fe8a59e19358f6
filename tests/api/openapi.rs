//! The served OpenAPI document describes exactly the routes the server has.

use std::collections::BTreeSet;

use frontdesk::contracts::routes;
use serde_json::Value;

use crate::helpers::{TestApp, exchange};

#[tokio::test]
async fn openapi_document_and_routes_agree() {
    let app = TestApp::sqlite().await;
    let doc = app.send("GET", "/openapi.json", None, None).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    // Responses are checked against `openapi_document()` (parsed once per test process): it must be
    // exactly what the server serves.
    assert_eq!(doc.body, frontdesk::contracts::openapi_document());

    let documented: BTreeSet<(String, String)> = doc.body["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .into_iter()
                .flat_map(|o| o.keys())
                .filter(|m| m.as_str() != "parameters")
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = routes().iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes missing from openapi.json: {undocumented:?}");
    assert!(unrouted.is_empty(), "openapi.json documents routes the server lacks: {unrouted:?}");
}

/// Every route in `routes()` is really served: the router answers it with something other than its
/// "no such route" fallback or a 405.
#[tokio::test]
async fn every_listed_route_is_served() {
    let app = TestApp::sqlite().await;
    let id = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
    for (method, path) in routes() {
        let concrete: Vec<String> = path
            .split('/')
            .map(|segment| if segment.starts_with('{') { id.to_owned() } else { segment.to_owned() })
            .collect();
        let concrete = concrete.join("/");
        let r = app.send(method, &concrete, None, Some("{}")).await;
        assert_ne!(r.status, 405, "{method} {path}");
        assert_ne!(r.body.get("message").and_then(Value::as_str), Some("Route not found."), "{method} {path}");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::sqlite().await;
    app.get("/api/v1/external-users/3c90c3cc-0d44-4b50-8888-8dd25736052a").await;
    app.get("/api/v1/external-users/4c90c3cc-0d44-4b50-8888-8dd25736052a").await;
    let metrics = exchange(app.client.get(format!("{}/metrics", app.base))).await.unwrap().text;
    assert!(
        metrics.contains(
            r#"frontdesk_http_requests_total{method="GET",route="/api/v1/external-users/{id}",status="404"} 2"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("frontdesk_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn wrong_methods_and_unknown_routes_answer_json() {
    let app = TestApp::sqlite().await;
    let r = app.send("DELETE", "/api/v1/external-users", Some(&app.key), None).await;
    assert_eq!((r.status, r.body["code"].as_i64()), (405, Some(405)));
    let r = app.send("GET", "/api/v1/nothing-here", Some(&app.key), None).await;
    assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Route not found.")));
}

/// People reading the served document know the APIs by their products' names, not by this
/// repository's seed numbers.
#[test]
fn the_served_document_names_apis_without_seed_numbers() {
    let text = frontdesk::contracts::openapi_document().to_string().to_lowercase();
    for n in 0..5 {
        assert!(!text.contains(&format!("seed 00{n}")), "/openapi.json mentions seed 00{n}");
    }
}
