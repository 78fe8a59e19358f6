//! The outbox: every change records its event in its own transaction; `GET /api/v1/events` reads them.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};
const TICKETS: &str = "/support/tickets/v1";

/// Every event of the workspace, oldest first, read page by page through the cursor.
pub async fn all_events(app: &TestApp) -> Vec<Value> {
    let mut events = Vec::new();
    let mut path = "/api/v1/events?limit=7".to_owned();
    loop {
        let r = app.get(&path).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        events.extend(r.body["events"].as_array().unwrap().iter().cloned());
        if r.body["hasMore"] == false {
            return events;
        }
        path = format!("/api/v1/events?limit=7&after={}", r.body["next"].as_str().unwrap());
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn user_body(app: &TestApp, identifier: &str) -> Value {
    json!({"channelId": app.email_channel_id, "externalId": null, "identifier": identifier, "name": "Jane",
           "tierId": null, "externalUserGroupId": null})
}

on_both_backends! {
    async fn an_external_users_life_is_told_by_events_carrying_the_resource_as_the_api_shows_it(app) {
        let user = app.external_user("jane@example.com", "Jane").await;
        let path = format!("/api/v1/external-users/{}", user["id"].as_str().unwrap());
        assert_eq!(app.patch(&path, &json!({"name": "Jane Roe"})).await.status, 200);
        // The same values again change nothing, so nothing fires.
        assert_eq!(app.patch(&path, &json!({"name": "Jane Roe", "blocked": false})).await.status, 200);
        assert_eq!(app.patch(&path, &json!({"blocked": true})).await.status, 200);
        assert_eq!(app.patch(&path, &json!({"blocked": false})).await.status, 200);

        let events = all_events(&app).await;
        assert_eq!(types(&events), ["external_user.created", "customer.created", "external_user.updated",
                                    "external_user.blocked", "external_user.unblocked"]);
        let sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
        assert_eq!(sequences, [1, 2, 3, 4, 5]);
        assert_eq!(events[0]["data"], user);
        assert_eq!(events[2]["previous"], json!({"name": "Jane"}));
        assert_eq!(events[2]["data"]["name"], "Jane Roe");
        assert_eq!(events[3]["previous"], json!({"blocked": false}));
        assert_eq!(events[4]["data"], app.get(&path).await.body);
        assert_eq!(events[0]["actor"]["type"], "api_key");
        assert_eq!(events[0]["workspaceId"], app.workspace_id.as_str());
    }

    async fn a_rejected_request_leaves_no_event_and_no_gap(app) {
        app.external_user("jane@example.com", "Jane").await;
        // A duplicate identifier and an unknown tier are refused: their transactions roll back.
        assert_eq!(app.post("/api/v1/external-users", &user_body(&app, "jane@example.com")).await.status, 409);
        let mut unknown_tier = user_body(&app, "joe@example.com");
        unknown_tier["tierId"] = json!("8f0c8f6e-0000-4000-8000-000000000000");
        assert_eq!(app.post("/api/v1/external-users", &unknown_tier).await.status, 404);
        app.external_user("joe@example.com", "Joe").await;
        let events = all_events(&app).await;
        let sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
        assert_eq!(sequences, [1, 2, 3, 4]);
        let who: Vec<&str> = events.iter().map(|e| e["data"]["identifier"].as_str().unwrap()).collect();
        assert_eq!(who, ["jane@example.com", "jane@example.com", "joe@example.com", "joe@example.com"]);
    }

    async fn ticket_changes_fire_only_when_something_changed(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Printer jam").await;
        let id = created["ticket"]["id"].as_str().unwrap();
        let status = format!("{TICKETS}/{id}/status");
        for s in ["new", "inProgress", "inProgress"] {
            assert_eq!(app.tickets("PUT", &status, Some(&json!({"ticket": {"status": s}}))).await.status, 200);
        }
        let comment = json!({"comment": {"text": "On it"}});
        let r = app.tickets("POST", &format!("{TICKETS}/{id}/comments"), Some(&comment)).await;
        assert!(r.status < 300, "{:?}", r.body);

        let events = all_events(&app).await;
        let tickets: Vec<&Value> = events.iter().filter(|e| e["type"].as_str().unwrap().starts_with("ticket.")).collect();
        let kinds: Vec<&str> = tickets.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["ticket.created", "ticket.status_changed", "ticket.commented"]);
        assert_eq!(tickets[0]["data"]["number"], 1);
        assert_eq!(tickets[1]["data"]["status"], "inProgress");
        assert_eq!(tickets[1]["previous"], json!({"status": "new"}));
        assert_eq!(tickets[2]["data"]["comment"]["text"], "On it");
    }

    async fn the_pull_api_filters_by_type_pages_by_cursor_and_is_for_admins(app) {
        for n in 0..5 {
            app.external_user(&format!("u{n}@example.com"), "User").await;
        }
        let r = app.get("/api/v1/events?types=customer.created&limit=2").await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["events"].as_array().unwrap().len(), 2);
        assert_eq!(r.body["hasMore"], true);
        let next = r.body["next"].as_str().unwrap();
        let r = app.get(&format!("/api/v1/events?types=customer.created&after={next}")).await;
        let rest: Vec<i64> = r.body["events"].as_array().unwrap().iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
        assert_eq!(rest, [6, 8, 10]);
        // An empty page keeps the cursor, so a client can poll with it.
        let end = r.body["next"].as_str().unwrap().to_owned();
        let r = app.get(&format!("/api/v1/events?after={end}")).await;
        assert_eq!((r.body["events"].as_array().unwrap().len(), r.body["next"].as_str()), (0, Some(end.as_str())));

        let r = app.get("/api/v1/events?types=ticket.exploded&after=nonsense&limit=0").await;
        assert_eq!(r.status, 400);
        let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["after", "types", "limit"]);

        let agent = app.post("/api/v1/api-keys", &json!({"name": "Agent", "role": "agent"})).await;
        let agent_key = agent.body["key"].as_str().unwrap();
        assert_eq!(app.send("GET", "/api/v1/events", Some(agent_key), None).await.status, 403);
        assert_eq!(app.send("GET", "/api/v1/events", None, None).await.status, 401);
        // Another workspace sees none of these.
        let (_, other_key, _) = app.other_workspace().await;
        let r = app.send("GET", "/api/v1/events", Some(&other_key), None).await;
        assert_eq!(r.body["events"], json!([]));
    }

    async fn concurrent_changes_get_sequences_one_to_n_exactly(app) {
        let app = &app;
        let creates = (0..30).map(|n| {
            let body = json!({"channelId": app.email_channel_id, "externalId": format!("ext-{n:03}"),
                              "identifier": format!("person{n}@example.com"),
                              "name": null, "tierId": null, "externalUserGroupId": null});
            async move { app.post("/api/v1/external-users", &body).await.status }
        });
        let statuses = join_all(creates).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let events = all_events(app).await;
        let mut sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
        sequences.sort();
        assert_eq!(sequences, (1..=60).collect::<Vec<_>>());
    }

    async fn workspace_settings_changes_fire_created_updated_deleted_and_revoked_once(app) {
        let channel = app.post("/api/v1/channels", &json!({"name": "Web chat", "type": "web"})).await.body;
        let path = format!("/api/v1/channels/{}", channel["id"].as_str().unwrap());
        assert_eq!(app.patch(&path, &json!({"name": "Web chat"})).await.status, 200);
        assert_eq!(app.patch(&path, &json!({"name": "Live chat"})).await.status, 200);
        assert_eq!(app.delete(&path).await.status, 200);
        let tier = app.post("/api/v1/tiers", &json!({"name": "Gold", "description": null})).await.body;
        let tier_path = format!("/api/v1/tiers/{}", tier["id"].as_str().unwrap());
        assert_eq!(app.patch(&tier_path, &json!({"description": "Best"})).await.status, 200);
        let location = app.location("Desk").await;
        let location_path = format!("/api/v1/locations/{location}");
        assert_eq!(app.patch(&location_path, &json!({"name": "Front desk"})).await.status, 200);
        assert!(app.delete(&location_path).await.status < 300);
        let key = app.post("/api/v1/api-keys", &json!({"name": "CI", "role": "agent"})).await.body;
        let key_path = format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap());
        assert_eq!(app.delete(&key_path).await.status, 200);
        assert_eq!(app.delete(&key_path).await.status, 200);
        // A refused delete (the built-in channel stays) fires nothing.
        assert_eq!(app.delete(&format!("/api/v1/channels/{}", app.email_channel_id)).await.status, 409);

        let events = all_events(&app).await;
        assert_eq!(types(&events), ["channel.created", "channel.updated", "channel.deleted", "tier.created",
                                    "tier.updated", "location.created", "location.updated", "location.deleted",
                                    "api_key.created", "api_key.revoked"]);
        assert_eq!(events[1]["previous"], json!({"name": "Web chat"}));
        assert_eq!(events[2]["data"]["name"], "Live chat");
        assert_eq!(events[4]["previous"], json!({"description": null}));
        assert_eq!(events[4]["data"], app.get(&tier_path).await.body);
        assert_eq!(events[9]["previous"], json!({"revokedAt": null}));
        assert!(events[9]["data"]["revokedAt"].is_string());
        assert!(events[8]["data"].get("key").is_none(), "an event never carries a secret");
    }
}
