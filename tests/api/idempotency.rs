//! `Idempotency-Key` on POSTs: a retry with the same key and body gets the first answer and runs
//! nothing; another body is a 422; a request racing the first is refused with 409 until it is done;
//! keys are scoped per credential and expire.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, exchange, on_both_backends};

impl TestApp {
    /// A POST with `key` as its `Idempotency-Key`, made with `auth`.
    async fn post_keyed(&self, path: &str, auth: &str, key: &str, body: &Value) -> Reply {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("authorization", auth)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(body.to_string());
        exchange(req).await.expect("request").into_reply()
    }

    async fn location_names(&self) -> Vec<String> {
        let r = self.get("/api/v1/locations").await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body.as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap().to_owned()).collect()
    }
}

on_both_backends! {
    async fn a_retry_with_the_same_key_and_body_gets_the_first_answer_and_creates_nothing(app) {
        let body = json!({"name": "Front desk"});
        let first = app.post_keyed("/api/v1/locations", &app.key, "create-front-desk", &body).await;
        assert_eq!(first.status, 200, "{:?}", first.body);
        assert_eq!(first.header("idempotent-replayed"), None);
        let retry = app.post_keyed("/api/v1/locations", &app.key, "create-front-desk", &body).await;
        assert_eq!((retry.status, &retry.body), (200, &first.body));
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
        assert_eq!(retry.header("content-type"), first.header("content-type"));
        assert_eq!(app.location_names().await, ["Front desk"]);
        // Without a key, the same POST runs again: keys are what makes retries safe.
        assert_eq!(app.post("/api/v1/locations", &body).await.status, 200);
        assert_eq!(app.location_names().await.len(), 2);
    }

    async fn the_same_key_with_another_body_is_a_422_in_the_contracts_envelope(app) {
        let first = app.post_keyed("/api/v1/locations", &app.key, "k-1", &json!({"name": "Front desk"})).await;
        assert_eq!(first.status, 200);
        let other = app.post_keyed("/api/v1/locations", &app.key, "k-1", &json!({"name": "Back office"})).await;
        assert_eq!(other.status, 422, "{:?}", other.body);
        assert_eq!(other.body["field"], "Idempotency-Key");
        assert_eq!(app.location_names().await, ["Front desk"]);
    }

    async fn requests_racing_with_one_key_run_once_and_the_others_wait_their_turn(app) {
        let body = json!({"name": "Raced"});
        let answers = join_all((0..8).map(|_| app.post_keyed("/api/v1/locations", &app.key, "race", &body))).await;
        let mut created = None;
        for r in &answers {
            match r.status {
                200 => assert_eq!(created.get_or_insert_with(|| r.body["id"].clone()), &r.body["id"]),
                409 => {
                    assert_eq!(r.header("retry-after"), Some("1"));
                    assert_eq!(r.body["field"], "Idempotency-Key");
                }
                other => panic!("{other}: {:?}", r.body),
            }
        }
        assert!(created.is_some(), "one of them ran");
        // Once the first is done, a retry of a refused one gets its answer.
        let retry = app.post_keyed("/api/v1/locations", &app.key, "race", &body).await;
        assert_eq!((retry.status, &retry.body["id"]), (200, created.as_ref().unwrap()));
        assert_eq!(app.location_names().await, ["Raced"]);
    }

    async fn keys_are_scoped_per_credential(app) {
        let (_, other_key, _) = app.other_workspace().await;
        let body = json!({"name": "Front desk"});
        let mine = app.post_keyed("/api/v1/locations", &app.key, "shared", &body).await;
        let theirs = app.post_keyed("/api/v1/locations", &other_key, "shared", &body).await;
        assert_eq!((mine.status, theirs.status), (200, 200));
        assert_ne!(mine.body["id"], theirs.body["id"], "the other credential's request ran on its own");
        assert_eq!(theirs.header("idempotent-replayed"), None);
    }

    async fn a_refusal_keeps_no_answer_so_a_corrected_request_may_reuse_the_key(app) {
        let refused = app.post_keyed("/api/v1/locations", &app.key, "fix-me", &json!({"name": ""})).await;
        assert_eq!(refused.status, 400, "{:?}", refused.body);
        let fixed = app.post_keyed("/api/v1/locations", &app.key, "fix-me", &json!({"name": "Fixed"})).await;
        assert_eq!(fixed.status, 200, "{:?}", fixed.body);
        assert_eq!(app.location_names().await, ["Fixed"]);
    }

    async fn a_malformed_key_is_a_400_naming_the_header(app) {
        for key in ["k".repeat(256), "tab\there".to_owned()] {
            let r = app.post_keyed("/api/v1/locations", &app.key, &key, &json!({"name": "X"})).await;
            assert_eq!(r.status, 400, "{key:?}: {:?}", r.body);
            assert_eq!(r.body["errors"][0]["field"], "Idempotency-Key", "{:?}", r.body);
        }
        assert!(app.location_names().await.is_empty());
    }

    async fn a_path_no_contract_has_is_a_404_whatever_its_key(app) {
        let long = "k".repeat(256);
        for path in ["/rest/servicedeskapi/user", "/rest/api/2/issue", "/api/v1/nothing-here"] {
            let r = app.post_keyed(path, &app.key, &long, &json!({})).await;
            assert_eq!(r.status, 404, "{path}: {:?}", r.body);
        }
    }

    async fn every_contract_replays_and_refuses_in_its_own_envelope(app) {
        let auth = format!("Bearer {}", app.key);
        let location = app.location("HQ").await;
        let ann = app.external_user("ann@example.com", "Ann").await;
        let ticket = json!({"ticket": {"locationRef": location, "text": "Printer", "userRefRequester": ann["id"]}});
        let send = |key: &'static str, body: Value| {
            let req = app
                .client
                .post(format!("{}/support/tickets/v1", app.base))
                .header("authorization", auth.clone())
                .header("spacebring-network-id", app.workspace_id.clone())
                .header("idempotency-key", key)
                .header("content-type", "application/json")
                .body(body.to_string());
            async move { exchange(req).await.expect("request").into_reply() }
        };
        let first = send("ticket-1", ticket.clone()).await;
        assert_eq!(first.status, 201, "{:?}", first.body);
        let retry = send("ticket-1", ticket.clone()).await;
        assert_eq!((retry.status, &retry.body), (201, &first.body));
        let mut other = ticket.clone();
        other["ticket"]["text"] = json!("Scanner");
        let refused = send("ticket-1", other).await;
        assert_eq!(refused.status, 422, "{:?}", refused.body);
        assert_eq!(refused.body["error"]["details"][0]["field"], "Idempotency-Key", "{:?}", refused.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_expires_and_then_runs_anew() {
    let app = TestApp::sqlite_with_idempotency_key_ttl(Duration::from_millis(50)).await;
    let body = json!({"name": "Front desk"});
    assert_eq!(app.post_keyed("/api/v1/locations", &app.key, "k", &body).await.status, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = app.post_keyed("/api/v1/locations", &app.key, "k", &body).await;
    assert_eq!((again.status, again.header("idempotent-replayed")), (200, None));
    assert_eq!(app.location_names().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purging_removes_expired_keys_only() {
    let app = TestApp::sqlite().await;
    let body = json!({"name": "Front desk"});
    assert_eq!(app.post_keyed("/api/v1/locations", &app.key, "k", &body).await.status, 200);
    assert_eq!(app.app.purge_idempotency_keys(Duration::from_secs(60)).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(app.app.purge_idempotency_keys(Duration::from_millis(10)).await.unwrap(), 1);
}
