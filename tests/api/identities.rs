//! One person across channels: merge with a chosen survivor, link and unlink, automatic matching,
//! upsert by (channel, external id), and erasure — each read back through every contract.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};

const TICKETS: &str = "/support/tickets/v1";

async fn web_channel(app: &TestApp) -> String {
    let r = app.post("/api/v1/channels", &json!({"name": "Chat", "type": "web"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn user_on(app: &TestApp, channel: &str, identifier: &str) -> Value {
    let body = json!({"channelId": channel, "externalId": null, "identifier": identifier, "name": "Someone",
                      "tierId": null, "externalUserGroupId": null});
    let r = app.post("/api/v1/external-users", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn sid(v: &Value) -> String {
    v["superIdentityId"].as_str().unwrap().to_owned()
}

async fn add_participant(app: &TestApp, ticket: &str, email: &str) {
    let r = app.post(&format!("/v1/crm/tickets/{ticket}/external-users"), &json!({"email": email})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

async fn crm_emails(app: &TestApp, ticket: &str) -> Vec<String> {
    let r = app.get(&format!("/v1/crm/tickets/{ticket}/external-users")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body.as_array().unwrap().iter().map(|p| p["email"].as_str().unwrap().to_owned()).collect()
}

async fn jsm_emails(app: &TestApp, ticket: &str) -> Vec<String> {
    let r = app.get(&format!("/rest/servicedeskapi/request/{ticket}/participant")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["values"].as_array().unwrap().iter().map(|u| u["emailAddress"].as_str().unwrap().to_owned()).collect()
}

async fn people_of(app: &TestApp, super_identity: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/external-users?superIdentityIds={super_identity}")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut ids: Vec<String> = r.body.as_array().unwrap().iter().map(id).collect();
    ids.sort();
    ids
}

async fn merge(app: &TestApp, survivor: &str, absorbed: &str) -> crate::helpers::Reply {
    app.post(&format!("/api/v1/super-identities/{survivor}/merge"), &json!({"absorbedId": absorbed})).await
}

async fn upsert(app: &TestApp, channel: &str, external_id: &str, body: &Value) -> crate::helpers::Reply {
    app.send(
        "PUT",
        &format!("/api/v1/external-users?channelId={channel}&externalId={external_id}"),
        Some(&app.key),
        Some(&body.to_string()),
    )
    .await
}

on_both_backends! {
    async fn a_merge_moves_users_tickets_participants_and_tokens_to_the_survivor(app) {
        let web = web_channel(&app).await;
        let location = app.location("Desk").await;
        let a = app.external_user("ann@example.com", "Ann").await;
        let b = app.external_user("ann.private@example.com", "Ann P").await;
        let w = user_on(&app, &web, "ann-chat").await;
        let c = app.external_user("carl@example.com", "Carl").await;
        let (survivor, absorbed) = (sid(&a), sid(&b));
        // The chat user is the absorbed side's person already.
        let r = app.post(&format!("/api/v1/external-users/{}/link", id(&w)), &json!({"superIdentityId": absorbed})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(sid(&r.body), absorbed);

        let t1 = app.open_ticket(&location, &id(&a), "One").await["ticket"]["id"].as_str().unwrap().to_owned();
        let t2 = app.open_ticket(&location, &id(&b), "Two").await["ticket"]["id"].as_str().unwrap().to_owned();
        let t3 = app.open_ticket(&location, &id(&c), "Three").await["ticket"]["id"].as_str().unwrap().to_owned();
        add_participant(&app, &t1, "ann.private@example.com").await;
        add_participant(&app, &t2, "ann@example.com").await;
        add_participant(&app, &t3, "ann@example.com").await;
        add_participant(&app, &t3, "ann.private@example.com").await;
        let (_, token_a) = app.access_token("ann@example.com").await;
        let (_, token_b) = app.access_token("ann.private@example.com").await;

        let r = merge(&app, &survivor, &absorbed).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["survivor"]["id"], survivor.as_str());
        assert_eq!(r.body["survivor"]["mergedInto"], Value::Null);
        assert_eq!(r.body["movedExternalUsers"], 2);
        assert_eq!(r.body["tickets"], 3);

        // Seed 001: the survivor has every external user at once; the absorbed says where they went.
        let mut all = vec![id(&a), id(&b), id(&w)];
        all.sort();
        assert_eq!(people_of(&app, &survivor).await, all);
        assert!(people_of(&app, &absorbed).await.is_empty());
        let gone = app.get(&format!("/api/v1/super-identities/{absorbed}")).await;
        assert_eq!(gone.status, 200, "{:?}", gone.body);
        assert_eq!(gone.body["mergedInto"], survivor.as_str());
        assert!(gone.body["mergedAt"].is_string());
        for token in [&token_a, &token_b] {
            let me = app.send("GET", "/api/v1/me", Some(&format!("Bearer {token}")), None).await;
            assert_eq!(me.status, 200, "{:?}", me.body);
            assert_eq!(sid(&me.body), survivor);
        }

        // The person is on each ticket once: as requester, or as one participant.
        assert!(crm_emails(&app, &t1).await.is_empty());
        assert!(crm_emails(&app, &t2).await.is_empty());
        assert_eq!(crm_emails(&app, &t3).await, vec!["ann@example.com"]);
        assert_eq!(jsm_emails(&app, &t3).await, vec!["ann@example.com"]);

        // Seed 002: the requester is unchanged and the timeline says who merged what.
        let detail = app.tickets("GET", &format!("{TICKETS}/{t2}"), None).await;
        assert_eq!(detail.status, 200, "{:?}", detail.body);
        assert_eq!(detail.body["ticket"]["userRequester"]["id"], id(&b).as_str());
        let merged: Vec<&Value> = detail.body["activities"].as_array().unwrap().iter()
            .filter(|a| a["type"] == "identityMerged").collect();
        assert_eq!(merged.len(), 1);
        let text = merged[0]["data"]["text"].as_str().unwrap();
        assert!(text.contains(&absorbed) && text.contains(&survivor), "{text}");

        let audit = app.get(&format!("/api/v1/audit-records?subjectId={absorbed}")).await;
        assert_eq!(audit.status, 200, "{:?}", audit.body);
        let actions: Vec<&str> = audit.body.as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec!["external_user.linked", "super_identity.merged"]);
        let merged = audit.body.as_array().unwrap().last().unwrap();
        assert_eq!(merged["targetId"], survivor.as_str());
        let keys = app.get("/api/v1/api-keys").await.body;
        assert_eq!(merged["actorId"], keys[0]["id"]);
    }

    async fn merging_itself_across_workspaces_or_into_a_merged_one_is_refused(app) {
        let a = sid(&app.external_user("a@example.com", "Ada").await);
        let b = sid(&app.external_user("b@example.com", "Bob").await);
        let c = sid(&app.external_user("c@example.com", "Cyd").await);
        let r = merge(&app, &a, &a).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "absorbedId");

        let (_, other_key, other_email) = app.other_workspace().await;
        let body = json!({"channelId": other_email, "externalId": null, "identifier": "x@example.com", "name": null,
                          "tierId": null, "externalUserGroupId": null});
        let foreign = app.send("POST", "/api/v1/external-users", Some(&other_key), Some(&body.to_string())).await;
        let foreign = sid(&foreign.body);
        let r = merge(&app, &a, &foreign).await;
        assert_eq!(r.status, 404, "{:?}", r.body);
        assert_eq!(r.body["message"], "Super identity not found.");
        assert_eq!(app.get(&format!("/api/v1/super-identities/{foreign}")).await.status, 404);

        assert_eq!(merge(&app, &a, &b).await.status, 200);
        for (survivor, absorbed) in [(&b, &c), (&c, &b), (&a, &b)] {
            let r = merge(&app, survivor, absorbed).await;
            assert_eq!(r.status, 409, "{:?}", r.body);
            assert_eq!(r.body["code"], 409);
        }
        // Nothing moved by the refusals.
        assert_eq!(people_of(&app, &c).await.len(), 1);
        assert_eq!(people_of(&app, &a).await.len(), 2);
    }

    async fn two_merges_of_one_pair_racing_each_other_end_in_one_merge(app) {
        for round in 0..5 {
            let a = app.external_user(&format!("p{round}@example.com"), "Pat").await;
            let b = app.external_user(&format!("q{round}@example.com"), "Quinn").await;
            let (sa, sb) = (sid(&a), sid(&b));
            let (one, two) = tokio::join!(merge(&app, &sa, &sb), merge(&app, &sb, &sa));
            let mut statuses = [one.status, two.status];
            statuses.sort();
            assert_eq!(statuses, [200, 409], "{:?} {:?}", one.body, two.body);
            let winner = if one.status == 200 { &sa } else { &sb };
            assert_eq!(people_of(&app, winner).await.len(), 2);
            let loser = if one.status == 200 { &sb } else { &sa };
            let gone = app.get(&format!("/api/v1/super-identities/{loser}")).await;
            assert_eq!(gone.body["mergedInto"], winner.as_str());
        }
    }

    async fn a_merge_and_an_erasure_are_announced_and_the_outbox_forgets_the_erased(app) {
        let web = web_channel(&app).await;
        let a = user_on(&app, &web, "keep.me@example.com").await;
        let b = app.external_user("merge.me@example.com", "Merged Person").await;
        assert_eq!(merge(&app, &sid(&a), &sid(&b)).await.status, 200);
        let merged = app.get("/api/v1/events?types=super_identity.merged").await;
        let events = merged.body["events"].as_array().expect("events").clone();
        assert_eq!(events.len(), 1, "{:?}", merged.body);
        assert_eq!(events[0]["data"]["survivorId"], sid(&a).as_str());
        assert_eq!(events[0]["data"]["absorbedId"], sid(&b).as_str());

        assert_eq!(app.delete(&format!("/api/v1/external-users/{}", id(&b))).await.status, 200);
        let all = app.get("/api/v1/events?limit=100").await;
        assert!(!all.body.to_string().contains("merge.me@example.com"), "{:?}", all.body);
        let deleted: Vec<_> = all.body["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["type"] == "external_user.deleted")
            .collect();
        assert_eq!(deleted.len(), 1, "{:?}", all.body);
        assert_eq!(deleted[0]["data"]["id"], id(&b).as_str());
    }

    async fn unlink_gives_the_user_a_super_identity_of_its_own(app) {
        let web = web_channel(&app).await;
        let a = app.external_user("u@example.com", "Uma").await;
        let w = user_on(&app, &web, "u-chat").await;
        let r = app.post(&format!("/api/v1/external-users/{}/link", id(&w)), &json!({"superIdentityId": sid(&a)})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        // The chat user's old identity was left empty: it forwards to where the person is.
        let old = app.get(&format!("/api/v1/super-identities/{}", sid(&w))).await;
        assert_eq!(old.body["mergedInto"], sid(&a).as_str());

        let r = app.post(&format!("/api/v1/external-users/{}/unlink", id(&w)), &json!({})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let own = sid(&r.body);
        assert_ne!(own, sid(&a));
        assert_eq!(people_of(&app, &own).await, vec![id(&w)]);
        assert_eq!(people_of(&app, &sid(&a)).await, vec![id(&a)]);
        // Alone already: unlinking again changes nothing.
        let again = app.post(&format!("/api/v1/external-users/{}/unlink", id(&w)), &json!({})).await;
        assert_eq!(sid(&again.body), own);
        assert_eq!(again.body["updatedAt"], r.body["updatedAt"]);
    }

    async fn automatic_matching_joins_the_same_email_or_phone_on_another_channel(app) {
        let web = web_channel(&app).await;
        let r = app.get("/api/v1/settings/automatic-matching").await;
        assert_eq!(r.body, json!({"enabled": false}));
        let mail = app.external_user("Mia@Example.com", "Mia").await;
        let before = user_on(&app, &web, "mia@example.com").await;
        assert_ne!(sid(&before), sid(&mail), "off by default");

        let r = app.send("PUT", "/api/v1/settings/automatic-matching", Some(&app.key), Some(r#"{"enabled": true}"#)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body, json!({"enabled": true}));
        let sms = app.post("/api/v1/channels", &json!({"name": "SMS", "type": "sms"})).await;
        let sms = sms.body["id"].as_str().unwrap().to_owned();
        let matched = user_on(&app, &sms, "  MIA@example.COM ").await;
        assert_eq!(sid(&matched), sid(&mail));
        assert_eq!(app.get(&format!("/api/v1/external-users/{}", id(&matched))).await.body["superIdentityId"], sid(&mail).as_str());

        let phone = user_on(&app, &web, "+1 (555) 010-2000").await;
        let same_phone = user_on(&app, &sms, "15550102000").await;
        assert_eq!(sid(&same_phone), sid(&phone));
        let username = user_on(&app, &sms, "mia").await;
        assert_ne!(sid(&username), sid(&mail));

        // Never across workspaces.
        let (_, other_key, other_email) = app.other_workspace().await;
        let on = app.send("PUT", "/api/v1/settings/automatic-matching", Some(&other_key), Some(r#"{"enabled": true}"#)).await;
        assert_eq!(on.status, 200);
        let body = json!({"channelId": other_email, "externalId": null, "identifier": "mia@example.com", "name": null,
                          "tierId": null, "externalUserGroupId": null});
        let there = app.send("POST", "/api/v1/external-users", Some(&other_key), Some(&body.to_string())).await;
        assert_eq!(there.status, 200, "{:?}", there.body);
        assert_ne!(sid(&there.body), sid(&mail));
    }

    async fn upsert_creates_updates_and_leaves_unchanged_users_alone(app) {
        let ch = app.email_channel_id.clone();
        let body = json!({"identifier": "kim@example.com", "name": "Kim"});
        let created = upsert(&app, &ch, "crm-42", &body).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        assert_eq!(created.body["externalId"], "crm-42");
        let same = upsert(&app, &ch, "crm-42", &body).await;
        assert_eq!(same.status, 200, "{:?}", same.body);
        assert_eq!(same.body["updatedAt"], created.body["updatedAt"]);
        assert_eq!(same.body["id"], created.body["id"]);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let renamed = upsert(&app, &ch, "crm-42", &json!({"name": "Kim Lee"})).await;
        assert_eq!(renamed.status, 200, "{:?}", renamed.body);
        assert_eq!(renamed.body["name"], "Kim Lee");
        assert_eq!(renamed.body["identifier"], "kim@example.com");
        assert_ne!(renamed.body["updatedAt"], created.body["updatedAt"]);

        let bad = app.send("PUT", "/api/v1/external-users?channelId=nope&externalId=x", Some(&app.key), Some(r#"{"name": 5}"#)).await;
        assert_eq!(bad.status, 400, "{:?}", bad.body);
        let mut fields: Vec<&str> = bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        fields.sort();
        assert_eq!(fields, vec!["channelId", "externalId", "name"]);
    }

    async fn simultaneous_upserts_of_one_key_make_one_user(app) {
        // A web channel: on the e-mail channel a user must also carry an address.
        let ch = web_channel(&app).await;
        for round in 0..5 {
            let key = format!("race-{round}");
            let body = json!({"name": "Racer"});
            let replies = futures_join(&app, &ch, &key, &body).await;
            let created = replies.iter().filter(|s| **s == 201).count();
            assert_eq!(created, 1, "{replies:?}");
            assert!(replies.iter().all(|s| *s == 201 || *s == 200), "{replies:?}");
            let list = app.get(&format!("/api/v1/external-users?search={key}")).await;
            assert_eq!(list.body.as_array().unwrap().len(), 1);
        }
    }
}

async fn futures_join(app: &TestApp, ch: &str, key: &str, body: &Value) -> Vec<u16> {
    let (a, b, c, d) = tokio::join!(
        upsert(app, ch, key, body),
        upsert(app, ch, key, body),
        upsert(app, ch, key, body),
        upsert(app, ch, key, body)
    );
    vec![a.status, b.status, c.status, d.status]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// Erasure (docs/privacy.md), in a module of its own: one `on_both_backends!` per module.
mod erasure {
    use super::*;

    on_both_backends! {
        async fn erasing_a_person_removes_their_data_and_keeps_their_tickets(app) {
            let web = web_channel(&app).await;
            let location = app.location("Desk").await;
            let email = "erase.me@example.com";
            let person = app.external_user(email, "Erin Erased").await;
            let chat = user_on(&app, &web, "erin-chat-handle").await;
            let r = app.post(&format!("/api/v1/external-users/{}/link", id(&chat)), &json!({"superIdentityId": sid(&person)})).await;
            assert_eq!(r.status, 200);
            let other = app.external_user("keeper@example.com", "Keeper").await;
            let own = app.open_ticket(&location, &id(&person), "My printer").await["ticket"]["id"].as_str().unwrap().to_owned();
            let theirs = app.open_ticket(&location, &id(&other), "Their printer").await["ticket"]["id"].as_str().unwrap().to_owned();
            add_participant(&app, &theirs, email).await;
            let (_, token) = app.access_token(email).await;
            if !app.sqlite_bytes().is_empty() {
                assert!(contains(&app.sqlite_bytes(), email.as_bytes()), "the address is stored before the erasure");
            }

            let r = app.delete(&format!("/api/v1/super-identities/{}", sid(&person))).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            assert_eq!(r.body["erasedExternalUsers"], 2);

            for user in [&person, &chat] {
                assert_eq!(app.get(&format!("/api/v1/external-users/{}", id(user))).await.status, 404);
            }
            assert!(app.get("/api/v1/external-users?search=erase").await.body.as_array().unwrap().is_empty());
            assert!(people_of(&app, &sid(&person)).await.is_empty());
            let me = app.send("GET", "/api/v1/me", Some(&format!("Bearer {token}")), None).await;
            assert_eq!(me.status, 401, "tokens are revoked");
            assert!(crm_emails(&app, &theirs).await.is_empty());
            assert!(jsm_emails(&app, &theirs).await.is_empty());
            let detail = app.tickets("GET", &format!("{TICKETS}/{own}"), None).await;
            assert_eq!(detail.status, 200, "{:?}", detail.body);
            let requester = &detail.body["ticket"]["userRequester"];
            assert_eq!(requester["id"], id(&person).as_str());
            assert_eq!(requester["name"], Value::Null);
            assert_eq!(requester["email"], Value::Null);
            assert_eq!(requester["blocked"], true);

            let audit = app.get(&format!("/api/v1/audit-records?subjectId={}", sid(&person))).await;
            let last = audit.body.as_array().unwrap().last().unwrap().clone();
            assert_eq!(last["action"], "super_identity.erased");
            assert!(!audit.body.to_string().contains("erase.me"), "the audit keeps no personal data");
            let again = app.delete(&format!("/api/v1/external-users/{}", id(&person))).await;
            assert_eq!(again.status, 404);
        }

        async fn erasure_leaves_no_trace_of_the_address_in_the_database_file(app) {
            let email = "forget.me.please@example.com";
            let user = app.external_user(email, "Forgettable Name").await;
            // Some churn, so the address also sits in older page images and index segments.
            for n in 0..20 {
                app.external_user(&format!("filler{n}@example.com"), "Filler").await;
            }
            app.patch(&format!("/api/v1/external-users/{}", id(&user)), &json!({"name": "Forgettable Again"})).await;
            let r = app.delete(&format!("/api/v1/external-users/{}", id(&user))).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            let bytes = app.sqlite_bytes();
            if bytes.is_empty() {
                return; // PostgreSQL: see docs/privacy.md for what vacuum does and does not promise.
            }
            assert!(!contains(&bytes, email.as_bytes()), "the erased address is still in the database file");
            assert!(!contains(&bytes, b"Forgettable"), "the erased name is still in the database file");
            assert!(contains(&bytes, b"filler3@example.com"), "others are kept");
        }

        async fn only_admins_erase_and_agents_cannot(app) {
            let user = app.external_user("agentproof@example.com", "Agent Proof").await;
            let r = app.post("/api/v1/api-keys", &json!({"name": "Agent", "role": "agent"})).await;
            let agent = r.body["key"].as_str().unwrap().to_owned();
            let r = app.send("DELETE", &format!("/api/v1/external-users/{}", id(&user)), Some(&agent), None).await;
            assert_eq!(r.status, 403, "{:?}", r.body);
            let r = app.send("PUT", "/api/v1/settings/automatic-matching", Some(&agent), Some(r#"{"enabled": true}"#)).await;
            assert_eq!(r.status, 403, "{:?}", r.body);
            assert_eq!(app.get(&format!("/api/v1/external-users/{}", id(&user))).await.status, 200);
        }
    }
}
