//! Tenant isolation: a key sees its own workspace only, and another workspace's ids are unknown to it.

use serde_json::json;

use crate::helpers::on_both_backends;

on_both_backends! {
    async fn another_workspaces_records_are_not_found_through_any_endpoint(app) {
        let user = app.external_user("mine@example.com", "Mine").await;
        let user_id = user["id"].as_str().unwrap();
        let tier = app.post("/api/v1/tiers", &json!({"name": "Gold"})).await.body;
        let group = app.post("/api/v1/external-user-groups", &json!({"externalId": "grp", "name": "Group"})).await.body;
        let key_id = app.post("/api/v1/api-keys", &json!({"name": "k", "role": "agent"})).await.body["id"].as_str().unwrap().to_owned();

        let (_, other_key, other_channel) = app.other_workspace().await;
        let as_other = |method: &'static str, path: String, body: Option<serde_json::Value>| {
            let key = other_key.clone();
            let app = &app;
            async move { app.send(method, &path, Some(&key), body.map(|b| b.to_string()).as_deref()).await }
        };

        assert_eq!(as_other("GET", format!("/api/v1/external-users/{user_id}"), None).await.status, 404);
        assert_eq!(as_other("PATCH", format!("/api/v1/external-users/{user_id}"), Some(json!({"name": "Stolen"}))).await.status, 404);
        assert_eq!(as_other("GET", "/api/v1/external-users".into(), None).await.body, json!([]));
        assert_eq!(as_other("GET", format!("/api/v1/channels/{}", app.email_channel_id), None).await.status, 404);
        assert_eq!(as_other("GET", format!("/api/v1/tiers/{}", tier["id"].as_str().unwrap()), None).await.status, 404);
        assert_eq!(as_other("GET", "/api/v1/tiers".into(), None).await.body, json!([]));
        assert_eq!(as_other("GET", format!("/api/v1/external-user-groups/{}", group["id"].as_str().unwrap()), None).await.status, 404);
        assert_eq!(as_other("DELETE", format!("/api/v1/api-keys/{key_id}"), None).await.status, 404);
        assert_eq!(as_other("DELETE", format!("/api/v1/external-user-groups/{}", group["id"].as_str().unwrap()), None).await.status, 404);
        assert_eq!(as_other("DELETE", format!("/api/v1/tiers/{}", tier["id"].as_str().unwrap()), None).await.status, 404);

        // Using this workspace's channel, tier or group from the other workspace.
        let body = |channel: &str, tier: Option<&str>, group: Option<&str>| json!({"channelId": channel, "externalId": null,
            "identifier": "x@example.com", "name": null, "tierId": tier, "externalUserGroupId": group});
        let r = as_other("POST", "/api/v1/external-users".into(), Some(body(&app.email_channel_id, None, None))).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Channel not found.")));
        let r = as_other("POST", "/api/v1/external-users".into(), Some(body(&other_channel, tier["id"].as_str(), None))).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Tier not found.")));
        let r = as_other("POST", "/api/v1/external-users".into(), Some(body(&other_channel, None, group["id"].as_str()))).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("External user group not found.")));
        let r = as_other("POST", "/api/v1/external-users/authenticate".into(),
            Some(json!({"channelId": app.email_channel_id, "id": user_id, "externalId": null, "identifier": null}))).await;
        assert_eq!(r.status, 404);

        // And nothing of ours changed.
        assert_eq!(app.get(&format!("/api/v1/external-users/{user_id}")).await.body, user);
        assert_eq!(app.get(&format!("/api/v1/tiers/{}", tier["id"].as_str().unwrap())).await.status, 200);
    }

    async fn the_same_identifier_may_exist_in_two_workspaces(app) {
        app.external_user("shared@example.com", "Shared").await;
        let (_, other_key, other_channel) = app.other_workspace().await;
        let body = json!({"channelId": other_channel, "externalId": null, "identifier": "shared@example.com",
            "name": null, "tierId": null, "externalUserGroupId": null}).to_string();
        assert_eq!(app.send("POST", "/api/v1/external-users", Some(&other_key), Some(&body)).await.status, 200);
    }
}
