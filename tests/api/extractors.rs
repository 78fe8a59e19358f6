//! What every contract's extractors share: the credential is checked before the body is read, and a
//! path segment that is no id is refused under the parameter's name, each in the contract's envelope.

use crate::helpers::on_both_backends;

on_both_backends! {
    async fn a_request_without_a_credential_is_401_whatever_its_body_says(app) {
        let broken = Some("{not json");
        let r = app.send("POST", "/api/v1/channels", None, broken).await;
        assert_eq!((r.status, r.body["code"].as_u64()), (401, Some(401)), "{:?}", r.body);
        let r = app.send("POST", "/support/tickets/v1", None, broken).await;
        assert_eq!(r.status, 401, "{:?}", r.body);
        assert_eq!(r.body["error"]["status"], "UNAUTHENTICATED");
        let ticket = uuid::Uuid::new_v4();
        let r = app.send("POST", &format!("/v1/crm/tickets/{ticket}/external-users"), None, broken).await;
        assert_eq!((r.status, r.body["statusCode"].as_u64()), (401, Some(401)), "{:?}", r.body);
        let r = app.send("POST", "/rest/servicedeskapi/customer", None, broken).await;
        assert_eq!(r.status, 401, "{:?}", r.body);
        assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.unauthorized");
    }

    async fn a_path_id_that_is_no_uuid_is_400_naming_the_parameter_in_each_envelope(app) {
        let bearer = format!("Bearer {}", app.key);
        let auth = Some(bearer.as_str());
        let r = app.send("GET", "/api/v1/channels/nope", auth, None).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "id");
        assert_eq!(r.body["errors"][0]["message"], "must be a valid UUID");
        let r = app.send("GET", "/support/tickets/v1/nope", auth, None).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["error"]["details"][0]["field"], "id");
        let r = app.send("GET", "/v1/crm/tickets/nope/external-users", auth, None).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "ticketId");
        let ticket = uuid::Uuid::new_v4();
        let r = app.send("DELETE", &format!("/v1/crm/tickets/{ticket}/external-users/nope"), auth, None).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "id");
    }

    async fn a_path_segment_that_is_not_utf8_is_400_in_the_contracts_envelope(app) {
        let bearer = format!("Bearer {}", app.key);
        let auth = Some(bearer.as_str());
        // %C3%28 percent-decodes to bytes that are no UTF-8: axum's own rejection would be plain text.
        let r = app.send("GET", "/api/v1/tiers/%C3%28", auth, None).await;
        assert_eq!((r.status, r.body["code"].as_u64()), (400, Some(400)), "{:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "path");
        let basic = basic_auth(&app);
        let r = app.send("GET", "/rest/servicedeskapi/servicedesk/%C3%28", Some(basic.as_str()), None).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert!(r.body["errorMessage"].as_str().is_some_and(|m| m.contains("UTF-8")), "{:?}", r.body);
    }

    async fn a_request_refused_before_its_body_was_read_closes_its_connection(app) {
        // The server never reads that body; a client reusing the connection would see its next
        // request reset. A body that was read leaves the connection open.
        let r = app.send("POST", "/api/v1/channels", None, Some(r#"{"name": "Chat", "type": "chat"}"#)).await;
        assert_eq!(r.status, 401, "{:?}", r.body);
        assert_eq!(r.header("connection"), Some("close"));
        let bearer = format!("Bearer {}", app.key);
        let r = app.send("POST", "/api/v1/channels", Some(&bearer), Some(r#"{"name": "Chat", "type": "chat"}"#)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.header("connection"), None);
    }

    async fn a_malformed_path_id_without_a_credential_is_401_first(app) {
        let r = app.send("GET", "/api/v1/channels/nope", None, None).await;
        assert_eq!(r.status, 401, "{:?}", r.body);
    }
}

fn basic_auth(app: &crate::helpers::TestApp) -> String {
    use base64::Engine;
    let pair = format!("admin@example.com:{}", app.key);
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}
