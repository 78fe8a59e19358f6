//! The outbox: every change records its event in its own transaction; `GET /api/v1/events` reads them.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, on_both_backends};
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

    async fn a_burst_of_creates_with_duplicates_records_the_events_of_exactly_the_stored_users(app) {
        // Creates arriving together are written as one batch; a duplicate among them (of a stored
        // user's identifier, or of another create's identifier or external id) must fail alone,
        // leaving no event behind.
        let app = &app;
        assert_eq!(app.post("/api/v1/external-users", &user_body(app, "taken@example.com")).await.status, 200);
        let creates = (0..40).map(|n| {
            let mut body = match n % 10 {
                0 => user_body(app, "taken@example.com"),
                1 => user_body(app, "twin@example.com"),
                _ => user_body(app, &format!("burst{n}@example.com")),
            };
            if n % 10 == 2 {
                body["externalId"] = json!("shared-ext");
            }
            async move { app.post("/api/v1/external-users", &body).await }
        });
        let replies = join_all(creates).await;
        let stored: Vec<&Value> = replies.iter().filter(|r| r.status == 200).map(|r| &r.body).collect();
        let refused = replies.iter().filter(|r| r.status == 409).count();
        assert_eq!((stored.len(), refused), (30, 10), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());

        let events = all_events(app).await;
        let mut sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
        sequences.sort();
        assert_eq!(sequences, (1..=62).collect::<Vec<_>>(), "two events per stored user, numbered without gaps");
        for user in stored {
            let theirs: Vec<&Value> = events.iter().filter(|e| e["data"]["id"] == user["id"]).collect();
            let kinds: Vec<&str> = theirs.iter().map(|e| e["type"].as_str().unwrap()).collect();
            assert_eq!(kinds, ["external_user.created", "customer.created"]);
            let path = format!("/api/v1/external-users/{}", user["id"].as_str().unwrap());
            assert_eq!(theirs[0]["data"], app.get(&path).await.body);
        }
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

/// Staff users, staff groups and folders, participants, identities and settings.
mod lifecycle {
    use super::*;

    /// The events of the workspace whose type starts with one of `prefixes`, in order.
    async fn events_of(app: &TestApp, prefixes: &[&str]) -> Vec<Value> {
        all_events(app)
            .await
            .into_iter()
            .filter(|e| prefixes.iter().any(|p| e["type"].as_str().unwrap().starts_with(p)))
            .collect()
    }

    fn operator(app: &TestApp) -> frontdesk::app::Principal {
        frontdesk::app::Principal::Operator { workspace_id: app.workspace_id.parse().unwrap() }
    }

    /// Invites a staff user through the use case (to get its invitation token): (id, token).
    async fn invite(app: &TestApp, email: &str) -> (String, String) {
        use frontdesk::app::StaffInvite;
        use frontdesk::domain::{EmailAddress, Role};
        let invite = StaffInvite {
            email: EmailAddress::parse(email).unwrap(),
            first_name: Some("Ann".into()),
            last_name: None,
            external_id: None,
            role: Role::Agent,
            role_named_user: false,
            password: None,
            group_ids: vec![],
            folder_ids: vec![],
        };
        let created = app.app.invite_staff_user(&operator(app), invite).await.unwrap();
        (created.user.id.to_string(), created.invitation_token)
    }

    async fn suser(app: &TestApp, method: &str, query: &str, body: Option<Value>) -> Reply {
        let path = format!("/api/v1/suser{query}");
        let mut req = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.base))
            .header("authorization", &app.key)
            .header("accept", "application/json");
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        crate::helpers::exchange(req).await.unwrap().into_reply()
    }

    on_both_backends! {
        async fn a_staff_users_life_is_invited_activated_disabled_deleted_and_refusals_fire_nothing(app) {
            let (ann, token) = invite(&app, "ann@example.com").await;
            // The same address again is refused through seed 003: nothing fires.
            let dup = suser(&app, "POST", "", Some(json!({"Email": "ann@example.com"}))).await;
            assert!(dup.status >= 400 && dup.status < 500, "{dup:?}");
            let created = suser(&app, "POST", "", Some(json!({"Email": "bob@example.com", "WebsiteRole": "Admin"}))).await;
            assert!(created.status < 300, "{created:?}");
            let bob = created.body["User"]["Id"].as_str().unwrap().to_owned();
            let password = frontdesk::domain::Password::parse("correct horse battery").unwrap();
            app.app.accept_invitation(&token, Some(password)).await.unwrap();
            let ann_id: uuid::Uuid = ann.parse().unwrap();
            app.app.disable_staff_user(&operator(&app), ann_id).await.unwrap();
            // Disabled already: nothing changes, nothing fires.
            app.app.disable_staff_user(&operator(&app), ann_id).await.unwrap();
            let gone = suser(&app, "DELETE", &format!("?Id={bob}&format=json"), None).await;
            assert!(gone.status < 300, "{gone:?}");
            // Deleting again is a 404 and fires nothing.
            assert_eq!(suser(&app, "DELETE", &format!("?Id={bob}&format=json"), None).await.status, 404);

            let events = events_of(&app, &["staff_user."]).await;
            assert_eq!(types(&events), ["staff_user.invited", "staff_user.invited", "staff_user.activated",
                                        "staff_user.disabled", "staff_user.deleted"]);
            assert_eq!(events[0]["data"]["email"], "ann@example.com");
            assert_eq!(events[0]["data"]["status"], "invited");
            assert_eq!(events[0]["actor"], json!({"type": "operator"}));
            assert_eq!(events[1]["data"]["id"], bob.as_str());
            assert_eq!(events[1]["actor"]["type"], "api_key");
            assert_eq!(events[2]["data"]["status"], "active");
            assert_eq!(events[2]["previous"], json!({"status": "invited"}));
            assert_eq!(events[2]["actor"], json!({"type": "staff_user", "id": ann}));
            assert_eq!(events[3]["data"]["status"], "disabled");
            assert_eq!(events[3]["previous"], json!({"status": "active"}));
            assert_eq!(events[4]["data"]["id"], bob.as_str());
            assert!(events.iter().all(|e| e["data"].get("passwordHash").is_none() && e["data"].get("password").is_none()));
        }

        async fn staff_groups_and_folders_fire_created_and_deleted(app) {
            let group = app.post("/api/v1/staff-groups", &json!({"name": "Tier one"})).await;
            assert_eq!(group.status, 200, "{:?}", group.body);
            // The same name again is refused: nothing fires.
            assert!(app.post("/api/v1/staff-groups", &json!({"name": "Tier one"})).await.status >= 400);
            let folder = app.post("/api/v1/staff-folders", &json!({"name": "Archive"})).await.body;
            assert_eq!(app.delete(&format!("/api/v1/staff-groups/{}", group.body["id"].as_str().unwrap())).await.status, 200);
            let events = events_of(&app, &["staff_"]).await;
            assert_eq!(types(&events), ["staff_group.created", "staff_folder.created", "staff_group.deleted"]);
            assert_eq!(events[0]["data"], group.body);
            assert_eq!(events[1]["data"], folder);
        }

        async fn ticket_participants_fire_added_and_removed_through_both_contracts_and_only_on_a_change(app) {
            let location = app.location("Desk").await;
            let user = app.external_user("jane@example.com", "Jane").await;
            let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Printer jam").await;
            let (ticket, number) = (created["ticket"]["id"].as_str().unwrap(), created["ticket"]["number"].as_i64().unwrap());
            // The ticket external users API, by an address nobody has yet: a new customer joins.
            let crm = format!("/v1/crm/tickets/{ticket}/external-users");
            let boss = app.post(&crm, &json!({"email": "boss@example.com"})).await;
            assert_eq!(boss.status, 201, "{:?}", boss.body);
            assert_eq!(app.post(&crm, &json!({"email": "boss@example.com"})).await.status, 409);
            // The Jira Service Management API: adding one already there changes nothing.
            let jsm = format!("/rest/servicedeskapi/request/{number}/participant");
            let account = format!("qm:{}:{}", app.workspace_id, user["id"].as_str().unwrap().replace('-', ""));
            let body = json!({"accountIds": [account]});
            assert_eq!(app.post(&jsm, &body).await.status, 200);
            assert_eq!(app.post(&jsm, &body).await.status, 200);
            let unknown = json!({"accountIds": ["qm:nobody"]});
            assert!(app.post(&jsm, &unknown).await.status >= 400);
            assert_eq!(app.send("DELETE", &jsm, Some(&app.key), Some(&body.to_string())).await.status, 200);
            assert_eq!(app.send("DELETE", &jsm, Some(&app.key), Some(&body.to_string())).await.status, 200);
            assert_eq!(app.delete(&format!("{crm}/{}", boss.body["id"].as_str().unwrap())).await.status, 204);

            let events = events_of(&app, &["ticket.participant", "external_user.created", "customer.created"]).await;
            let kinds = types(&events);
            assert_eq!(kinds, ["external_user.created", "customer.created", "external_user.created", "customer.created",
                               "ticket.participant_added", "ticket.participant_added", "ticket.participant_removed",
                               "ticket.participant_removed"]);
            assert_eq!(events[2]["data"]["identifier"], "boss@example.com");
            assert_eq!(events[4]["data"]["id"], boss.body["id"]);
        assert_eq!(events[4]["data"]["externalUserId"], events[2]["data"]["id"]);
            assert_eq!(events[4]["data"]["ticketId"], ticket);
            assert_eq!(events[5]["data"]["externalUserId"], user["id"]);
            assert_eq!(events[6]["data"]["externalUserId"], user["id"]);
            assert_eq!(events[7]["data"]["email"], "boss@example.com");
        }

        async fn link_unlink_and_upsert_change_the_external_user_and_say_so(app) {
            let web = app.post("/api/v1/channels", &json!({"name": "Web chat", "type": "web"})).await.body;
            let web = web["id"].as_str().unwrap().to_owned();
            let ann = app.external_user("ann@example.com", "Ann").await;
            let app = &app;
            let put = |external_id: &str, body: Value| {
                let path = format!("/api/v1/external-users?channelId={web}&externalId={external_id}");
                async move { app.send("PUT", &path, Some(&app.key), Some(&body.to_string())).await }
            };
            let chat = put("ann-chat", json!({"name": "Ann C"})).await;
            assert_eq!(chat.status, 201, "{:?}", chat.body);
            assert_eq!(put("ann-chat", json!({"name": "Ann C"})).await.status, 200);
            assert_eq!(put("ann-chat", json!({"name": "Ann Chat"})).await.status, 200);
            let chat_id = chat.body["id"].as_str().unwrap();
            let old_identity = chat.body["superIdentityId"].clone();
            let link = format!("/api/v1/external-users/{chat_id}/link");
            assert_eq!(app.post(&link, &json!({"superIdentityId": ann["superIdentityId"]})).await.status, 200);
            assert_eq!(app.post(&link, &json!({"superIdentityId": ann["superIdentityId"]})).await.status, 200);
            let unlinked = app.post(&format!("/api/v1/external-users/{chat_id}/unlink"), &json!({})).await;
            assert_eq!(unlinked.status, 200);
            assert_eq!(app.post(&format!("/api/v1/external-users/{chat_id}/unlink"), &json!({})).await.status, 200);
            let matching = "/api/v1/settings/automatic-matching";
            for on in [true, true, false] {
                let body = json!({"enabled": on}).to_string();
                assert_eq!(app.send("PUT", matching, Some(&app.key), Some(&body)).await.status, 200);
            }

            let events = all_events(app).await;
            let of_chat: Vec<&Value> = events.iter().filter(|e| e["data"]["id"] == chat_id).collect();
            assert_eq!(of_chat.iter().map(|e| e["type"].as_str().unwrap()).collect::<Vec<_>>(),
                       ["external_user.created", "external_user.updated", "external_user.updated", "external_user.updated"]);
            assert_eq!(of_chat[1]["previous"], json!({"name": "Ann C"}));
            assert_eq!(of_chat[2]["previous"], json!({"superIdentityId": old_identity}));
            assert_eq!(of_chat[2]["data"]["superIdentityId"], ann["superIdentityId"]);
            assert_eq!(of_chat[3]["previous"], json!({"superIdentityId": ann["superIdentityId"]}));
            assert_eq!(of_chat[3]["data"], unlinked.body);
            let settings = events_of(app, &["settings."]).await;
            assert_eq!(types(&settings), ["settings.automatic_matching_changed", "settings.automatic_matching_changed"]);
            assert_eq!(settings[0]["data"]["enabled"], true);
            assert_eq!(settings[1]["previous"], json!({"enabled": true}));
        }
    }
}
