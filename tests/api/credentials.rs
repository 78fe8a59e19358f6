//! The per-node credential cache: what one node does at once (the other nodes' side is in cluster.rs).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};

async fn agent_key(app: &TestApp) -> (String, String) {
    let created = app.post("/api/v1/api-keys", &json!({"name": "Cached", "role": "agent"})).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    (created.body["key"].as_str().unwrap().to_owned(), created.body["id"].as_str().unwrap().to_owned())
}

async fn listed_key(app: &TestApp, id: &str) -> Value {
    let keys = app.get("/api/v1/api-keys").await.body;
    keys.as_array().unwrap().iter().find(|k| k["id"] == id).unwrap().clone()
}

async fn status(app: &TestApp, credential: &str, path: &str) -> u16 {
    app.send("GET", path, Some(credential), None).await.status
}

on_both_backends! {
    async fn a_revoked_key_is_refused_at_once_by_the_node_that_cached_it(app) {
        let (secret, id) = agent_key(&app).await;
        for _ in 0..3 {
            assert_eq!(status(&app, &secret, "/api/v1/external-users").await, 200);
        }
        assert_eq!(app.delete(&format!("/api/v1/api-keys/{id}")).await.status, 200);
        assert_eq!(status(&app, &secret, "/api/v1/external-users").await, 401);
    }

    async fn blocking_refuses_a_cached_access_token_at_once_and_unblocking_revives_none(app) {
        let body = json!({"channelId": app.email_channel_id, "id": null, "externalId": null, "identifier": "cached@example.com"});
        let auth = app.post("/api/v1/external-users/authenticate", &body).await.body;
        let token = format!("Bearer {}", auth["accessToken"].as_str().unwrap());
        let id = auth["id"].as_str().unwrap();
        assert_eq!(status(&app, &token, "/api/v1/me").await, 200);
        assert_eq!(app.patch(&format!("/api/v1/external-users/{id}"), &json!({"blocked": true})).await.status, 200);
        assert_eq!(status(&app, &token, "/api/v1/me").await, 401);
        assert_eq!(app.patch(&format!("/api/v1/external-users/{id}"), &json!({"blocked": false})).await.status, 200);
        assert_eq!(status(&app, &token, "/api/v1/me").await, 401, "blocking deleted the token");
        let auth = app.post("/api/v1/external-users/authenticate", &body).await.body;
        let fresh = format!("Bearer {}", auth["accessToken"].as_str().unwrap());
        assert_eq!(status(&app, &fresh, "/api/v1/me").await, 200, "unblocked: a new token works at once");
    }

    async fn an_edit_of_the_external_user_shows_at_once_through_its_cached_token(app) {
        let body = json!({"channelId": app.email_channel_id, "id": null, "externalId": null, "identifier": "renamed@example.com"});
        let auth = app.post("/api/v1/external-users/authenticate", &body).await.body;
        let token = format!("Bearer {}", auth["accessToken"].as_str().unwrap());
        assert_eq!(app.send("GET", "/api/v1/me", Some(&token), None).await.body["name"], Value::Null);
        let id = auth["id"].as_str().unwrap();
        assert_eq!(app.patch(&format!("/api/v1/external-users/{id}"), &json!({"name": "Renamed"})).await.status, 200);
        assert_eq!(app.send("GET", "/api/v1/me", Some(&token), None).await.body["name"], "Renamed");
    }

    async fn a_key_records_its_first_use_and_then_at_most_once_a_minute(app) {
        let (secret, id) = agent_key(&app).await;
        assert_eq!(listed_key(&app, &id).await["lastUsedAt"], Value::Null);
        assert_eq!(status(&app, &secret, "/api/v1/external-users").await, 200);
        // The use is recorded beside the request, so it lands a moment after the answer.
        let started = Instant::now();
        let first = loop {
            let used = listed_key(&app, &id).await["lastUsedAt"].clone();
            if !used.is_null() {
                break used;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "the first use was never recorded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        for _ in 0..3 {
            assert_eq!(status(&app, &secret, "/api/v1/external-users").await, 200);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(listed_key(&app, &id).await["lastUsedAt"], first, "uses within the minute write nothing");
    }
}
