//! Seed 004: customers the Jira Service Management way, and their life as external users (seed 001).

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};

/// The seed's own request body.
fn fred() -> Value {
    json!({"displayName": "Fred F. User", "email": "fred@example.com"})
}

async fn create(app: &TestApp, auth: Option<&str>, query: &str, body: &Value) -> crate::helpers::Reply {
    app.send("POST", &format!("/rest/servicedeskapi/customer{query}"), auth, Some(&body.to_string())).await
}

fn desk_path(app: &TestApp) -> String {
    format!("/rest/servicedeskapi/servicedesk/{}/customer", app.workspace_id)
}

async fn agent_key(app: &TestApp) -> String {
    app.post("/api/v1/api-keys", &json!({"name": "agent", "role": "agent"})).await.body["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

on_both_backends! {
    async fn create_returns_201_with_the_seed_shape(app) {
        let r = create(&app, Some(&format!("Bearer {}", app.key)), "", &fred()).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let c = &r.body;
        let account = c["accountId"].as_str().unwrap();
        assert!(account.starts_with(&format!("qm:{}:", app.workspace_id)), "{account}");
        assert_eq!(c["name"], account);
        assert_eq!(c["key"], account);
        assert_eq!(c["emailAddress"], "fred@example.com");
        assert_eq!(c["displayName"], "Fred F. User");
        assert_eq!(c["active"], true);
        assert_eq!(c["timeZone"], "UTC");
        let self_link = format!("{}/rest/api/2/user?username={account}", app.base);
        assert_eq!(c["_links"]["self"], self_link.as_str());
        assert_eq!(c["_links"]["jiraRest"], self_link.as_str());
        for size in ["16x16", "24x24", "32x32", "48x48"] {
            assert!(c["_links"]["avatarUrls"][size].as_str().unwrap().starts_with(&app.base), "{size}");
        }
        // The self link resolves to the same person in Jira's user shape.
        let again = app.get(&format!("/rest/api/2/user?username={account}")).await;
        assert_eq!(again.status, 200, "{:?}", again.body);
        let u = &again.body;
        assert_eq!(u["self"], self_link.as_str());
        for key in ["accountId", "key", "name", "emailAddress", "displayName", "active", "timeZone"] {
            assert_eq!(u[key], c[key], "{key}");
        }
        assert_eq!(u["accountType"], "customer");
        assert_eq!(u["avatarUrls"], c["_links"]["avatarUrls"]);
        assert_eq!(u["groups"], json!({"size": 0, "items": []}));
        assert_eq!(u["applicationRoles"], json!({"size": 0, "items": []}));
        assert!(u.get("_links").is_none(), "Jira users carry no JSM _links: {u}");
    }

    async fn unknown_jira_and_jsm_paths_are_404_in_jiras_envelope(app) {
        for path in ["/rest/servicedeskapi/nothing", "/rest/servicedeskapi/organization/7", "/rest/api/2/myself",
                     "/rest/api/3/issue/FD-1"] {
            let r = app.get(path).await;
            assert_eq!(r.status, 404, "{path}: {:?}", r.body);
            assert!(r.body["errorMessage"].is_string(), "{path}: {:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.not.found", "{path}");
            assert!(r.body.get("code").is_none(), "{path}: not the external users API's envelope");
        }
    }

    async fn basic_auth_with_any_user_name_and_the_key_as_password_works(app) {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("admin@example.com:{}", app.key));
        let r = create(&app, Some(&format!("Basic {basic}")), "", &fred()).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let wrong = base64::engine::general_purpose::STANDARD.encode("admin@example.com:nope");
        let r = create(&app, Some(&format!("Basic {wrong}")), "", &fred()).await;
        assert_eq!(r.status, 401);
    }

    async fn duplicate_email_is_400_or_409_when_strict(app) {
        assert_eq!(create(&app, Some(&app.key), "", &fred()).await.status, 201);
        let dup = json!({"displayName": "Fred Again", "email": "FRED@example.com"});
        let r = create(&app, Some(&app.key), "", &dup).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert!(r.body["errorMessage"].as_str().unwrap().contains("already exists"));
        assert!(r.body["i18nErrorMessage"]["i18nKey"].is_string());
        assert!(r.body["i18nErrorMessage"]["parameters"].is_array());
        let r = create(&app, Some(&app.key), "?strictConflictStatusCode=true", &dup).await;
        assert_eq!(r.status, 409, "{:?}", r.body);
        let r = create(&app, Some(&app.key), "?strictConflictStatusCode=false", &dup).await;
        assert_eq!(r.status, 400);
    }

    async fn agent_keys_are_forbidden_and_missing_keys_unauthorized(app) {
        let agent = agent_key(&app).await;
        let r = create(&app, Some(&format!("Bearer {agent}")), "", &fred()).await;
        assert_eq!(r.status, 403, "{:?}", r.body);
        assert!(r.body["errorMessage"].is_string());
        assert!(r.body["i18nErrorMessage"]["i18nKey"].is_string());
        let r = create(&app, None, "", &fred()).await;
        assert_eq!(r.status, 401);
        assert!(r.body["errorMessage"].is_string());
        assert!(r.body["i18nErrorMessage"]["parameters"].is_array());
    }

    async fn invalid_bodies_are_400_naming_every_field(app) {
        let r = create(&app, Some(&app.key), "", &json!({"displayName": " ", "email": "nope"})).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!(["displayName", "email"]));
        let r = create(&app, Some(&app.key), "", &json!({})).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!(["displayName", "email"]));
        let r = app.send("POST", "/rest/servicedeskapi/customer", Some(&app.key), Some("{not json")).await;
        assert_eq!(r.status, 400);
        assert!(r.body["errorMessage"].is_string());
    }

    async fn a_customer_is_an_external_user_and_blocking_it_makes_it_inactive(app) {
        let c = create(&app, Some(&app.key), "", &fred()).await.body;
        let users = app.get(&format!("/api/v1/external-users?channelIds={}", app.email_channel_id)).await;
        let list = users.body.as_array().unwrap();
        assert_eq!(list.len(), 1);
        let u = &list[0];
        assert_eq!(u["identifier"], "fred@example.com");
        assert_eq!(u["name"], "Fred F. User");
        assert!(c["accountId"].as_str().unwrap().ends_with(&u["id"].as_str().unwrap().replace('-', "")));

        let p = app.patch(&format!("/api/v1/external-users/{}", u["id"].as_str().unwrap()), &json!({"blocked": true})).await;
        assert_eq!(p.status, 200, "{:?}", p.body);
        let listed = app.get(&format!("/rest/servicedeskapi/servicedesk/{}/customer", app.workspace_id)).await;
        assert_eq!(listed.body["values"][0]["active"], false);

        // And an external user created over seed 001 on the e-mail channel is a customer here.
        app.external_user("jane@example.com", "Jane Doe").await;
        let listed = app.get(&format!("/rest/servicedeskapi/servicedesk/{}/customer?query=jane", app.workspace_id)).await;
        assert_eq!(listed.body["size"], 1);
        assert_eq!(listed.body["values"][0]["emailAddress"], "jane@example.com");
    }

    async fn customers_are_listed_with_start_and_limit(app) {
        for i in 0..3 {
            let r = create(&app, Some(&app.key), "", &json!({"displayName": format!("Customer {i}"), "email": format!("c{i}@example.com")})).await;
            assert_eq!(r.status, 201);
        }
        let path = format!("/rest/servicedeskapi/servicedesk/{}/customer", app.workspace_id);
        let r = app.get(&format!("{path}?start=0&limit=2")).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["size"], 2);
        assert_eq!(r.body["start"], 0);
        assert_eq!(r.body["limit"], 2);
        assert_eq!(r.body["isLastPage"], false);
        assert_eq!(r.body["_links"]["base"], format!("{}/rest/servicedeskapi", app.base));
        assert_eq!(r.body["_links"]["next"], format!("{}{path}?start=2&limit=2", app.base));
        let r = app.get(&format!("{path}?start=2&limit=2")).await;
        assert_eq!(r.body["size"], 1);
        assert_eq!(r.body["isLastPage"], true);
        assert_eq!(r.body["values"][0]["displayName"], "Customer 2");
        assert!(r.body["_links"]["prev"].is_string());
        assert_eq!(app.get(&format!("{path}?limit=0")).await.status, 400);
        let other = app.get("/rest/servicedeskapi/servicedesk/3c90c3cc-0d44-4b50-8888-8dd25736052a/customer").await;
        assert_eq!(other.status, 404);
        assert!(other.body["errorMessage"].is_string());
    }

    async fn another_workspaces_account_ids_are_not_found(app) {
        let c = create(&app, Some(&app.key), "", &fred()).await.body;
        let (_, other_key, _) = app.other_workspace().await;
        let r = app.send("GET", &format!("/rest/api/2/user?accountId={}", c["accountId"].as_str().unwrap()), Some(&other_key), None).await;
        assert_eq!(r.status, 404);
    }

    async fn server_info_is_public_and_reports_jira_cloud_version_numbers(app) {
        for path in ["/rest/api/2/serverInfo", "/rest/api/3/serverInfo"] {
            let r = app.send("GET", path, None, None).await;
            assert_eq!(r.status, 200, "{path}: {:?}", r.body);
            assert_eq!(r.body["baseUrl"], app.base.as_str());
            assert_eq!(r.body["version"], "1001.0.0");
            assert_eq!(r.body["versionNumbers"], json!([1001, 0, 0]));
            assert_eq!(r.body["deploymentType"], "Cloud");
            assert!(r.body["buildNumber"].is_i64());
            assert!(r.body["buildDate"].is_string());
            assert!(r.body["serverTime"].as_str().unwrap().ends_with('Z'));
            assert_eq!(r.body["scmInfo"], "");
            assert_eq!(r.body["serverTitle"], "Frontdesk");
        }
    }

    async fn info_and_service_desks_show_the_workspace_as_its_one_desk(app) {
        let info = app.get("/rest/servicedeskapi/info").await;
        assert_eq!(info.status, 200, "{:?}", info.body);
        assert!(info.body["version"].is_string());
        assert!(info.body["platformVersion"].is_string());
        assert_eq!(info.body["isLicensedForUse"], true);
        assert!(info.body["_links"]["self"].as_str().unwrap().starts_with(&app.base));
        assert_eq!(app.send("GET", "/rest/servicedeskapi/info", None, None).await.status, 401);

        let list = app.get("/rest/servicedeskapi/servicedesk").await;
        assert_eq!(list.status, 200, "{:?}", list.body);
        assert_eq!(list.body["size"], 1);
        assert_eq!(list.body["isLastPage"], true);
        let desk = &list.body["values"][0];
        assert_eq!(desk["id"], app.workspace_id.as_str());
        assert_eq!(desk["projectKey"], "FD");
        assert!(desk["projectId"].is_string());
        assert!(desk["projectName"].is_string());
        let self_link = format!("{}/rest/servicedeskapi/servicedesk/{}", app.base, app.workspace_id);
        assert_eq!(desk["_links"]["self"], self_link.as_str());

        let one = app.get(&format!("/rest/servicedeskapi/servicedesk/{}", app.workspace_id)).await;
        assert_eq!(one.status, 200, "{:?}", one.body);
        assert_eq!(&one.body, desk);
        for other in ["3c90c3cc-0d44-4b50-8888-8dd25736052a", "1"] {
            let r = app.get(&format!("/rest/servicedeskapi/servicedesk/{other}")).await;
            assert_eq!(r.status, 404, "{other}");
            assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.servicedesk.not.found");
        }
        let agent = agent_key(&app).await;
        assert_eq!(app.send("GET", "/rest/servicedeskapi/servicedesk", Some(&agent), None).await.status, 200);
        assert_eq!(app.get("/rest/servicedeskapi/servicedesk?start=1").await.body["size"], 0);
    }

    async fn adding_or_removing_desk_customers_checks_every_account(app) {
        let fred_id = create(&app, Some(&app.key), "", &fred()).await.body["accountId"].as_str().unwrap().to_owned();
        let path = desk_path(&app);
        for method in ["POST", "DELETE"] {
            let r = app.send(method, &path, Some(&app.key), Some(&json!({"accountIds": [fred_id]}).to_string())).await;
            assert_eq!(r.status, 204, "{method}: {:?}", r.body);
            let r = app.send(method, &path, Some(&app.key), Some(&json!({"usernames": [fred_id]}).to_string())).await;
            assert_eq!(r.status, 204, "{method} usernames: {:?}", r.body);
            let unknown = format!("qm:{}:{}", app.workspace_id, uuid::Uuid::new_v4().simple());
            let body = json!({"accountIds": [fred_id, unknown, "nobody"]}).to_string();
            let r = app.send(method, &path, Some(&app.key), Some(&body)).await;
            assert_eq!(r.status, 400, "{method}: {:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!(["accountIds[1]", "accountIds[2]"]));
            let r = app.send(method, &path, Some(&app.key), Some("{}")).await;
            assert_eq!(r.status, 400);
            let other = "/rest/servicedeskapi/servicedesk/3c90c3cc-0d44-4b50-8888-8dd25736052a/customer";
            let r = app.send(method, other, Some(&app.key), Some(&json!({"accountIds": [fred_id]}).to_string())).await;
            assert_eq!(r.status, 404);
            assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.servicedesk.not.found");
            let r = app.send(method, &path, None, Some(&json!({"accountIds": [fred_id]}).to_string())).await;
            assert_eq!(r.status, 401);
        }
        // Still a customer afterwards: removal never deletes.
        assert_eq!(app.get(&path).await.body["size"], 1);
        // The external user of another channel is no customer.
        let (_, other_key, _) = app.other_workspace().await;
        let theirs = create(&app, Some(&other_key), "", &fred()).await.body["accountId"].as_str().unwrap().to_owned();
        let r = app.send("POST", &path, Some(&app.key), Some(&json!({"accountIds": [theirs]}).to_string())).await;
        assert_eq!(r.status, 400);
    }

    async fn the_older_full_name_key_names_the_customer_as_atlassian_python_api_sends_it(app) {
        let r = create(&app, Some(&app.key), "", &json!({"fullName": "Fred F. User", "email": "fred@example.com"})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["displayName"], "Fred F. User");
        // Its rules are displayName's, reported under the key the client sent.
        let r = create(&app, Some(&app.key), "", &json!({"fullName": "  ", "email": "wilma@example.com"})).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!(["fullName"]));
        let both = json!({"displayName": "Wilma", "fullName": "Wilma F.", "email": "wilma@example.com"});
        let r = create(&app, Some(&app.key), "", &both).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!(["fullName"]));
    }

    async fn desk_customers_accept_both_lists_when_one_is_empty_as_atlassian_python_api_sends_them(app) {
        let fred_id = create(&app, Some(&app.key), "", &fred()).await.body["accountId"].as_str().unwrap().to_owned();
        let path = desk_path(&app);
        for method in ["POST", "DELETE"] {
            for body in [json!({"usernames": [], "accountIds": [fred_id]}), json!({"usernames": [fred_id], "accountIds": []})] {
                let r = app.send(method, &path, Some(&app.key), Some(&body.to_string())).await;
                assert_eq!(r.status, 204, "{method} {body}: {:?}", r.body);
            }
            let unknown = format!("qm:{}:{}", app.workspace_id, uuid::Uuid::new_v4().simple());
            let body = json!({"usernames": [unknown], "accountIds": []}).to_string();
            let r = app.send(method, &path, Some(&app.key), Some(&body)).await;
            assert_eq!(r.status, 400, "{method}: {:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!(["usernames[0]"]));
        }
    }

    async fn display_name_follows_jsm_limits_not_seed_001s(app) {
        let short = create(&app, Some(&app.key), "", &json!({"displayName": "Al", "email": "al@example.com"})).await;
        assert_eq!(short.status, 201, "{:?}", short.body);
        assert_eq!(short.body["displayName"], "Al");
        let long = "é".repeat(255);
        let r = create(&app, Some(&app.key), "", &json!({"displayName": long, "email": "long@example.com"})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        for bad in [json!(""), json!("   "), json!("x".repeat(256)), json!(7)] {
            let r = create(&app, Some(&app.key), "", &json!({"displayName": bad, "email": "bad@example.com"})).await;
            assert_eq!(r.status, 400, "{bad}");
            assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!(["displayName"]));
        }
        // Seed 001's own rule still holds on its own contract.
        let r = app.post("/api/v1/external-users", &json!({
            "channelId": app.email_channel_id, "externalId": null, "identifier": "x@example.com",
            "name": "Al", "tierId": null, "externalUserGroupId": null
        })).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
    }

    async fn an_agent_key_is_forbidden_before_its_body_is_read(app) {
        let agent = agent_key(&app).await;
        for body in ["{not json", "{}", r#"{"displayName": "", "email": "nope"}"#] {
            let r = app.send("POST", "/rest/servicedeskapi/customer", Some(&agent), Some(body)).await;
            assert_eq!(r.status, 403, "{body}: {:?}", r.body);
        }
    }

    async fn a_customers_limit_above_the_maximum_is_capped(app) {
        create(&app, Some(&app.key), "", &fred()).await;
        let r = app.get(&format!("{}?limit=1000", desk_path(&app))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["limit"], 100);
        assert_eq!(r.body["size"], 1);
        assert_eq!(app.get(&format!("{}?limit=0", desk_path(&app))).await.status, 400);
    }

    async fn unknown_methods_are_405_in_the_jsm_envelope(app) {
        let paths = [
            "/rest/servicedeskapi/customer".to_owned(),
            desk_path(&app),
            "/rest/servicedeskapi/request/FD-1/participant".to_owned(),
            "/rest/servicedeskapi/servicedesk".to_owned(),
            "/rest/servicedeskapi/info".to_owned(),
            "/rest/api/2/serverInfo".to_owned(),
            "/rest/api/2/user".to_owned(),
        ];
        for path in paths {
            let r = app.send("PATCH", &path, Some(&app.key), Some("{}")).await;
            assert_eq!(r.status, 405, "{path}");
            assert!(r.body["errorMessage"].is_string(), "{path}: {:?}", r.body);
            assert!(r.body["i18nErrorMessage"]["i18nKey"].is_string());
        }
    }
}
