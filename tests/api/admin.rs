//! The workspace administration seed 001 depends on: channels, tiers, external user groups, API keys.

use serde_json::{Value, json};

use crate::helpers::on_both_backends;

fn ids(body: &Value) -> Vec<String> {
    body.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

on_both_backends! {
    async fn channels_can_be_created_listed_renamed_and_deleted(app) {
        let r = app.get("/api/v1/channels").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body.as_array().unwrap().len(), 1, "the built-in e-mail channel");
        assert_eq!(r.body[0]["type"], "email");
        assert_eq!(r.body[0]["builtIn"], true);

        let created = app.post("/api/v1/channels", &json!({"name": "Phone line", "type": "phone"})).await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        let id = created.body["id"].as_str().unwrap();
        let renamed = app.patch(&format!("/api/v1/channels/{id}"), &json!({"name": "Hotline"})).await;
        assert_eq!((renamed.body["name"].as_str(), renamed.body["type"].as_str()), (Some("Hotline"), Some("phone")));
        assert_eq!(app.get(&format!("/api/v1/channels/{id}")).await.body["name"], "Hotline");

        let bad = app.post("/api/v1/channels", &json!({"name": "X", "type": "pigeon"})).await;
        assert_eq!(bad.status, 400);
        assert_eq!(bad.body["errors"].as_array().unwrap().len(), 2);

        assert_eq!(app.delete(&format!("/api/v1/channels/{id}")).await.status, 200);
        assert_eq!(app.get(&format!("/api/v1/channels/{id}")).await.status, 404);
        let builtin = app.delete(&format!("/api/v1/channels/{}", app.email_channel_id)).await;
        assert_eq!(builtin.status, 409, "the built-in e-mail channel stays");
    }

    async fn a_channel_with_external_users_cannot_be_deleted(app) {
        let ch = app.post("/api/v1/channels", &json!({"name": "Web chat", "type": "web"})).await.body;
        let body = json!({"channelId": ch["id"], "externalId": null, "identifier": "u", "name": null, "tierId": null, "externalUserGroupId": null});
        assert_eq!(app.post("/api/v1/external-users", &body).await.status, 200);
        assert_eq!(app.delete(&format!("/api/v1/channels/{}", ch["id"].as_str().unwrap())).await.status, 409);
    }

    async fn tiers_list_as_a_bare_array_filtered_by_ids_and_search(app) {
        let gold = app.post("/api/v1/tiers", &json!({"name": "Gold", "description": "Premium support"})).await.body;
        let silver = app.post("/api/v1/tiers", &json!({"name": "Silver", "description": "Business hours"})).await.body;
        let r = app.get("/api/v1/tiers").await;
        assert!(r.body.is_array());
        assert_eq!(ids(&r.body).len(), 2);
        assert_eq!(ids(&app.get(&format!("/api/v1/tiers?ids={}", gold["id"].as_str().unwrap())).await.body), [gold["id"].as_str().unwrap()]);
        assert_eq!(ids(&app.get("/api/v1/tiers?search=BUSINESS").await.body), [silver["id"].as_str().unwrap()]);
        assert_eq!(ids(&app.get("/api/v1/tiers?search=gol").await.body), [gold["id"].as_str().unwrap()]);

        let id = gold["id"].as_str().unwrap();
        let r = app.patch(&format!("/api/v1/tiers/{id}"), &json!({"name": "Platinum"})).await;
        assert_eq!(r.body["name"], "Platinum");
        assert_eq!(app.post("/api/v1/tiers", &json!({"name": "Go"})).await.status, 400);

        let user = app.post("/api/v1/external-users", &json!({"channelId": app.email_channel_id, "externalId": null,
            "identifier": "t@example.com", "name": null, "tierId": id, "externalUserGroupId": null})).await.body;
        assert_eq!(app.delete(&format!("/api/v1/tiers/{id}")).await.status, 200);
        let user = app.get(&format!("/api/v1/external-users/{}", user["id"].as_str().unwrap())).await.body;
        assert_eq!(user["tierId"], Value::Null, "a removed tier is cleared from its users");
    }

    async fn external_user_groups_have_unique_external_ids_filters_and_paging(app) {
        let gold = app.post("/api/v1/tiers", &json!({"name": "Gold"})).await.body;
        let a = app.post("/api/v1/external-user-groups", &json!({"externalId": "acme", "name": "Acme Corp", "tierId": gold["id"]})).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        assert_eq!(a.body["tierId"], gold["id"]);
        let b = app.post("/api/v1/external-user-groups", &json!({"externalId": "globex", "name": "Globex", "tierId": null})).await.body;

        let dup = app.post("/api/v1/external-user-groups", &json!({"externalId": "acme", "name": "Other", "tierId": null})).await;
        assert_eq!(dup.status, 409);
        assert_eq!(dup.body["message"], "External user group external id already exists in this workspace.");
        let bad_tier = app.post("/api/v1/external-user-groups", &json!({"externalId": "x-1", "name": "Xen", "tierId": "3c90c3cc-0d44-4b50-8888-8dd25736052a"})).await;
        assert_eq!((bad_tier.status, bad_tier.body["message"].as_str()), (404, Some("Tier not found.")));
        assert_eq!(app.post("/api/v1/external-user-groups", &json!({"externalId": "ab", "name": "No"})).await.status, 400);

        let a_id = a.body["id"].as_str().unwrap();
        assert_eq!(ids(&app.get("/api/v1/external-user-groups?externalId=globex").await.body), [b["id"].as_str().unwrap()]);
        assert_eq!(ids(&app.get(&format!("/api/v1/external-user-groups?tierIds={}", gold["id"].as_str().unwrap())).await.body), [a_id]);
        assert_eq!(ids(&app.get(&format!("/api/v1/external-user-groups?ids={a_id}")).await.body), [a_id]);
        assert_eq!(ids(&app.get("/api/v1/external-user-groups?search=GLOB").await.body), [b["id"].as_str().unwrap()]);
        let page = app.get("/api/v1/external-user-groups?pageSize=1&pageNumber=2").await;
        assert_eq!(ids(&page.body), [b["id"].as_str().unwrap()]);
        assert_eq!(page.header("x-total-count"), Some("2"));

        assert_eq!(app.get(&format!("/api/v1/external-user-groups/{a_id}")).await.body["name"], "Acme Corp");
        assert_eq!(app.delete(&format!("/api/v1/external-user-groups/{a_id}")).await.status, 200);
        assert_eq!(app.get(&format!("/api/v1/external-user-groups/{a_id}")).await.status, 404);
        assert_eq!(app.delete(&format!("/api/v1/external-user-groups/{a_id}")).await.status, 404);
    }

    async fn api_keys_show_their_secret_once_and_stop_working_when_revoked(app) {
        let created = app.post("/api/v1/api-keys", &json!({"name": "CRM sync", "role": "agent"})).await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        let secret = created.body["key"].as_str().unwrap().to_owned();
        let id = created.body["id"].as_str().unwrap().to_owned();
        assert!(secret.starts_with(created.body["prefix"].as_str().unwrap()));
        assert_eq!(created.body["role"], "agent");

        assert_eq!(app.send("GET", "/api/v1/external-users", Some(&secret), None).await.status, 200);
        let listed = app.get("/api/v1/api-keys").await.body;
        let mine = listed.as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap().clone();
        assert_eq!(mine.get("key"), None, "the secret is never shown again");
        assert_eq!(mine["name"], "CRM sync");

        let revoked = app.delete(&format!("/api/v1/api-keys/{id}")).await;
        assert_eq!(revoked.status, 200);
        assert!(revoked.body["revokedAt"].is_string());
        let r = app.send("GET", "/api/v1/external-users", Some(&secret), None).await;
        assert_eq!((r.status, r.body["message"].as_str()), (401, Some("Unauthorized.")));
    }

    async fn agent_keys_work_users_but_cannot_administer_the_workspace(app) {
        let agent = app.post("/api/v1/api-keys", &json!({"name": "Agent", "role": "agent"})).await.body["key"].as_str().unwrap().to_owned();
        let body = json!({"name": "Sneaky", "role": "admin"}).to_string();
        let r = app.send("POST", "/api/v1/api-keys", Some(&agent), Some(&body)).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.body["code"], 403);
        let r = app.send("POST", "/api/v1/channels", Some(&agent), Some(&json!({"name": "Web", "type": "web"}).to_string())).await;
        assert_eq!(r.status, 403);
        let r = app.send("POST", "/api/v1/external-users", Some(&agent), Some(&json!({"channelId": app.email_channel_id,
            "externalId": null, "identifier": "ok@example.com", "name": null, "tierId": null, "externalUserGroupId": null}).to_string())).await;
        assert_eq!(r.status, 200);
        assert_eq!(app.post("/api/v1/api-keys", &json!({"name": "x", "role": "root"})).await.status, 400);
    }
}
