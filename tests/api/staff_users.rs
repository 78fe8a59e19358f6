//! Seed 003: staff users over `/api/v1/suser` in XML and JSON, invitations and sign-in.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};

/// The seed's own POST example, verbatim.
const SEED_XML: &str = "<User>
<CompanyId>0</CompanyId>
<Email>String</Email>
<ExternalId>String</ExternalId>
<FirstName>String</FirstName>
<Folders>
<Id>00000000-0000-0000-0000-000000000000</Id>
</Folders>
<Groups>
<Id>00000000-0000-0000-0000-000000000000</Id>
</Groups>
<Id>00000000-0000-0000-0000-000000000000</Id>
<IntegrationKey>String</IntegrationKey>
<LastName>String</LastName>
<Password>String</Password>
<Status>String</Status>
<WebsiteRole>String</WebsiteRole>
</User>";

pub struct Raw {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl Raw {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The text of the first `<name>` element.
    pub fn xml(&self, name: &str) -> Option<String> {
        let open = format!("<{name}>");
        let start = self.text.find(&open)? + open.len();
        let end = self.text[start..].find(&format!("</{name}>"))?;
        Some(self.text[start..start + end].to_owned())
    }

    /// Every `<FieldName>` in the body, in order.
    pub fn xml_field_names(&self) -> Vec<String> {
        self.text
            .split("<FieldName>")
            .skip(1)
            .filter_map(|s| s.split("</FieldName>").next())
            .map(str::to_owned)
            .collect()
    }
}

pub async fn raw(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: Option<&str>,
    content_type: Option<&str>,
    body: Option<String>,
) -> Raw {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method, format!("{}{}", app.base, path));
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(body) = body {
        req = req.body(body);
    }
    let answer = crate::helpers::exchange(req).await.unwrap();
    let content_type = answer.content_type().unwrap_or_default().to_owned();
    Raw { status: answer.status, content_type, text: answer.text }
}

fn seed_xml_filled(email: &str, role: &str) -> String {
    SEED_XML
        .replace("<Email>String</Email>", &format!("<Email>{email}</Email>"))
        .replace("<ExternalId>String</ExternalId>", "<ExternalId>EMP-1</ExternalId>")
        .replace("<FirstName>String</FirstName>", "<FirstName>Ann</FirstName>")
        .replace("<LastName>String</LastName>", "<LastName>Lee</LastName>")
        .replace("<Password>String</Password>", "<Password>correct horse</Password>")
        .replace("<WebsiteRole>String</WebsiteRole>", &format!("<WebsiteRole>{role}</WebsiteRole>"))
}

async fn collection(app: &TestApp, kind: &str, name: &str) -> String {
    let r = app.post(&format!("/api/v1/staff-{kind}"), &json!({"name": name})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn create_json(app: &TestApp, body: Value) -> Raw {
    raw(app, "POST", "/api/v1/suser", Some(&app.key), Some("application/json"), Some(body.to_string())).await
}

/// Creates a user through the App (to get its invitation token) and returns (id, token).
async fn invited(app: &TestApp, email: &str, password: Option<&str>) -> (uuid::Uuid, String) {
    use frontdesk::app::{Principal, StaffInvite};
    use frontdesk::domain::{EmailAddress, Password, Role};
    let who = Principal::Operator { workspace_id: app.workspace_id.parse().unwrap() };
    let invite = StaffInvite {
        email: EmailAddress::parse(email).unwrap(),
        first_name: None,
        last_name: None,
        external_id: None,
        role: Role::Agent,
        role_named_user: false,
        password: password.map(|p| Password::parse(p).unwrap()),
        group_ids: vec![],
        folder_ids: vec![],
    };
    let created = app.app.invite_staff_user(&who, invite).await.unwrap();
    (created.user.id, created.invitation_token)
}

on_both_backends! {
    async fn the_seed_xml_example_parses_and_reports_every_placeholder_at_once(app) {
        let r = raw(&app, "POST", "/api/v1/suser", Some(&app.key), None, Some(SEED_XML.into())).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.content_type.starts_with("application/xml"), "{}", r.content_type);
        assert!(r.text.contains("<UserResponse><ResponseStatus><ErrorCode>ValidationException</ErrorCode>"), "{}", r.text);
        // Email "String" is no address, WebsiteRole "String" no role, Password "String" six characters
        // (eight at least); the nil GUIDs in Groups/Folders and Id, CompanyId, Status are placeholders.
        assert_eq!(r.xml_field_names(), ["Email", "WebsiteRole", "Password"]);
        assert!(r.text.contains("<Errors><ResponseError><ErrorCode>Email</ErrorCode><FieldName>Email</FieldName>"), "{}", r.text);
    }

    async fn the_filled_in_seed_example_creates_an_invited_user_in_xml(app) {
        let group = collection(&app, "groups", "Field team").await;
        let folder = collection(&app, "folders", "Inspections").await;
        let body = seed_xml_filled("ann@example.com", "Admin")
            .replacen("<Id>00000000-0000-0000-0000-000000000000</Id>", &format!("<Id>{folder}</Id>"), 1)
            .replacen("<Groups>\n<Id>00000000-0000-0000-0000-000000000000</Id>", &format!("<Groups>\n<Id>{group}</Id>"), 1);
        let r = raw(&app, "POST", "/api/v1/suser", Some(&app.key), Some("application/xml"), Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.content_type.starts_with("application/xml"));
        assert_eq!(r.xml("Status").as_deref(), Some("Invited"));
        assert!(r.text.contains("<UserResponse><User><Id>"), "{}", r.text);
        let id = r.xml("Id").unwrap();

        let got = raw(&app, "GET", &format!("/api/v1/suser?Id={id}&format=json"), Some(&app.key), None, None).await;
        assert_eq!(got.status, 200, "{}", got.text);
        let u = &got.json()["User"];
        assert_eq!(u["Email"], "ann@example.com");
        assert_eq!(u["WebsiteRole"], "Admin");
        assert_eq!(u["ExternalId"], "EMP-1");
        assert_eq!(u["Status"], "Invited");
        assert_eq!(u["Groups"], json!([{"Id": group}]));
        assert_eq!(u["Folders"], json!([{"Id": folder}]));
    }

    async fn json_in_json_out_and_lookup_by_email_and_external_id(app) {
        let r = create_json(&app, json!({"Email": "Bob@Example.com", "FirstName": "Bob", "ExternalId": "b-1", "WebsiteRole": "User"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.content_type.starts_with("application/json"));
        let body = r.json();
        assert_eq!(body["User"]["Status"], "Invited");
        let id = body["User"]["Id"].as_str().unwrap().to_owned();
        for query in ["Email=bob%40example.com", "ExternalId=b-1", &format!("Id={id}")] {
            let got = raw(&app, "GET", &format!("/api/v1/suser?{query}"), Some(&app.key), None, None).await;
            assert_eq!(got.status, 200, "{query}: {}", got.text);
            // No Accept and no Content-Type: XML, as the seed assumes.
            assert_eq!(got.xml("Id").as_deref(), Some(id.as_str()));
            // The role reads back as the client wrote it.
            assert_eq!(got.xml("WebsiteRole").as_deref(), Some("User"));
        }
    }

    async fn accept_is_honoured_by_order_and_quality_and_xml_stays_the_default(app) {
        let search = |accept: Option<&'static str>| {
            let app = &app;
            async move {
                let mut req = app.client.get(format!("{}/api/v1/suser/search", app.base)).header("authorization", &app.key);
                if let Some(accept) = accept {
                    req = req.header("accept", accept);
                }
                let answer = crate::helpers::exchange(req).await.unwrap();
                assert_eq!(answer.status, 200, "{accept:?}: {}", answer.text);
                answer.content_type().unwrap_or_default().split(';').next().unwrap().to_owned()
            }
        };
        for (accept, expected) in [
            (None, "application/xml"),
            (Some("application/xml, application/json"), "application/xml"),
            (Some("application/json, application/xml"), "application/json"),
            (Some("application/json;q=0.5, application/xml;q=0.9"), "application/xml"),
            (Some("application/xml;q=0.1, application/json"), "application/json"),
            (Some("text/html, application/json;q=0.8, */*;q=0.1"), "application/json"),
            (Some("application/json;q=0, application/xml;q=0.2"), "application/xml"),
            (Some("*/*"), "application/xml"),
            (Some("text/xml"), "application/xml"),
        ] {
            assert_eq!(search(accept).await, expected, "Accept: {accept:?}");
        }
    }

    async fn every_invalid_field_is_listed_at_once_in_json(app) {
        let r = create_json(&app, json!({
            "Email": "not-an-email", "ExternalId": "x".repeat(51), "WebsiteRole": "Owner",
            "Password": "short", "Groups": ["nope"], "Folders": [{"Id": 5}], "FirstName": "f".repeat(101)
        })).await;
        assert_eq!(r.status, 400, "{}", r.text);
        let status = &r.json()["ResponseStatus"];
        assert_eq!(status["ErrorCode"], "ValidationException");
        let fields: Vec<&str> = status["Errors"].as_array().unwrap().iter().map(|e| e["FieldName"].as_str().unwrap()).collect();
        assert_eq!(fields, ["Email", "FirstName", "ExternalId", "WebsiteRole", "Password", "Groups", "Folders"]);
        let codes: Vec<&str> = status["Errors"].as_array().unwrap().iter().map(|e| e["ErrorCode"].as_str().unwrap()).collect();
        assert_eq!(codes[0], "Email");
        assert_eq!(codes[2], "MaximumLength");
        assert_eq!(codes[4], "MinimumLength");
    }

    async fn email_is_required(app) {
        let r = create_json(&app, json!({"FirstName": "Ann"})).await;
        assert_eq!(r.status, 400);
        let e = &r.json()["ResponseStatus"]["Errors"][0];
        assert_eq!(e["FieldName"], "Email");
        assert_eq!(e["ErrorCode"], "NotEmpty");
    }

    async fn external_id_of_50_characters_is_accepted(app) {
        let r = create_json(&app, json!({"Email": "fifty@example.com", "ExternalId": "x".repeat(50)})).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    async fn taken_email_any_case_and_unknown_groups_are_reported_together(app) {
        assert_eq!(create_json(&app, json!({"Email": "dup@example.com", "ExternalId": "d-1"})).await.status, 200);
        let r = create_json(&app, json!({
            "Email": "DUP@example.com", "ExternalId": "d-1",
            "Groups": [{"Id": "3c90c3cc-0d44-4b50-8888-8dd25736052a"}],
            "Folders": ["4c90c3cc-0d44-4b50-8888-8dd25736052a"]
        })).await;
        assert_eq!(r.status, 400, "{}", r.text);
        let errors = r.json()["ResponseStatus"]["Errors"].clone();
        let fields: Vec<&str> = errors.as_array().unwrap().iter().map(|e| e["FieldName"].as_str().unwrap()).collect();
        assert_eq!(fields, ["Email", "ExternalId", "Groups", "Folders"]);
        assert_eq!(errors[0]["ErrorCode"], "AlreadyExists");
        assert_eq!(errors[2]["ErrorCode"], "NotFound");
    }

    async fn malicious_xml_is_refused_cleanly(app) {
        let billion = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]><User><Email>&lol2;</Email></User>";
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><User><Email>&xxe;</Email></User>";
        let undeclared = "<User><Email>&xxe;@example.com</Email></User>";
        let deep = format!("<User>{}{}</User>", "<Groups>".repeat(100), "</Groups>".repeat(100));
        let huge = format!("<User><FirstName>{}</FirstName></User>", "a".repeat(2 * 1024 * 1024));
        let broken = "<User><Email>a@b.co</User>".to_owned();
        for (name, body) in [("billion laughs", billion.to_owned()), ("xxe", xxe.to_owned()), ("undeclared", undeclared.to_owned()),
                             ("deep", deep), ("huge", huge), ("broken", broken)] {
            let r = raw(&app, "POST", "/api/v1/suser", Some(&app.key), Some("application/xml"), Some(body)).await;
            assert_eq!(r.status, 400, "{name}: {}", r.text);
            assert!(r.text.contains("<ResponseStatus><ErrorCode>ValidationException</ErrorCode>"), "{name}: {}", r.text);
            assert_eq!(r.xml_field_names(), ["Body"], "{name}");
            assert!(!r.text.contains("root:"), "{name}");
        }
    }

    async fn a_wrong_method_is_405_in_the_envelope(app) {
        let r = raw(&app, "PUT", "/api/v1/suser", Some(&app.key), None, None).await;
        assert_eq!(r.status, 405);
        assert_eq!(r.xml("ErrorCode").as_deref(), Some("MethodNotAllowed"));
        let r = raw(&app, "POST", "/api/v1/suser/search?format=json", Some(&app.key), None, None).await;
        assert_eq!(r.status, 405);
        assert_eq!(r.json()["ResponseStatus"]["ErrorCode"], "MethodNotAllowed");
    }

    async fn the_seed_example_with_email_role_and_password_filled_in_passes(app) {
        let body = SEED_XML
            .replace("<Email>String</Email>", "<Email>fixture@example.com</Email>")
            .replace("<WebsiteRole>String</WebsiteRole>", "<WebsiteRole>Agent</WebsiteRole>")
            .replace("<Password>String</Password>", "<Password>String12</Password>");
        let r = raw(&app, "POST", "/api/v1/suser", Some(&app.key), None, Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.xml("Status").as_deref(), Some("Invited"));
    }

    async fn a_user_beside_other_keys_is_unwrapped_in_json_and_xml(app) {
        let body = json!({"ProviderId": 0, "IntegrationKey": app.key, "User": {"Email": "wrapped@example.com", "FirstName": "Wren"}});
        let r = raw(&app, "POST", "/api/v1/suser", None, Some("application/json"), Some(body.to_string())).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let id = r.json()["User"]["Id"].as_str().unwrap().to_owned();
        let got = raw(&app, "GET", &format!("/api/v1/suser?Id={id}&format=json"), Some(&app.key), None, None).await;
        assert_eq!(got.json()["User"]["FirstName"], "Wren");

        let xml = format!("<UserRequest><ProviderId>0</ProviderId><IntegrationKey>{}</IntegrationKey>\
                           <SUser><Email>wrapped-xml@example.com</Email></SUser></UserRequest>", app.key);
        let r = raw(&app, "POST", "/api/v1/suser", None, Some("application/xml"), Some(xml)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let two = "<UserRequest><User><Email>a@example.com</Email></User><User><Email>b@example.com</Email></User></UserRequest>";
        let r = raw(&app, "POST", "/api/v1/suser", Some(&app.key), Some("application/xml"), Some(two.into())).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.xml_field_names(), ["Body"]);
    }

    async fn curl_default_media_types_are_sniffed(app) {
        for ct in ["application/x-www-form-urlencoded", "text/plain; charset=utf-8", "application/octet-stream"] {
            let email = format!("json-{}@example.com", ct.len());
            let r = raw(&app, "POST", "/api/v1/suser", Some(&app.key), Some(ct), Some(json!({"Email": email}).to_string())).await;
            assert_eq!(r.status, 200, "{ct}: {}", r.text);
            assert_eq!(r.json()["User"]["Status"], "Invited", "answered in the body's format");
            let xml = format!("  <User><Email>xml-{}@example.com</Email></User>", ct.len());
            let r = raw(&app, "POST", "/api/v1/suser", Some(&app.key), Some(ct), Some(xml)).await;
            assert_eq!(r.status, 200, "{ct}: {}", r.text);
            assert_eq!(r.xml("Status").as_deref(), Some("Invited"));
        }
    }

    async fn an_agent_key_is_forbidden_before_its_body_is_read(app) {
        let agent = app.post("/api/v1/api-keys", &json!({"name": "agent", "role": "agent"})).await.body["key"].as_str().unwrap().to_owned();
        for (ct, body) in [("application/json", "{not json"), ("application/json", r#"{"Email": "nope"}"#), ("application/xml", "<User><Email>")] {
            let r = raw(&app, "POST", "/api/v1/suser", Some(&agent), Some(ct), Some(body.into())).await;
            assert_eq!(r.status, 403, "{body}: {}", r.text);
        }
    }

    async fn id_parameters_accept_any_guid_with_or_without_dashes(app) {
        let (id, _) = invited(&app, "guid@example.com", None).await;
        for form in [id.to_string(), id.simple().to_string(), id.to_string().to_uppercase()] {
            let r = raw(&app, "GET", &format!("/api/v1/suser?Id={form}&format=json"), Some(&app.key), None, None).await;
            assert_eq!(r.status, 200, "{form}: {}", r.text);
        }
        // A GUID outside versions 1-8 names nobody here but is a well-formed GUID: 404, not 400.
        let r = raw(&app, "GET", "/api/v1/suser?Id=12345678-1234-0234-c234-123456789012&format=json", Some(&app.key), None, None).await;
        assert_eq!(r.status, 404, "{}", r.text);
        let r = raw(&app, "DELETE", &format!("/api/v1/suser?Id={}&format=json", id.simple()), Some(&app.key), None, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = raw(&app, "GET", "/api/v1/suser?Id=not-a-guid&format=json", Some(&app.key), None, None).await;
        assert_eq!(r.status, 400);
    }

    async fn other_media_types_are_415(app) {
        let r = raw(&app, "POST", "/api/v1/suser", Some(&app.key), Some("text/plain"), Some("Email=a@b.co".into())).await;
        assert_eq!(r.status, 415);
        assert_eq!(r.xml("ErrorCode").as_deref(), Some("UnsupportedMediaType"));
    }

    async fn integration_key_in_query_or_body_authenticates_and_nothing_else_does(app) {
        let body = format!("<User><Email>ik@example.com</Email><IntegrationKey>{}</IntegrationKey></User>", app.key);
        let r = raw(&app, "POST", "/api/v1/suser", None, None, Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = raw(&app, "GET", &format!("/api/v1/suser?Email=ik@example.com&IntegrationKey={}&ProviderId=7", app.key), None, None, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = raw(&app, "GET", "/api/v1/suser?Email=ik@example.com", None, None, None).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.xml("ErrorCode").as_deref(), Some("Unauthorized"));
        let r = raw(&app, "POST", "/api/v1/suser", None, None, Some(SEED_XML.into())).await;
        assert_eq!(r.status, 401, "the seed's placeholder key is no key");
    }

    async fn agent_keys_may_read_but_not_create_or_delete(app) {
        let agent = app.post("/api/v1/api-keys", &json!({"name": "agent", "role": "agent"})).await.body["key"].as_str().unwrap().to_owned();
        let r = raw(&app, "POST", "/api/v1/suser", Some(&agent), Some("application/json"), Some(json!({"Email": "x@example.com"}).to_string())).await;
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.json()["ResponseStatus"]["ErrorCode"], "Forbidden");
        let r = raw(&app, "GET", "/api/v1/suser/search", Some(&agent), None, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    async fn get_requires_a_key_and_unknown_users_are_404(app) {
        let r = raw(&app, "GET", "/api/v1/suser?format=json", Some(&app.key), None, None).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["ResponseStatus"]["Errors"][0]["FieldName"], "Id");
        let r = raw(&app, "GET", "/api/v1/suser?Id=3c90c3cc-0d44-4b50-8888-8dd25736052a", Some(&app.key), None, None).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.xml("ErrorCode").as_deref(), Some("NotFound"));
        let r = raw(&app, "GET", "/api/v1/suser?Id=nope", Some(&app.key), None, None).await;
        assert_eq!(r.status, 400);
    }

    async fn delete_removes_the_user(app) {
        let r = create_json(&app, json!({"Email": "gone@example.com"})).await;
        let id = r.json()["User"]["Id"].as_str().unwrap().to_owned();
        let d = raw(&app, "DELETE", &format!("/api/v1/suser?Id={id}"), Some(&app.key), None, None).await;
        assert_eq!(d.status, 200, "{}", d.text);
        let g = raw(&app, "GET", &format!("/api/v1/suser?Id={id}"), Some(&app.key), None, None).await;
        assert_eq!(g.status, 404);
        let d = raw(&app, "DELETE", &format!("/api/v1/suser?Id={id}"), Some(&app.key), None, None).await;
        assert_eq!(d.status, 404);
    }

    async fn search_pages_from_zero_and_filters_by_name_email_and_status(app) {
        for (i, name) in ["Ann", "Anna", "Bob"].iter().enumerate() {
            let r = create_json(&app, json!({"Email": format!("u{i}@example.com"), "FirstName": name, "LastName": "Smith"})).await;
            assert_eq!(r.status, 200);
        }
        let r = raw(&app, "GET", "/api/v1/suser/search?PageSize=2&format=json", Some(&app.key), None, None).await;
        let b = r.json();
        assert_eq!(b["TotalRows"], 3);
        assert_eq!(b["Users"].as_array().unwrap().len(), 2);
        let r = raw(&app, "GET", "/api/v1/suser/search?PageSize=2&PageNo=1&format=json", Some(&app.key), None, None).await;
        assert_eq!(r.json()["Users"][0]["FirstName"], "Bob");
        let r = raw(&app, "GET", "/api/v1/suser/search?Name=ann%20smith&format=json", Some(&app.key), None, None).await;
        assert_eq!(r.json()["TotalRows"], 1);
        let r = raw(&app, "GET", "/api/v1/suser/search?Name=ann&Status=Invited&Email=example&format=json", Some(&app.key), None, None).await;
        assert_eq!(r.json()["TotalRows"], 2);
        let r = raw(&app, "GET", "/api/v1/suser/search?Status=Active&format=json", Some(&app.key), None, None).await;
        assert_eq!(r.json()["TotalRows"], 0);
        let r = raw(&app, "GET", "/api/v1/suser/search", Some(&app.key), None, None).await;
        assert!(r.text.contains("<UserSearchResponse><Users><User><Id>"), "{}", r.text);
        let r = raw(&app, "GET", "/api/v1/suser/search?PageSize=251&PageNo=-1&Status=Gone&format=json", Some(&app.key), None, None).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["ResponseStatus"]["Errors"].as_array().unwrap().len(), 3);
    }

    async fn accepting_the_invitation_activates_and_allows_sign_in(app) {
        let (id, token) = invited(&app, "new@example.com", None).await;
        assert!(app.app.sign_in_staff("new@example.com", "a fine password").await.is_err(), "invited users cannot sign in");
        let r = raw(&app, "POST", "/api/v1/suser/invitation", None, Some("application/json"),
                    Some(json!({"Token": token, "Password": "a fine password"}).to_string())).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["User"]["Status"], "Active");
        let user = app.app.sign_in_staff("NEW@example.com", "a fine password").await.expect("sign in");
        assert_eq!(user.id, id);
        assert!(app.app.sign_in_staff("new@example.com", "wrong password").await.is_err());
        // One use only.
        let again = raw(&app, "POST", "/api/v1/suser/invitation", None, None,
                        Some(format!("<User><Token>{token}</Token><Password>another one</Password></User>"))).await;
        assert_eq!(again.status, 404, "{}", again.text);
    }

    async fn an_initial_password_lets_the_invitation_be_accepted_without_one(app) {
        let (_, token) = invited(&app, "pre@example.com", Some("chosen early")).await;
        let r = raw(&app, "POST", "/api/v1/suser/invitation", None, Some("application/json"), Some(json!({"Token": token}).to_string())).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(app.app.sign_in_staff("pre@example.com", "chosen early").await.is_ok());
    }

    async fn accepting_needs_a_password_and_a_real_token(app) {
        let (_, token) = invited(&app, "nopw@example.com", None).await;
        let r = raw(&app, "POST", "/api/v1/suser/invitation", None, Some("application/json"), Some(json!({"Token": token}).to_string())).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.json()["ResponseStatus"]["Errors"][0]["FieldName"], "Password");
        let r = raw(&app, "POST", "/api/v1/suser/invitation", None, Some("application/json"), Some(json!({"Token": "fdi_nope", "Password": "long enough"}).to_string())).await;
        assert_eq!(r.status, 404);
    }

    async fn disabled_users_cannot_sign_in(app) {
        let (id, token) = invited(&app, "off@example.com", None).await;
        app.app.accept_invitation(&token, Some(frontdesk::domain::Password::parse("a fine password").unwrap())).await.unwrap();
        assert!(app.app.sign_in_staff("off@example.com", "a fine password").await.is_ok());
        let who = frontdesk::app::Principal::Operator { workspace_id: app.workspace_id.parse().unwrap() };
        let user = app.app.disable_staff_user(&who, id).await.unwrap();
        assert_eq!(user.status, frontdesk::domain::StaffStatus::Disabled);
        assert!(app.app.sign_in_staff("off@example.com", "a fine password").await.is_err());
    }

    async fn staff_groups_and_folders_have_an_admin_api(app) {
        let id = collection(&app, "groups", "Night shift").await;
        let dup = app.post("/api/v1/staff-groups", &json!({"name": "night shift"})).await;
        assert_eq!(dup.status, 409, "{:?}", dup.body);
        let list = app.get("/api/v1/staff-groups").await;
        assert_eq!(list.body.as_array().unwrap().len(), 1);
        assert_eq!(app.get(&format!("/api/v1/staff-folders/{id}")).await.status, 404, "a group is not a folder");
        assert_eq!(app.get(&format!("/api/v1/staff-groups/{id}")).await.body["name"], "Night shift");
        assert_eq!(app.delete(&format!("/api/v1/staff-groups/{id}")).await.status, 200);
        assert_eq!(app.get(&format!("/api/v1/staff-groups/{id}")).await.status, 404);
        let bad = app.post("/api/v1/staff-folders", &json!({"name": "x"})).await;
        assert_eq!(bad.status, 400);
    }
}
