//! Issue 11's smaller items: tokens end with their user's block and their key's revocation, expired
//! rows are purged in bounded batches, secrets are never cached, `/metrics` may require a token, id
//! lists are bounded, cookies are `Secure` behind a trusted proxy.

use std::time::Duration;

use frontdesk::app::PurgeOptions;
use frontdesk::domain::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{TestApp, exchange, on_both_backends};

/// Authenticates an external user on the e-mail channel with `key`; its id and access token.
async fn token_from(app: &TestApp, key: &str, email: &str) -> (String, String) {
    let body = json!({"channelId": app.email_channel_id, "id": null, "externalId": null, "identifier": email});
    let r = app.send("POST", "/api/v1/external-users/authenticate", Some(key), Some(&body.to_string())).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (r.body["id"].as_str().unwrap().to_owned(), r.body["accessToken"].as_str().unwrap().to_owned())
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.send("GET", "/api/v1/me", Some(&format!("Bearer {token}")), None).await.status
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let db = crate::rows::Rows::open(&app.database).await;
    let n = db.count(&format!("SELECT COUNT(*) FROM {table}")).await;
    db.close().await;
    n
}

on_both_backends! {
    async fn blocking_a_user_deletes_its_tokens_so_unblocking_revives_none(app) {
        let (id, token) = token_from(&app, &app.key, "jane@example.com").await;
        assert_eq!(me(&app, &token).await, 200, "seen once, so the node's cache holds it");
        let r = app.patch(&format!("/api/v1/external-users/{id}"), &json!({"blocked": true})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(me(&app, &token).await, 401);
        assert_eq!(count(&app, "access_tokens").await, 0, "the token is deleted, not just refused");
        let r = app.patch(&format!("/api/v1/external-users/{id}"), &json!({"blocked": false})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(me(&app, &token).await, 401, "unblocking revives no token");
        let (_, fresh) = token_from(&app, &app.key, "jane@example.com").await;
        assert_eq!(me(&app, &fresh).await, 200, "a new token works");
    }

    async fn revoking_a_key_deletes_the_tokens_it_issued_and_only_those(app) {
        let r = app.post("/api/v1/api-keys", &json!({"name": "portal", "role": "agent"})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let (portal_id, portal_key) =
            (r.body["id"].as_str().unwrap().to_owned(), r.body["key"].as_str().unwrap().to_owned());
        let (_, by_portal) = token_from(&app, &portal_key, "jane@example.com").await;
        let (_, by_admin) = token_from(&app, &app.key, "john@example.com").await;
        assert_eq!((me(&app, &by_portal).await, me(&app, &by_admin).await), (200, 200), "both cached now");
        assert_eq!(app.delete(&format!("/api/v1/api-keys/{portal_id}")).await.status, 200);
        assert_eq!(me(&app, &by_portal).await, 401, "the revoked key's token ends at once, cache included");
        assert_eq!(me(&app, &by_admin).await, 200, "another key's token lives on");
        assert_eq!(count(&app, "access_tokens").await, 1);
    }

    async fn the_purge_deletes_expired_rows_a_bounded_batch_at_a_time(app) {
        for n in 0..5 {
            token_from(&app, &app.key, &format!("p{n}@example.com")).await;
        }
        let options = PurgeOptions { batch: 2, ..PurgeOptions::default() };
        let now = Timestamp::now();
        let p = app.app.purge_expired(now, &options).await.expect("purge");
        assert_eq!(p.access_tokens, 0, "nothing has expired yet");
        let later = now.plus_seconds(25 * 60 * 60);
        let p = app.app.purge_expired(later, &options).await.expect("purge");
        assert_eq!(p.access_tokens, 2, "one batch");
        assert_eq!(count(&app, "access_tokens").await, 3);
        app.app.purge_expired(later, &options).await.expect("purge");
        app.app.purge_expired(later, &options).await.expect("purge");
        assert_eq!(count(&app, "access_tokens").await, 0);
    }

    async fn a_list_of_more_than_1000_ids_is_refused_naming_its_field(app) {
        let ids: Vec<String> = (0..1001).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let r = app.get(&format!("/api/v1/external-users?superIdentityIds={}", ids.join(","))).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert!(r.body.to_string().contains("superIdentityIds") && r.body.to_string().contains("1000"), "{:?}", r.body);
        let r = app.get(&format!("/api/v1/external-users?channelIds={}", ids[..1000].join(","))).await;
        assert_eq!(r.status, 200, "1,000 are fine: {:?}", r.body);
        let body = json!({"Email": "ann@example.com", "Groups": ids});
        let r = app.send("POST", "/api/v1/suser?format=json", Some(&app.key), Some(&body.to_string())).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        let fields: Vec<&Value> = r.body["ResponseStatus"]["Errors"].as_array().unwrap().iter().map(|e| &e["FieldName"]).collect();
        assert!(fields.contains(&&json!("Groups")), "{:?}", r.body);
        let r = app.tickets("GET", &format!("/support/tickets/v1?locationRef={}", ids.join(",")), None).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert!(r.body.to_string().contains("locationRef"), "{:?}", r.body);
    }
}

/// Sign-in rows, web sessions and idempotency keys go too, and the server runs the purge by itself.
#[tokio::test]
async fn the_servers_own_purge_clears_every_kind_of_expired_row() {
    let app = TestApp::sqlite_with(|o| {
        o.purge = PurgeOptions { interval: Duration::from_millis(50), batch: 1000, ..PurgeOptions::default() };
        o.idempotency_key_ttl = Some(Duration::from_millis(100));
    })
    .await;
    let r = exchange(
        app.client
            .post(format!("{}/api/v1/tiers", app.base))
            .header("authorization", &app.key)
            .header("idempotency-key", "k1")
            .header("content-type", "application/json")
            .body(json!({"name": "Gold", "description": "The best"}).to_string()),
    )
    .await
    .unwrap();
    assert!(r.status < 300, "{}", r.text);
    let pool = sqlx::SqlitePool::connect(&app.database.url).await.unwrap();
    sqlx::query("INSERT INTO sign_in_failures (subject, failures, window_start) VALUES ('old', 3, 1)")
        .execute(&pool)
        .await
        .unwrap();
    let mut left = (1, 1);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let signins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_failures").fetch_one(&pool).await.unwrap();
        let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys").fetch_one(&pool).await.unwrap();
        left = (signins, keys);
        if left == (0, 0) {
            break;
        }
    }
    assert_eq!(left, (0, 0), "(sign-in rows, idempotency keys) left");
}

/// Every answer that carries a secret, and only from the server's own state, says `no-store`.
#[tokio::test]
async fn every_answer_carrying_a_secret_is_no_store() {
    let app = TestApp::sqlite().await;
    let key = app.post("/api/v1/api-keys", &json!({"name": "k", "role": "agent"})).await;
    let auth =
        json!({"channelId": app.email_channel_id, "id": null, "externalId": null, "identifier": "a@example.com"});
    let token = app.post("/api/v1/external-users/authenticate", &auth).await;
    let hook = app
        .post("/api/v1/webhooks", &json!({"url": "http://example.com/hook", "eventTypes": ["ticket.created"]}))
        .await;
    assert_eq!(hook.status, 200, "{:?}", hook.body);
    let rotated =
        app.post(&format!("/api/v1/webhooks/{}/rotate-secret", hook.body["id"].as_str().unwrap()), &json!({})).await;
    let page = exchange(app.client.get(format!("{}/settings/sign-in", app.base))).await.unwrap();
    for (what, status, cache) in [
        ("POST /api/v1/api-keys", key.status, key.header("cache-control")),
        ("POST /api/v1/external-users/authenticate", token.status, token.header("cache-control")),
        ("POST /api/v1/webhooks", hook.status, hook.header("cache-control")),
        ("POST /api/v1/webhooks/{id}/rotate-secret", rotated.status, rotated.header("cache-control")),
        (
            "every settings page (invitation links, new keys)",
            page.status,
            page.headers.get("cache-control").and_then(|v| v.to_str().ok()),
        ),
    ] {
        assert_eq!((status, cache), (200, Some("no-store")), "{what}");
    }
}

#[tokio::test]
async fn metrics_answer_401_without_the_configured_token() {
    let app = TestApp::sqlite_with(|o| o.metrics_token = Some("a-long-metrics-token-0123".into())).await;
    assert_eq!(app.get("/api/v1/channels").await.status, 200, "something to count");
    let get = |auth: Option<&'static str>| {
        let mut req = app.client.get(format!("{}/metrics", app.base));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        exchange(req)
    };
    assert_eq!(get(None).await.unwrap().status, 401);
    assert_eq!(get(Some("Bearer wrong")).await.unwrap().status, 401);
    let ok = get(Some("Bearer a-long-metrics-token-0123")).await.unwrap();
    assert_eq!(ok.status, 200);
    assert!(ok.text.contains("frontdesk_"), "{}", ok.text);
    let open = TestApp::sqlite().await;
    assert_eq!(open.get("/api/v1/channels").await.status, 200, "something to count");
    assert_eq!(
        exchange(open.client.get(format!("{}/metrics", open.base))).await.unwrap().status,
        200,
        "public by default"
    );
}

/// Behind a TLS-terminating proxy the connection is plain HTTP: a configured proxy's
/// `X-Forwarded-Proto: https` makes the cookies `Secure`; anyone else's header is ignored.
#[tokio::test]
async fn cookies_are_secure_behind_a_trusted_proxy_only() {
    let sign_in_cookie = |app: &TestApp, proto: Option<&'static str>| {
        let mut req = app.client.get(format!("{}/settings/sign-in", app.base));
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        exchange(req)
    };
    let behind = TestApp::sqlite_with(|o| o.limits.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let r = sign_in_cookie(&behind, Some("https")).await.unwrap();
    let cookie = r.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let r = sign_in_cookie(&behind, Some("http")).await.unwrap();
    let cookie = r.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(!cookie.contains("Secure") && !cookie.is_empty(), "{cookie}");
    let untrusted = TestApp::sqlite_with(|o| o.limits.trusted_proxies = vec!["10.9.9.9".parse().unwrap()]).await;
    let r = sign_in_cookie(&untrusted, Some("https")).await.unwrap();
    let cookie = r.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(!cookie.contains("Secure") && !cookie.is_empty(), "a header from anyone else is ignored: {cookie}");
}

/// Every stored text is bounded in bytes as well as characters: a value just over its bound in
/// 4-byte characters is refused with the contract's field error, naming the field.
#[tokio::test]
async fn texts_just_over_their_bound_in_four_byte_characters_are_refused_by_field() {
    let app = TestApp::sqlite().await;
    let clef = |n: usize| "𝄞".repeat(n);
    let fields = |r: &crate::helpers::Reply| r.body.to_string();
    for (path, body, field) in [
        (
            "/api/v1/external-users",
            json!({"channelId": app.email_channel_id, "externalId": clef(251), "identifier": "a@example.com"}),
            "externalId",
        ),
        (
            "/api/v1/external-users",
            json!({"channelId": app.email_channel_id, "identifier": "b@example.com", "name": clef(51)}),
            "name",
        ),
        ("/api/v1/tiers", json!({"name": "Gold", "description": clef(251)}), "description"),
        ("/api/v1/locations", json!({"name": clef(101)}), "name"),
        ("/api/v1/api-keys", json!({"name": clef(101), "role": "agent"}), "name"),
    ] {
        let r = app.post(path, &body).await;
        assert_eq!(r.status, 400, "{path} {field}: {:?}", r.body);
        assert!(fields(&r).contains(&format!("\"{field}\"")), "{path} {field}: {:?}", r.body);
    }
    let location =
        app.post("/api/v1/locations", &json!({"name": "Desk"})).await.body["id"].as_str().unwrap().to_owned();
    let user = app.external_user("c@example.com", "Cee").await;
    let ticket = json!({"ticket": {"locationRef": location, "text": "Hi", "userRefRequester": user["id"]}});
    let created = app.tickets("POST", "/support/tickets/v1", Some(&ticket)).await;
    let id = created.body["ticket"]["id"].as_str().unwrap().to_owned();
    // An attachment's texts are bounded tighter in bytes (4,096) than 2,048 characters would be.
    let file = json!({"key": "k", "name": clef(1025)});
    let r = app
        .tickets(
            "POST",
            &format!("/support/tickets/v1/{id}/comments"),
            Some(&json!({"comment": {"text": "x", "attachments": [file]}})),
        )
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(fields(&r).contains("comment.attachments"), "{:?}", r.body);
    let r = app.tickets("POST", "/support/tickets/v1", Some(&json!({"ticket": {"locationRef": location, "text": "Hi", "userRefRequester": user["id"], "type": clef(51)}}))).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(fields(&r).contains("ticket.type"), "{:?}", r.body);
    let staff = json!({"Email": "d@example.com", "FirstName": clef(101), "ExternalId": clef(51)});
    let r = app.send("POST", "/api/v1/suser?format=json", Some(&app.key), Some(&staff.to_string())).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let named: Vec<&Value> =
        r.body["ResponseStatus"]["Errors"].as_array().unwrap().iter().map(|e| &e["FieldName"]).collect();
    assert_eq!(named, [&json!("FirstName"), &json!("ExternalId")], "{:?}", r.body);
    let customer = json!({"displayName": clef(256), "email": "e@example.com"});
    let r = app.send("POST", "/rest/servicedeskapi/customer", Some(&app.key), Some(&customer.to_string())).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
}
