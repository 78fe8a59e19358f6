//! Seed 001: external users — create, get, patch, list with filters, search and paging, authenticate.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};

fn create_body(app: &TestApp, external_id: Value, identifier: Value, name: Value) -> Value {
    json!({
        "channelId": app.email_channel_id,
        "externalId": external_id,
        "identifier": identifier,
        "name": name,
        "tierId": null,
        "externalUserGroupId": null,
    })
}

fn field_errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map_or(vec![], |e| e.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect())
}

async fn tier(app: &TestApp, name: &str) -> String {
    let r = app.post("/api/v1/tiers", &json!({"name": name, "description": "A tier for tests"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn group(app: &TestApp, external_id: &str) -> String {
    let r = app
        .post("/api/v1/external-user-groups", &json!({"externalId": external_id, "name": "Group", "tierId": null}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn channel(app: &TestApp, name: &str) -> String {
    let r = app.post("/api/v1/channels", &json!({"name": name, "type": "web"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

on_both_backends! {
    async fn create_returns_the_seed_shape_with_a_new_super_identity(app) {
        let r = app.post("/api/v1/external-users", &create_body(&app, json!("crm-0001"), json!("jane@example.com"), json!("Jane Doe"))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let u = &r.body;
        let keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        for key in ["createdAt", "id", "updatedAt", "blocked", "channelId", "externalId", "externalUserGroupId",
                    "identifier", "name", "superIdentityId", "tierId", "workspaceId"] {
            assert!(keys.contains(&key), "missing {key}");
        }
        assert_eq!(keys.len(), 12);
        assert_eq!(u["blocked"], false);
        assert_eq!(u["externalId"], "crm-0001");
        assert_eq!(u["workspaceId"], app.workspace_id.as_str());
        assert_eq!(u["tierId"], Value::Null);
        assert_ne!(u["superIdentityId"], u["id"]);
        assert!(u["createdAt"].as_str().unwrap().ends_with('Z'));

        let again = app.get(&format!("/api/v1/external-users/{}", u["id"].as_str().unwrap())).await;
        assert_eq!(again.status, 200);
        assert_eq!(&again.body, u);
    }

    async fn every_create_key_is_required_but_nullable_ones_may_be_null(app) {
        let r = app.post("/api/v1/external-users", &json!({"channelId": app.email_channel_id})).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["message"], "Invalid data provided.");
        assert_eq!(r.body["code"], 400);
        assert_eq!(field_errors(&r.body), ["externalId", "identifier", "name", "tierId", "externalUserGroupId"]);

        // Off the e-mail channel (where the identifier is the address) every nullable key may be null.
        let mut body = create_body(&app, json!(null), json!(null), json!(null));
        body["channelId"] = json!(channel(&app, "Web chat").await);
        let r = app.post("/api/v1/external-users", &body).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["name"], Value::Null);
    }

    async fn external_id_and_name_lengths_follow_the_seed_at_their_boundaries(app) {
        for (external_id, name, ok) in [
            ("ab".to_owned(), "Bob".to_owned(), false),
            ("abc".to_owned(), "Bo".to_owned(), false),
            ("abc".to_owned(), "Bob".to_owned(), true),
            ("x".repeat(250), "n".repeat(50), true),
            ("y".repeat(251), "Bob".to_owned(), false),
            ("zzz".to_owned(), "n".repeat(51), false),
        ] {
            let address = format!("{}@example.com", uuid::Uuid::new_v4().simple());
            let r = app.post("/api/v1/external-users", &create_body(&app, json!(external_id), json!(address), json!(name))).await;
            assert_eq!(r.status == 200, ok, "{external_id:.5}/{name:.5}: {:?}", r.body);
        }
    }

    async fn wrong_types_and_malformed_json_are_400_in_the_contract_envelope(app) {
        let mut body = create_body(&app, json!(123), json!(true), json!("Name"));
        body["channelId"] = json!("not-a-uuid");
        let r = app.post("/api/v1/external-users", &body).await;
        assert_eq!(r.status, 400);
        assert_eq!(field_errors(&r.body), ["channelId", "externalId", "identifier"]);

        let r = app.send("POST", "/api/v1/external-users", Some(&app.key), Some("{not json")).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["message"], "Invalid data provided.");
        assert_eq!(field_errors(&r.body), ["body"]);

        let r = app.send("POST", "/api/v1/external-users", Some(&app.key), Some("[]")).await;
        assert_eq!(r.status, 400);
    }

    async fn an_oversized_body_is_a_400_not_a_reset_connection(app) {
        let huge = format!("{{\"name\": \"{}\"}}", "a".repeat(3 * 1024 * 1024));
        let r = app.send("POST", "/api/v1/external-users", Some(&app.key), Some(&huge)).await;
        assert_eq!(r.status, 400);
        assert_eq!(field_errors(&r.body), ["body"]);
    }

    async fn unknown_channel_tier_or_group_is_a_404_naming_it(app) {
        let ghost = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        let mut body = create_body(&app, json!(null), json!("ghost@example.com"), json!(null));
        body["channelId"] = json!(ghost);
        let r = app.post("/api/v1/external-users", &body).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Channel not found.")));

        let mut body = create_body(&app, json!(null), json!("ghost@example.com"), json!(null));
        body["tierId"] = json!(ghost);
        let r = app.post("/api/v1/external-users", &body).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Tier not found.")));

        let mut body = create_body(&app, json!(null), json!("ghost@example.com"), json!(null));
        body["externalUserGroupId"] = json!(ghost);
        let r = app.post("/api/v1/external-users", &body).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("External user group not found.")));
    }

    async fn external_id_and_identifier_are_unique_per_channel(app) {
        let first = app.post("/api/v1/external-users", &create_body(&app, json!("ext-1"), json!("Sam@Example.com"), json!("Sam"))).await;
        assert_eq!(first.status, 200);

        let r = app.post("/api/v1/external-users", &create_body(&app, json!("ext-1"), json!("other@example.com"), json!(null))).await;
        assert_eq!((r.status, r.body["field"].as_str()), (409, Some("externalId")));
        let r = app.post("/api/v1/external-users", &create_body(&app, json!(null), json!("sam@example.COM"), json!(null))).await;
        assert_eq!((r.status, r.body["field"].as_str()), (409, Some("identifier")));

        let web = channel(&app, "Web chat").await;
        let mut body = create_body(&app, json!("ext-1"), json!("Sam@Example.com"), json!("Sam"));
        body["channelId"] = json!(web);
        assert_eq!(app.post("/api/v1/external-users", &body).await.status, 200);
    }

    async fn concurrent_creates_with_one_identifier_let_exactly_one_win(app) {
        let body = create_body(&app, json!(null), json!("race@example.com"), json!("Racer"));
        let attempts = (0..16).map(|_| app.post("/api/v1/external-users", &body));
        let statuses: Vec<u16> = join_all(attempts).await.into_iter().map(|r| r.status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 15, "{statuses:?}");
        let list = app.get("/api/v1/external-users?search=race%40example").await;
        assert_eq!(list.body.as_array().unwrap().len(), 1);
    }

    async fn a_burst_of_creates_reports_each_outcome_and_keeps_exactly_the_acknowledged(app) {
        // Creates arriving together share a commit; each still gets its own answer, also the one
        // whose identifier a stored user holds (the batch's shared insert is undone and redone
        // without it).
        let ghost_tier = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        app.external_user("held@example.com", "Holder").await;
        let bodies: Vec<Value> = (0..30)
            .map(|i| match i % 6 {
                _ if i == 2 => create_body(&app, json!(null), json!("held@example.com"), json!(null)),
                0 => create_body(&app, json!(null), json!("twin@example.com"), json!("Twin")),
                1 => {
                    let mut b = create_body(&app, json!(null), json!(format!("lost{i}@example.com")), json!(null));
                    b["tierId"] = json!(ghost_tier);
                    b
                }
                _ => create_body(&app, json!(format!("ext-{i:03}")), json!(format!("user{i}@example.com")), json!(null)),
            })
            .collect();
        let replies = join_all(bodies.iter().map(|b| app.post("/api/v1/external-users", b))).await;
        let count = |status: u16| replies.iter().filter(|r| r.status == status).count();
        assert_eq!((count(200), count(409), count(404)), (20, 5, 5));
        let stored = app.get("/api/v1/external-users?pageSize=100").await;
        assert_eq!(stored.header("x-total-count"), Some("21"));
        for r in replies.iter().filter(|r| r.status == 200) {
            let id = r.body["id"].as_str().unwrap();
            assert_eq!(app.get(&format!("/api/v1/external-users/{id}")).await.status, 200);
        }
    }

    async fn patch_changes_only_the_keys_present_and_null_clears(app) {
        // On a channel whose identifiers may be cleared (the e-mail channel's are the addresses).
        let mut body = create_body(&app, json!("keep-me"), json!("p@example.com"), json!("Pat"));
        body["channelId"] = json!(channel(&app, "Web chat").await);
        let u = app.post("/api/v1/external-users", &body).await.body;
        let id = u["id"].as_str().unwrap();
        let tier = tier(&app, "Gold").await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;

        let r = app.patch(&format!("/api/v1/external-users/{id}"), &json!({"name": "Patricia", "identifier": null, "tierId": tier})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["name"], "Patricia");
        assert_eq!(r.body["identifier"], Value::Null);
        assert_eq!(r.body["externalId"], "keep-me");
        assert_eq!(r.body["tierId"], tier.as_str());
        assert_eq!(r.body["createdAt"], u["createdAt"]);
        assert!(r.body["updatedAt"].as_str().unwrap() > u["updatedAt"].as_str().unwrap());

        let r = app.patch(&format!("/api/v1/external-users/{id}"), &json!({"blocked": true})).await;
        assert_eq!(r.body["blocked"], true);
        assert_eq!(r.body["name"], "Patricia");

        let r = app.patch(&format!("/api/v1/external-users/{id}"), &json!({"name": "Al", "blocked": "yes"})).await;
        assert_eq!(r.status, 400);
        assert_eq!(field_errors(&r.body), ["blocked", "name"]);
        let r = app.patch(&format!("/api/v1/external-users/{id}"), &json!({"externalUserGroupId": "3c90c3cc-0d44-4b50-8888-8dd25736052a"})).await;
        assert_eq!(r.status, 404);
    }

    async fn patch_into_a_taken_identifier_is_a_409(app) {
        app.external_user("taken@example.com", "First").await;
        let second = app.external_user("free@example.com", "Second").await;
        let r = app.patch(&format!("/api/v1/external-users/{}", second["id"].as_str().unwrap()), &json!({"identifier": "taken@example.com"})).await;
        assert_eq!((r.status, r.body["field"].as_str()), (409, Some("identifier")));
    }

    async fn get_unknown_or_malformed_id(app) {
        let r = app.get("/api/v1/external-users/3c90c3cc-0d44-4b50-8888-8dd25736052a").await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("External user not found.")));
        let r = app.get("/api/v1/external-users/12345").await;
        assert_eq!(r.status, 400);
        assert_eq!(field_errors(&r.body), ["id"]);
    }

    async fn list_pages_in_creation_order_with_counts(app) {
        for i in 0..25 {
            app.external_user(&format!("user{i:02}@example.com"), &format!("User {i:02}")).await;
        }
        let r = app.get("/api/v1/external-users").await;
        assert_eq!(r.status, 200);
        let first = r.body.as_array().unwrap();
        assert_eq!(first.len(), 10, "default page size is 10");
        assert_eq!(first[0]["identifier"], "user00@example.com");
        assert_eq!(r.header("x-total-count"), Some("25"));

        let r = app.get("/api/v1/external-users?pageNumber=3&pageSize=10").await;
        let third: Vec<_> = r.body.as_array().unwrap().iter().map(|u| u["identifier"].as_str().unwrap().to_owned()).collect();
        assert_eq!(third, ["user20@example.com", "user21@example.com", "user22@example.com", "user23@example.com", "user24@example.com"]);

        let r = app.get("/api/v1/external-users?pageNumber=4").await;
        assert_eq!(r.body, json!([]));
        let r = app.get("/api/v1/external-users?pageSize=100").await;
        assert_eq!(r.body.as_array().unwrap().len(), 25);
    }

    async fn paging_out_of_range_is_a_400_naming_the_parameter(app) {
        for (query, field) in [("pageSize=0", "pageSize"), ("pageSize=101", "pageSize"), ("pageNumber=0", "pageNumber"),
                               ("pageNumber=abc", "pageNumber"), ("pageSize=2.5", "pageSize"), ("tierIds=nope", "tierIds")] {
            let r = app.get(&format!("/api/v1/external-users?{query}")).await;
            assert_eq!(r.status, 400, "{query}");
            assert_eq!(field_errors(&r.body), [field], "{query}");
        }
    }

    async fn filters_combine_with_and_between_and_or_within(app) {
        let gold = tier(&app, "Gold").await;
        let silver = tier(&app, "Silver").await;
        let vip = group(&app, "vip-group").await;
        let web = channel(&app, "Web chat").await;
        let mk = |channel: &str, tier: Option<&str>, group: Option<&str>, ident: &str| json!({
            "channelId": channel, "externalId": null, "identifier": ident, "name": null,
            "tierId": tier, "externalUserGroupId": group,
        });
        let email = app.email_channel_id.clone();
        let a = app.post("/api/v1/external-users", &mk(&email, Some(&gold), Some(&vip), "a@example.com")).await.body;
        let b = app.post("/api/v1/external-users", &mk(&email, Some(&silver), None, "b@example.com")).await.body;
        let c = app.post("/api/v1/external-users", &mk(&web, Some(&gold), None, "c")).await.body;
        let _d = app.post("/api/v1/external-users", &mk(&web, None, None, "d")).await.body;

        let idents = |r: crate::helpers::Reply| -> Vec<String> {
            assert_eq!(r.status, 200, "{:?}", r.body);
            // Named by the identifier's part before any `@`: the e-mail channel's are addresses.
            r.body.as_array().unwrap().iter().map(|u| u["identifier"].as_str().unwrap().split('@').next().unwrap().to_owned()).collect()
        };
        assert_eq!(idents(app.get(&format!("/api/v1/external-users?tierIds={gold}")).await), ["a", "c"]);
        assert_eq!(idents(app.get(&format!("/api/v1/external-users?tierIds={gold}&tierIds={silver}")).await), ["a", "b", "c"]);
        assert_eq!(idents(app.get(&format!("/api/v1/external-users?tierIds[]={gold}&tierIds[]={silver}&channelIds={email}")).await), ["a", "b"]);
        assert_eq!(idents(app.get(&format!("/api/v1/external-users?channelIds={web}")).await), ["c", "d"]);
        assert_eq!(idents(app.get(&format!("/api/v1/external-users?externalUserGroupIds={vip}")).await), ["a"]);
        let sid = c["superIdentityId"].as_str().unwrap();
        let sid_b = b["superIdentityId"].as_str().unwrap();
        assert_eq!(idents(app.get(&format!("/api/v1/external-users?superIdentityIds={sid}&superIdentityIds={sid_b}")).await), ["b", "c"]);
        assert_eq!(idents(app.get(&format!("/api/v1/external-users?superIdentityIds={sid}&tierIds={silver}")).await), Vec::<String>::new());
        let _ = a;
    }

    async fn search_is_case_insensitive_over_name_identifier_and_external_id(app) {
        let mk = |ext: &str, ident: &str, name: &str| create_body(&app, json!(ext), json!(ident), json!(name));
        app.post("/api/v1/external-users", &mk("CRM-777", "one@example.com", "Ada Lovelace")).await;
        app.post("/api/v1/external-users", &mk("crm-888", "ADA@example.org", "Grace Hopper")).await;
        app.post("/api/v1/external-users", &mk("zzz-999", "third@example.net", "Linus")).await;
        let count = |r: crate::helpers::Reply| r.body.as_array().unwrap().len();
        assert_eq!(count(app.get("/api/v1/external-users?search=ada").await), 2);
        assert_eq!(count(app.get("/api/v1/external-users?search=HOPPER").await), 1);
        assert_eq!(count(app.get("/api/v1/external-users?search=crm-").await), 2);
        assert_eq!(count(app.get("/api/v1/external-users?search=100%25").await), 0);
        assert_eq!(count(app.get("/api/v1/external-users?search=_").await), 0);
        let r = app.get("/api/v1/external-users?search=example&pageSize=2").await;
        assert_eq!(r.header("x-total-count"), Some("3"));
    }

    async fn search_finds_the_whole_term_in_one_field_not_its_pieces(app) {
        let mk = |ext: &str, ident: &str, name: &str| create_body(&app, json!(ext), json!(ident), json!(name));
        app.post("/api/v1/external-users", &mk("e-1", "ada@example.com", "Ada Lovelace")).await;
        // Every three-letter piece of `lovelace`, split over two fields or out of order in one.
        app.post("/api/v1/external-users", &mk("e-2", "velace@example.com", "Ada Love")).await;
        app.post("/api/v1/external-users", &mk("e-3", "other@example.com", "Velace Lovel")).await;
        let r = app.get("/api/v1/external-users?search=LOVELACE").await;
        let names: Vec<&str> = r.body.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Ada Lovelace"]);
        assert_eq!(r.header("x-total-count"), Some("1"));
    }

    async fn search_reads_its_own_writes_after_every_change(app) {
        let u = app.external_user("searchable@example.com", "Original Name").await;
        let id = u["id"].as_str().unwrap();
        let count = |r: crate::helpers::Reply| r.body.as_array().unwrap().len();
        assert_eq!(count(app.get("/api/v1/external-users?search=original").await), 1);
        app.patch(&format!("/api/v1/external-users/{id}"), &json!({"name": "Renamed Person", "externalId": "legacy-7"})).await;
        assert_eq!(count(app.get("/api/v1/external-users?search=original").await), 0);
        assert_eq!(count(app.get("/api/v1/external-users?search=renamed").await), 1);
        assert_eq!(count(app.get("/api/v1/external-users?search=LEGACY").await), 1);
        assert_eq!(count(app.get("/api/v1/external-users?search=%22quoted%22").await), 0);
    }

    async fn authenticate_finds_by_id_then_external_id_then_identifier(app) {
        let u = app.post("/api/v1/external-users", &create_body(&app, json!("ext-42"), json!("who@example.com"), json!("Who"))).await.body;
        let ch = app.email_channel_id.clone();
        for body in [
            json!({"channelId": ch, "id": u["id"], "externalId": null, "identifier": null}),
            json!({"channelId": ch, "id": null, "externalId": "ext-42", "identifier": null}),
            json!({"channelId": ch, "id": null, "externalId": null, "identifier": "WHO@example.com"}),
            json!({"channelId": ch, "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "externalId": "ext-42", "identifier": "x"}),
        ] {
            let r = app.post("/api/v1/external-users/authenticate", &body).await;
            assert_eq!(r.status, 200, "{body}: {:?}", r.body);
            assert_eq!(r.body["id"], u["id"]);
            assert!(r.body["accessToken"].as_str().unwrap().len() >= 40);
        }
    }

    async fn authenticate_creates_the_user_when_no_one_matches(app) {
        let body = json!({"channelId": app.email_channel_id, "id": null, "externalId": "new-ext", "identifier": "new@example.com"});
        let first = app.post("/api/v1/external-users/authenticate", &body).await;
        assert_eq!(first.status, 200, "{:?}", first.body);
        assert_eq!(first.body["externalId"], "new-ext");
        let second = app.post("/api/v1/external-users/authenticate", &body).await;
        assert_eq!(second.body["id"], first.body["id"], "the second call finds the user the first created");
        assert_ne!(second.body["accessToken"], first.body["accessToken"]);

        let only_id = json!({"channelId": app.email_channel_id, "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "externalId": null, "identifier": null});
        let r = app.post("/api/v1/external-users/authenticate", &only_id).await;
        assert_eq!(r.status, 404);
        let r = app.post("/api/v1/external-users/authenticate", &json!({"channelId": app.email_channel_id})).await;
        assert_eq!(r.status, 400);
        assert_eq!(field_errors(&r.body), ["id", "externalId", "identifier"]);
        let r = app.post("/api/v1/external-users/authenticate", &json!({"channelId": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "id": null, "externalId": "abc", "identifier": null})).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Channel not found.")));
    }

    async fn access_token_is_a_real_credential_that_blocking_revokes(app) {
        let body = json!({"channelId": app.email_channel_id, "id": null, "externalId": null, "identifier": "me@example.com"});
        let auth = app.post("/api/v1/external-users/authenticate", &body).await.body;
        let token = auth["accessToken"].as_str().unwrap();
        let me = app.send("GET", "/api/v1/me", Some(&format!("Bearer {token}")), None).await;
        assert_eq!(me.status, 200);
        assert_eq!(me.body["id"], auth["id"]);
        assert_eq!(me.body.get("accessToken"), None);
        assert_eq!(app.send("GET", "/api/v1/me", Some("Bearer fdt_forged"), None).await.status, 401);
        assert_eq!(app.send("GET", "/api/v1/me", Some(&app.key), None).await.status, 401, "an API key is not an access token");
        assert_eq!(app.send("GET", "/api/v1/external-users", Some(&format!("Bearer {token}")), None).await.status, 401, "an access token is not an API key");

        let id = auth["id"].as_str().unwrap();
        app.patch(&format!("/api/v1/external-users/{id}"), &json!({"blocked": true})).await;
        assert_eq!(app.send("GET", "/api/v1/me", Some(&format!("Bearer {token}")), None).await.status, 401);
        let r = app.post("/api/v1/external-users/authenticate", &body).await;
        assert_eq!(r.status, 403, "a blocked user cannot authenticate");
        assert_eq!(r.body["code"], 403);
    }

    async fn the_api_key_is_accepted_raw_or_as_bearer_and_nothing_else(app) {
        assert_eq!(app.send("GET", "/api/v1/external-users", Some(&app.key), None).await.status, 200);
        assert_eq!(app.send("GET", "/api/v1/external-users", Some(&format!("Bearer {}", app.key)), None).await.status, 200);
        for auth in [None, Some(""), Some("Bearer "), Some("fdk_unknown"), Some("Basic Zm9vOmJhcg==")] {
            let r = app.send("GET", "/api/v1/external-users", auth, None).await;
            assert_eq!((r.status, r.body["message"].as_str()), (401, Some("Unauthorized.")), "{auth:?}");
        }
    }
}
