//! The settings page over plain HTTP: sign-in, sessions, CSRF, throttle, and each section's forms.
//! (tests/api/browser drives the same page in a real browser.)

use std::collections::HashMap;

use frontdesk::app::{Principal, StaffInvite};
use frontdesk::domain::{EmailAddress, Password, Role};

use crate::helpers::{TestApp, on_both_backends};

pub const PASSWORD: &str = "correct horse battery";

/// Creates an `Active` staff user with `PASSWORD` through the use cases (invite, then accept), as the
/// operator of the test workspace would.
pub async fn staff_user(t: &TestApp, email: &str, role: Role) {
    let workspace_id = t.workspace_id.parse().expect("workspace id");
    let invite = StaffInvite {
        email: EmailAddress::parse(email).expect("email"),
        first_name: None,
        last_name: None,
        external_id: None,
        role,
        role_named_user: false,
        password: None,
        group_ids: Vec::new(),
        folder_ids: Vec::new(),
    };
    let invited = t.app.invite_staff_user(&Principal::Operator { workspace_id }, invite).await.expect("invite");
    t.app
        .accept_invitation(&invited.invitation_token, Some(Password::parse(PASSWORD).expect("password")))
        .await
        .expect("accept");
}

/// An invitation link's token for a new `Invited` staff user.
pub async fn invitation(t: &TestApp, email: &str, role: Role) -> String {
    let workspace_id = t.workspace_id.parse().expect("workspace id");
    let invite = StaffInvite {
        email: EmailAddress::parse(email).expect("email"),
        first_name: None,
        last_name: None,
        external_id: None,
        role,
        role_named_user: false,
        password: None,
        group_ids: Vec::new(),
        folder_ids: Vec::new(),
    };
    t.app.invite_staff_user(&Principal::Operator { workspace_id }, invite).await.expect("invite").invitation_token
}

/// A browser stand-in: keeps cookies, does not follow redirects, reads CSRF tokens from pages.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: HashMap<String, String>,
    /// `Set-Cookie` values of the last response.
    pub set_cookies: Vec<String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of the first `csrf_token` field on the page.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf_token\" value=\"").expect("page has a CSRF field");
        let rest = &self.body[at + "name=\"csrf_token\" value=\"".len()..];
        rest[..rest.find('"').expect("end of value")].to_owned()
    }

    /// The value attribute of the input with `id`.
    pub fn input_value(&self, id: &str) -> Option<String> {
        let at = self.body.find(&format!("id=\"{id}\""))?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[at..tag_end];
        let v = tag.find("value=\"")? + "value=\"".len();
        Some(tag[v..v + tag[v..].find('"')?].to_owned())
    }
}

impl Browser {
    pub fn new(t: &TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { base: t.base.clone(), client, cookies: HashMap::new(), set_cookies: Vec::new() }
    }

    /// A browser whose connections come from `local` (any 127.x address reaches a loopback server),
    /// so the server sees another client address.
    pub fn from_address(t: &TestApp, local: std::net::IpAddr) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(local)
            .build()
            .expect("client");
        Self { base: t.base.clone(), client, cookies: HashMap::new(), set_cookies: Vec::new() }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let req = if cookie.is_empty() { req } else { req.header("cookie", cookie) };
        let res = crate::helpers::exchange(req).await.expect("request");
        self.set_cookies =
            res.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
        for c in &self.set_cookies {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let location = res.headers.get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Page { status: res.status, location, body: res.text }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    /// Posts a form, with `extra` headers.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)], extra: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Signs in through the sign-in form; returns the answer to the form.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let page = self.get("/settings/sign-in").await;
        let csrf = page.csrf();
        self.post("/settings/sign-in", &[("csrf_token", &csrf), ("email", email), ("password", password)], &[]).await
    }
}

on_both_backends! {
    async fn pages_without_a_session_redirect_to_sign_in(t) {
        let mut b = Browser::new(&t);
        for path in ["/settings", "/settings/api-keys", "/settings/channels", "/settings/tiers", "/settings/groups", "/settings/staff"] {
            let page = b.get(path).await;
            assert_eq!(page.status, 303, "{path}");
        }
        assert_eq!(b.get("/settings/api-keys").await.location.as_deref(), Some("/settings/sign-in"));
    }

    async fn sign_in_sets_an_http_only_lax_session_cookie(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        let mut b = Browser::new(&t);
        let form = b.get("/settings/sign-in").await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("<label for=\"sign-in-email\">E-mail"));
        let page = b.sign_in("Ann@Example.com", PASSWORD).await;
        assert_eq!(page.status, 303, "{}", page.body);
        let cookie = b.set_cookies.iter().find(|c| c.starts_with("frontdesk_session=")).expect("session cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/settings"));
        assert!(!cookie.contains("Secure"), "served over plain HTTP: {cookie}");
        let keys = b.get("/settings/api-keys").await;
        assert_eq!(keys.status, 200);
        assert!(keys.body.contains("ann@example.com") && keys.body.contains("Create an API key"));
    }

    async fn wrong_password_is_refused_without_a_session(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        let mut b = Browser::new(&t);
        let page = b.sign_in("ann@example.com", "not the password").await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("The e-mail or password is not right"));
        assert!(b.cookie("frontdesk_session").is_none());
        let unknown = b.sign_in("nobody@example.com", PASSWORD).await;
        assert_eq!(unknown.status, 401, "an unknown address gets the same answer");
    }

    async fn sign_in_is_throttled_after_repeated_failures_even_with_the_right_password(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        let mut b = Browser::new(&t);
        for _ in 0..frontdesk::app::MAX_FAILED_SIGN_INS {
            assert_eq!(b.sign_in("ann@example.com", "wrong password").await.status, 401);
        }
        let page = b.sign_in("ANN@example.com", PASSWORD).await;
        assert_eq!(page.status, 429);
        assert!(page.body.contains("Too many failed attempts"));
        assert!(b.cookie("frontdesk_session").is_none());
        // Another address is not affected.
        staff_user(&t, "bob@example.com", Role::Agent).await;
        assert_eq!(b.sign_in("bob@example.com", PASSWORD).await.status, 303);
    }

    async fn a_successful_sign_in_clears_earlier_failures(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        let mut b = Browser::new(&t);
        for _ in 0..frontdesk::app::MAX_FAILED_SIGN_INS - 1 {
            b.sign_in("ann@example.com", "wrong password").await;
        }
        assert_eq!(b.sign_in("ann@example.com", PASSWORD).await.status, 303);
        let mut other = Browser::new(&t);
        for _ in 0..frontdesk::app::MAX_FAILED_SIGN_INS - 1 {
            other.sign_in("ann@example.com", "wrong password").await;
        }
        assert_eq!(other.sign_in("ann@example.com", PASSWORD).await.status, 303);
    }

    async fn forms_without_the_csrf_token_or_from_another_site_are_rejected(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        let mut b = Browser::new(&t);
        b.sign_in("ann@example.com", PASSWORD).await;
        let page = b.get("/settings/api-keys").await;
        let csrf = page.csrf();
        let without = b.post("/settings/api-keys", &[("name", "Sneaky"), ("role", "admin")], &[]).await;
        assert_eq!(without.status, 403);
        let wrong = b.post("/settings/api-keys", &[("csrf_token", "0000"), ("name", "Sneaky"), ("role", "admin")], &[]).await;
        assert_eq!(wrong.status, 403);
        let foreign = b
            .post("/settings/api-keys", &[("csrf_token", &csrf), ("name", "Sneaky"), ("role", "admin")], &[("origin", "https://evil.example")])
            .await;
        assert_eq!(foreign.status, 403);
        let keys = t.get("/api/v1/api-keys").await;
        assert!(!keys.body.to_string().contains("Sneaky"), "no key was created: {}", keys.body);
        // The sign-in form is protected too.
        let mut fresh = Browser::new(&t);
        let login = fresh.post("/settings/sign-in", &[("email", "ann@example.com"), ("password", PASSWORD)], &[]).await;
        assert_eq!(login.status, 403);
    }

    async fn a_key_created_on_the_page_works_until_it_is_revoked_there(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        let mut b = Browser::new(&t);
        b.sign_in("ann@example.com", PASSWORD).await;
        let csrf = b.get("/settings/api-keys").await.csrf();
        let created = b.post("/settings/api-keys", &[("csrf_token", &csrf), ("name", "CRM sync"), ("role", "agent")], &[]).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let secret = created.input_value("new-key-secret").expect("secret on the page");
        assert!(secret.starts_with("fdk_"));
        assert_eq!(t.send("GET", "/api/v1/external-users", Some(&secret), None).await.status, 200);

        let list = b.get("/settings/api-keys").await;
        assert!(!list.body.contains(&secret), "the secret is shown only once");
        assert!(list.body.contains("CRM sync") && list.body.contains(&secret[..8]) && list.body.contains("ann@example.com"));

        let keys = t.get("/api/v1/api-keys").await;
        let id = keys.body.as_array().expect("keys").iter().find(|k| k["name"] == "CRM sync").expect("key")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let confirm = b.get(&format!("/settings/api-keys/{id}/revoke")).await;
        assert_eq!(confirm.status, 200);
        assert!(confirm.body.contains("cannot be undone"));
        let revoked = b.post(&format!("/settings/api-keys/{id}/revoke"), &[("csrf_token", &confirm.csrf())], &[]).await;
        assert_eq!(revoked.status, 303);
        assert_eq!(t.send("GET", "/api/v1/external-users", Some(&secret), None).await.status, 401);
        assert!(b.get("/settings/api-keys?done=key-revoked").await.body.contains("Revoked"));
    }

    async fn a_key_name_is_required(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        let mut b = Browser::new(&t);
        b.sign_in("ann@example.com", PASSWORD).await;
        let csrf = b.get("/settings/api-keys").await.csrf();
        let page = b.post("/settings/api-keys", &[("csrf_token", &csrf), ("name", "  "), ("role", "agent")], &[]).await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("aria-invalid=\"true\"") && page.body.contains("must be 1 to 100 characters"));
    }

    async fn an_agent_sees_the_page_read_only_and_cannot_create_keys(t) {
        staff_user(&t, "agent@example.com", Role::Agent).await;
        let mut b = Browser::new(&t);
        b.sign_in("agent@example.com", PASSWORD).await;
        let keys = b.get("/settings/api-keys").await;
        assert_eq!(keys.status, 200);
        assert!(keys.body.contains("Only workspace admins can see API keys"));
        assert!(!keys.body.contains("Create an API key"));
        let channels = b.get("/settings/channels").await;
        assert!(channels.body.contains("read-only") && !channels.body.contains("Add channel"));
        let csrf = channels.csrf();
        let refused = b.post("/settings/api-keys", &[("csrf_token", &csrf), ("name", "Mine"), ("role", "admin")], &[]).await;
        assert_eq!(refused.status, 403);
        let channel = b.post("/settings/channels", &[("csrf_token", &csrf), ("name", "Web chat"), ("type", "web")], &[]).await;
        assert_eq!(channel.status, 403);
        let invite = b.post("/settings/staff", &[("csrf_token", &csrf), ("email", "x@example.com"), ("role", "admin")], &[]).await;
        assert_eq!(invite.status, 403);
        let keys = t.get("/api/v1/api-keys").await;
        assert_eq!(keys.body.as_array().map(Vec::len), Some(1), "only the bootstrap key: {}", keys.body);
    }

    async fn sign_out_ends_the_session_everywhere(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        let mut b = Browser::new(&t);
        b.sign_in("ann@example.com", PASSWORD).await;
        let old = b.cookie("frontdesk_session").expect("session").to_owned();
        let csrf = b.get("/settings/channels").await.csrf();
        let out = b.post("/settings/sign-out", &[("csrf_token", &csrf)], &[]).await;
        assert_eq!(out.location.as_deref(), Some("/settings/sign-in?done=signed-out"));
        assert!(b.cookie("frontdesk_session").is_none());
        let mut replay = Browser::new(&t);
        replay.cookies.insert("frontdesk_session".into(), old);
        assert_eq!(replay.get("/settings/channels").await.status, 303, "the old cookie no longer works");
    }

    async fn an_invitation_link_sets_the_password_and_signs_in_once(t) {
        let token = invitation(&t, "new@example.com", Role::Agent).await;
        let mut b = Browser::new(&t);
        let page = b.get(&format!("/settings/invitation/{token}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("new@example.com"));
        let path = format!("/settings/invitation/{token}");
        let short = b.post(&path, &[("csrf_token", &page.csrf()), ("password", "short"), ("confirm", "short")], &[]).await;
        assert_eq!(short.status, 422);
        assert!(short.body.contains("must be at least 8 characters"));
        let mismatch = b.post(&path, &[("csrf_token", &page.csrf()), ("password", PASSWORD), ("confirm", "other one!")], &[]).await;
        assert!(mismatch.body.contains("does not match"));
        let done = b.post(&path, &[("csrf_token", &page.csrf()), ("password", PASSWORD), ("confirm", PASSWORD)], &[]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(b.get("/settings/staff").await.body.contains("Active"));
        assert_eq!(Browser::new(&t).get(&path).await.status, 404, "a used link is refused");
        assert_eq!(Browser::new(&t).sign_in("new@example.com", PASSWORD).await.status, 303);
        assert_eq!(Browser::new(&t).get("/settings/invitation/fdi_nonsense").await.status, 404);
    }

    async fn an_admin_invites_and_disables_staff_on_the_page(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        staff_user(&t, "bob@example.com", Role::Agent).await;
        let mut bob = Browser::new(&t);
        bob.sign_in("bob@example.com", PASSWORD).await;
        let mut b = Browser::new(&t);
        b.sign_in("ann@example.com", PASSWORD).await;
        let csrf = b.get("/settings/staff").await.csrf();
        let invited = b.post("/settings/staff", &[("csrf_token", &csrf), ("email", "cleo@example.com"), ("role", "agent"), ("firstName", "Cleo")], &[]).await;
        assert_eq!(invited.status, 201, "{}", invited.body);
        let link = invited.input_value("invitation-link").expect("link");
        assert!(link.starts_with(&format!("{}/settings/invitation/fdi_", t.base)), "{link}");
        let bad = b.post("/settings/staff", &[("csrf_token", &csrf), ("email", "not-an-email"), ("role", "agent")], &[]).await;
        assert_eq!(bad.status, 422);

        let staff = t.app.list_staff_users(&Principal::Operator { workspace_id: t.workspace_id.parse().expect("id") }).await.expect("staff");
        let bob_id = staff.iter().find(|u| u.email == "bob@example.com").expect("bob").id;
        let ann_id = staff.iter().find(|u| u.email == "ann@example.com").expect("ann").id;
        let confirm = b.get(&format!("/settings/staff/{bob_id}/disable")).await;
        assert_eq!(confirm.status, 200);
        let done = b.post(&format!("/settings/staff/{bob_id}/disable"), &[("csrf_token", &confirm.csrf())], &[]).await;
        assert_eq!(done.status, 303);
        assert_eq!(bob.get("/settings/channels").await.status, 303, "a disabled user's session ends at once");
        assert_eq!(Browser::new(&t).sign_in("bob@example.com", PASSWORD).await.status, 401);
        let own = b.post(&format!("/settings/staff/{ann_id}/disable"), &[("csrf_token", &csrf)], &[]).await;
        assert_eq!(own.status, 409, "an admin cannot lock themselves out");
    }

    async fn channels_tiers_and_groups_are_created_and_listed(t) {
        staff_user(&t, "ann@example.com", Role::Admin).await;
        let mut b = Browser::new(&t);
        b.sign_in("ann@example.com", PASSWORD).await;
        let channels = b.get("/settings/channels").await;
        assert!(channels.body.contains("E-mail") && channels.body.contains("built-in"));
        let csrf = channels.csrf();
        let made = b.post("/settings/channels", &[("csrf_token", &csrf), ("name", "Web chat"), ("type", "web")], &[]).await;
        assert_eq!(made.location.as_deref(), Some("/settings/channels?done=channel-created"));
        let short = b.post("/settings/channels", &[("csrf_token", &csrf), ("name", "W"), ("type", "web")], &[]).await;
        assert_eq!(short.status, 422);
        assert!(short.body.contains("must be at least 3 characters"));
        let channel_id = t.get("/api/v1/channels").await.body.to_string();
        assert!(channel_id.contains("Web chat"));
        let list = t.app.list_channels(&Principal::Operator { workspace_id: t.workspace_id.parse().expect("id") }).await.expect("channels");
        let web = list.iter().find(|c| c.name == "Web chat").expect("channel").id;
        let renamed = b.post(&format!("/settings/channels/{web}/rename"), &[("csrf_token", &csrf), ("name", "Live chat")], &[]).await;
        assert_eq!(renamed.status, 303);
        assert!(b.get("/settings/channels?done=channel-renamed").await.body.contains("Live chat"));

        assert!(b.get("/settings/tiers").await.body.contains("No tiers yet."));
        let tier = b.post("/settings/tiers", &[("csrf_token", &csrf), ("name", "Gold"), ("description", "Premium support")], &[]).await;
        assert_eq!(tier.status, 303);
        let tiers = b.get("/settings/tiers").await;
        assert!(tiers.body.contains("Gold") && tiers.body.contains("Premium support"));

        let groups = b.get("/settings/groups").await;
        assert!(groups.body.contains("No user groups yet."));
        let tier_id = t.get("/api/v1/tiers").await.body[0]["id"].as_str().expect("tier").to_owned();
        let group = b.post("/settings/groups", &[("csrf_token", &csrf), ("externalId", "acme"), ("name", "Acme Corp"), ("tierId", &tier_id)], &[]).await;
        assert_eq!(group.status, 303);
        let again = b.post("/settings/groups", &[("csrf_token", &csrf), ("externalId", "acme"), ("name", "Acme Again"), ("tierId", "")], &[]).await;
        assert_eq!(again.status, 422, "a duplicate external id is shown on the form");
        assert!(again.body.contains("already exists"));
        let groups = b.get("/settings/groups").await;
        assert!(groups.body.contains("Acme Corp") && groups.body.contains("Gold"));
    }

    async fn assets_are_served_from_the_binary_and_pages_are_not_cached(t) {
        let mut b = Browser::new(&t);
        let css = b.get("/settings/assets/app.css").await;
        assert_eq!(css.status, 200);
        assert!(css.body.contains(".card"));
        assert_eq!(b.get("/settings/assets/app.js").await.status, 200);
        let res = crate::helpers::exchange(t.client.get(format!("{}/settings/sign-in", t.base))).await.expect("page");
        assert_eq!(res.headers["cache-control"], "no-store");
        assert!(res.headers["content-security-policy"].to_str().expect("csp").contains("frame-ancestors 'none'"));
    }
}

/// The Webhooks section, with a worker that fails a delivery finally at its first refusal and
/// disables the subscription at once, so the page shows a reason within a moment.
mod webhooks_section {
    use std::time::Duration;

    use frontdesk::app::WebhookOptions;

    use super::*;

    fn disabling_at_once() -> WebhookOptions {
        WebhookOptions {
            max_attempts: 1,
            disable_after: 1,
            poll_interval: Duration::from_millis(20),
            ..WebhookOptions::default()
        }
    }

    async fn admin(t: &TestApp) -> Browser {
        staff_user(t, "admin@example.com", Role::Admin).await;
        let mut b = Browser::new(t);
        assert_eq!(b.sign_in("admin@example.com", PASSWORD).await.status, 303);
        b
    }

    async fn submit(b: &mut Browser, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = b.get(page).await.csrf();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        b.post(action, &all, &[]).await
    }

    async fn an_admin_creates_disables_enables_reads_the_log_redelivers_and_deletes(t: TestApp) {
        let mut b = admin(&t).await;
        let list = "/settings/webhooks";
        assert!(b.get(list).await.body.contains("No webhooks yet"));
        let bad =
            submit(&mut b, list, list, &[("url", "https://hooks.example.com/"), ("types", "ticket.exploded")]).await;
        assert_eq!(bad.status, 422);
        assert!(
            bad.body.contains("id=\"webhook-url-error\"") && bad.body.contains("id=\"webhook-types-error\""),
            "{}",
            bad.body
        );
        let created =
            submit(&mut b, list, list, &[("url", "http://127.0.0.1:9/hook"), ("types", "external_user.created")]).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let secret = created.input_value("new-webhook-secret").expect("the secret, shown once");
        assert!(secret.starts_with("whsec_"));
        let page = b.get(list).await;
        assert!(page.body.contains("http://127.0.0.1:9/hook") && !page.body.contains(&secret), "shown only once");
        let hooks = t.get("/api/v1/webhooks").await.body;
        let id = hooks[0]["id"].as_str().unwrap().to_owned();

        let disabled = submit(&mut b, list, &format!("{list}/{id}/disable"), &[]).await;
        assert_eq!((disabled.status, disabled.location.as_deref()), (303, Some("/settings/webhooks?done=disabled")));
        assert_eq!(t.get(&format!("/api/v1/webhooks/{id}")).await.body["enabled"], false);
        assert!(b.get("/settings/webhooks?done=disabled").await.body.contains("Disabled"));
        assert_eq!(submit(&mut b, list, &format!("{list}/{id}/enable"), &[]).await.status, 303);
        assert_eq!(t.get(&format!("/api/v1/webhooks/{id}")).await.body["enabled"], true);

        // The receiver is on loopback, refused by default: the delivery fails and the server disables it.
        t.external_user("jane@example.com", "Jane").await;
        let mut page = b.get(list).await;
        for _ in 0..150 {
            if page.body.contains("in a row failed") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            page = b.get(list).await;
        }
        assert!(
            page.body.contains("1 deliveries in a row failed every retry") && page.body.contains("refused"),
            "{}",
            page.body
        );
        let log = b.get(&format!("{list}/{id}")).await;
        assert_eq!(log.status, 200);
        assert!(log.body.contains("external_user.created") && log.body.contains("Failed"), "{}", log.body);
        assert!(log.body.contains("id=\"disabled-reason\""));
        let delivery = t.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.body["deliveries"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let again =
            submit(&mut b, &format!("{list}/{id}"), &format!("{list}/{id}/deliveries/{delivery}/redeliver"), &[]).await;
        assert_eq!(again.status, 303);
        assert_eq!(again.location.as_deref(), Some(format!("/settings/webhooks/{id}?done=redelivered").as_str()));
        let log = t.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.body;
        assert_eq!(log["deliveries"][0]["status"], "pending", "queued again (it waits while the webhook is disabled)");

        let confirm = b.get(&format!("{list}/{id}/delete")).await;
        assert!(confirm.body.contains("cannot be undone"));
        let deleted = b.post(&format!("{list}/{id}/delete"), &[("csrf_token", &confirm.csrf())], &[]).await;
        assert_eq!((deleted.status, deleted.location.as_deref()), (303, Some("/settings/webhooks?done=deleted")));
        assert_eq!(t.get("/api/v1/webhooks").await.body, serde_json::json!([]));
        assert_eq!(b.get(&format!("{list}/{id}")).await.status, 404);
    }

    async fn agents_see_no_webhooks_and_forms_need_the_csrf_token(t: TestApp) {
        let mut b = admin(&t).await;
        let list = "/settings/webhooks";
        let forged = b.post(list, &[("csrf_token", "nope"), ("url", "http://a.example.com/")], &[]).await;
        assert_eq!(forged.status, 403);
        staff_user(&t, "agent@example.com", Role::Agent).await;
        let mut agent = Browser::new(&t);
        assert_eq!(agent.sign_in("agent@example.com", PASSWORD).await.status, 303);
        let page = agent.get(list).await;
        assert!(page.body.contains("Only workspace admins can see webhooks"));
        let csrf = page.csrf();
        let refused = agent.post(list, &[("csrf_token", &csrf), ("url", "http://a.example.com/")], &[]).await;
        assert_eq!(refused.status, 403);
        assert_eq!(t.get("/api/v1/webhooks").await.body, serde_json::json!([]), "nothing was created");
        assert_eq!(Browser::new(&t).get(list).await.status, 303, "no session: to sign-in");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_an_admin_creates_disables_enables_reads_the_log_redelivers_and_deletes() {
        an_admin_creates_disables_enables_reads_the_log_redelivers_and_deletes(
            TestApp::sqlite_with_webhooks(disabling_at_once()).await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_an_admin_creates_disables_enables_reads_the_log_redelivers_and_deletes() {
        let Some(t) = TestApp::postgres_with_webhooks(disabling_at_once()).await else { return };
        an_admin_creates_disables_enables_reads_the_log_redelivers_and_deletes(t).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_agents_see_no_webhooks_and_forms_need_the_csrf_token() {
        agents_see_no_webhooks_and_forms_need_the_csrf_token(TestApp::sqlite().await).await;
    }
}
