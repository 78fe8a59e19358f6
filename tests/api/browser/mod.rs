//! End-to-end tests of the settings page in a real headless Chromium (skipped, with a notice, where
//! chromedriver is not installed). Screenshots land in target/e2e-screenshots/.

mod console;
mod webdriver;

use frontdesk::domain::Role;

use crate::helpers::TestApp;
use crate::web::{PASSWORD, staff_user};

pub(super) async fn sign_in(b: &webdriver::Browser, t: &TestApp, email: &str, password: &str) {
    b.goto(&format!("{}/settings/sign-in", t.base)).await;
    b.type_into("#sign-in-email", email).await;
    b.type_into("#sign-in-password", password).await;
    b.click("button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_key_that_works_and_revokes_it_in_the_browser() {
    let Some((b, _one)) = webdriver::start().await else { return };
    let t = TestApp::sqlite().await;
    staff_user(&t, "ann@example.com", Role::Admin).await;
    sign_in(&b, &t, "ann@example.com", PASSWORD).await;
    b.wait_for_text("main h1", "API keys").await;
    b.screenshot("01-signed-in-api-keys").await;

    b.type_into("#key-name", "CRM sync").await;
    b.click("#create-key-title + form button[type=submit]").await;
    let secret = b.value("#new-key-secret").await;
    assert!(secret.starts_with("fdk_"), "{secret}");
    b.find("button[data-copy=new-key-secret]:not([hidden])").await;
    b.screenshot("02-key-created").await;
    assert_eq!(t.send("GET", "/api/v1/external-users", Some(&secret), None).await.status, 200);

    b.click("a[aria-label='Revoke key CRM sync']").await;
    b.wait_for_text("main h1", "Revoke API key").await;
    b.screenshot("03-revoke-confirmation").await;
    b.click("button.danger").await;
    b.wait_for_text(".alert.success", "revoked").await;
    assert_eq!(t.send("GET", "/api/v1/external-users", Some(&secret), None).await.status, 401);
    b.screenshot("04-key-revoked").await;

    b.click("button.link").await; // sign out
    b.wait_for_text(".alert.success", "You are signed out.").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_in_the_browser() {
    let Some((b, _one)) = webdriver::start().await else { return };
    let t = TestApp::sqlite().await;
    staff_user(&t, "ann@example.com", Role::Admin).await;
    sign_in(&b, &t, "ann@example.com", "not my password").await;
    b.wait_for_text("#sign-in-error", "not right").await;
    assert!(b.current_url().await.ends_with("/settings/sign-in"));
    b.screenshot("05-wrong-password").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_posted_without_its_csrf_token_is_rejected_in_the_browser() {
    let Some((b, _one)) = webdriver::start().await else { return };
    let t = TestApp::sqlite().await;
    staff_user(&t, "ann@example.com", Role::Admin).await;
    sign_in(&b, &t, "ann@example.com", PASSWORD).await;
    b.wait_for_text("main h1", "API keys").await;
    b.goto(&format!("{}/settings/channels", t.base)).await;
    b.type_into("#channel-name", "Web chat").await;
    b.execute("document.querySelector('form[action=\"/settings/channels\"] input[name=csrf_token]').remove();").await;
    b.click("#create-channel-title + form button[type=submit]").await;
    b.wait_for_text("h1", "This form could not be accepted").await;
    b.screenshot("06-csrf-rejected").await;
    assert!(!t.get("/api/v1/channels").await.body.to_string().contains("Web chat"));
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_create_keys_in_the_browser() {
    let Some((b, _one)) = webdriver::start().await else { return };
    let t = TestApp::sqlite().await;
    staff_user(&t, "agent@example.com", Role::Agent).await;
    sign_in(&b, &t, "agent@example.com", PASSWORD).await;
    // Agents land in the console; the settings stay readable.
    b.wait_for_text("main h1", "People").await;
    b.goto(&format!("{}/settings/api-keys", t.base)).await;
    b.wait_for_text("main h1", "API keys").await;
    assert!(b.source().await.contains("Only workspace admins can see API keys."));
    assert!(b.try_find("#key-name").await.is_none(), "no create form for agents");
    b.screenshot("07-agent-api-keys").await;
    // Forging the form with the agent's own valid CSRF token still fails: the server checks the role.
    b.execute(
        "const token = document.querySelector('input[name=csrf_token]').value;
         const f = document.createElement('form'); f.method = 'post'; f.action = '/settings/api-keys';
         for (const [k, v] of [['csrf_token', token], ['name', 'Mine'], ['role', 'admin']]) {
             const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
         }
         document.body.appendChild(f); f.submit();",
    )
    .await;
    b.wait_for_text("main h1", "Not allowed").await;
    let keys = t.get("/api/v1/api-keys").await;
    assert_eq!(keys.body.as_array().map(Vec::len), Some(1), "{}", keys.body);
    b.resize(390, 844).await;
    b.goto(&format!("{}/settings/channels", t.base)).await;
    b.wait_for_text("main h1", "Channels").await;
    b.screenshot("08-agent-channels-phone").await;
    b.quit().await;
}
