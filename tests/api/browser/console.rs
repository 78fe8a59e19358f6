//! The agent console in a real headless Chromium: finding one person among 10,000, working a
//! ticket, a comment from another session appearing without a reload, merging two people; and on
//! every console page, axe-core (vendored in tests/vendor/axe-core) finds nothing serious.

use std::time::Duration;

use frontdesk::app::{NewExternalUser, NewTicketInput, Principal};
use frontdesk::domain::{DisplayName, Identifier, LocationName, Role, TicketText};
use futures_util::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use super::webdriver::{self, Browser};
use crate::helpers::TestApp;
use crate::web::{PASSWORD, staff_user};

/// axe-core's own build, with its licence header (MPL-2.0; tests/vendor/axe-core/LICENSE).
const AXE: &str = include_str!("../../vendor/axe-core/axe.min.js");

const PEOPLE: &str = "/settings/console/people";
const TICKETS: &str = "/settings/console/tickets";

fn operator(t: &TestApp) -> Principal {
    Principal::Operator { workspace_id: t.workspace_id.parse().expect("workspace id") }
}

fn new_person(t: &TestApp, email: &str, name: &str) -> NewExternalUser {
    NewExternalUser {
        channel_id: t.email_channel_id.parse().expect("channel id"),
        external_id: None,
        identifier: Some(Identifier::parse(email).expect("identifier")),
        name: Some(DisplayName::parse(name).expect("name")),
        tier_id: None,
        external_user_group_id: None,
        time_zone: None,
    }
}

/// `n` people through the use cases, 16 at a time.
async fn seed_people(t: &TestApp, n: usize) {
    let who = operator(t);
    futures_util::stream::iter(0..n)
        .map(|i| {
            let (app, who, new) = (
                t.app.clone(),
                who.clone(),
                new_person(t, &format!("customer{i:05}@example.com"), &format!("Customer {i}")),
            );
            async move { app.create_external_user(&who, new).await.expect("seeded person") }
        })
        .buffer_unordered(16)
        .for_each(|_| async {})
        .await;
}

/// Runs axe-core on the page and fails on any violation of serious or critical impact.
async fn assert_accessible(b: &Browser, page: &str) {
    let script = format!(
        "{AXE}\n;var done = arguments[arguments.length - 1];
         axe.run(document, {{resultTypes: ['violations']}}).then(function (r) {{
           done(r.violations.filter(function (v) {{ return v.impact === 'serious' || v.impact === 'critical'; }})
             .map(function (v) {{ return v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
               v.nodes.slice(0, 5).map(function (n) {{ return n.target.join(' '); }}).join(', '); }}));
         }}, function (e) {{ done(['axe could not run: ' + e]); }});"
    );
    let found = b.execute_async(&script).await;
    assert_eq!(found, json!([]), "accessibility violations on {page}: {found:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_finds_a_person_among_ten_thousand_works_their_ticket_and_merges_them_in_the_browser() {
    let Some((b, _one)) = webdriver::start().await else { return };
    let t = TestApp::sqlite().await;
    seed_people(&t, 10_000).await;
    let who = operator(&t);
    let zoe = t
        .app
        .create_external_user(&who, new_person(&t, "zoe.quartermaine@example.org", "Zoe Quartermaine"))
        .await
        .expect("zoe")
        .id;
    let home =
        t.app.create_external_user(&who, new_person(&t, "zoe.q@home.example", "Zoe at home")).await.expect("home").id;
    let location = t.app.create_location(&who, LocationName::parse("Front office").expect("name")).await.expect("loc");
    let input = NewTicketInput {
        location_id: location.id,
        text: TicketText::parse("My badge does not open the garage door").expect("text"),
        kind: None,
        requester_id: Some(zoe),
        assignee_id: None,
    };
    let ticket: Uuid = t.app.create_ticket(&who, input).await.expect("ticket").ticket.id;
    staff_user(&t, "agent@example.com", Role::Agent).await;
    staff_user(&t, "second@example.com", Role::Agent).await;

    super::sign_in(&b, &t, "agent@example.com", PASSWORD).await;
    b.wait_for_text("main h1", "People").await;
    b.wait_for_text("#people-title", "10002 people").await;
    assert_accessible(&b, "the people list").await;

    // `/` focuses the search; a fragment of the e-mail finds the one person.
    b.execute("document.activeElement && document.activeElement.blur();").await;
    b.type_into("#people-q", "quarterm").await;
    b.click("form[role=search] button[type=submit]").await;
    b.wait_for_text("#people-title", "1 person").await;
    assert!(b.current_url().await.contains("q=quarterm"), "a stable URL for the search");
    b.screenshot("console-01-people-search").await;
    b.click(&format!("a[href='{PEOPLE}/{zoe}']")).await;
    b.wait_for_text("main h1", "Zoe Quartermaine").await;
    assert_accessible(&b, "a person's page").await;

    b.click(&format!("a[href='{TICKETS}/{ticket}']")).await;
    b.wait_for_text("main h1", "Ticket #1").await;
    assert_accessible(&b, "a ticket's page").await;
    b.type_into("#comment-text", "Checked the badge log: it expired yesterday.").await;
    b.click("#comment-visibility-internal").await;
    b.click("form[action$='/comment'] button[type=submit]").await;
    b.wait_for_text(".alert.success", "Internal note added.").await;
    b.type_into("#comment-text", "Your badge is renewed; please try again.").await;
    b.click("#comment-visibility-public").await;
    b.click("form[action$='/comment'] button[type=submit]").await;
    b.wait_for_text(".alert.success", "Reply sent.").await;
    b.execute("document.getElementById('ticket-status').value = 'inProgress';").await;
    b.click("form[action$='/status'] button[type=submit]").await;
    b.wait_for_text(".alert.success", "Status changed.").await;
    b.wait_for_text("main h1", "In progress").await;
    let timeline = b.wait_for_text("#timeline", "added an internal note").await;
    assert!(
        timeline.contains("it expired yesterday")
            && timeline.contains("replied")
            && timeline.contains("Your badge is renewed")
    );

    // Another agent, signed in in another session, answers the same ticket: it appears here
    // without a reload (the marker set on this page survives).
    b.execute("window.stillTheSamePage = true;").await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the page's stream is open
    let mut other = crate::web::Browser::new(&t);
    assert_eq!(other.sign_in("second@example.com", PASSWORD).await.status, 303);
    let href = format!("{TICKETS}/{ticket}");
    let csrf = other.get(&href).await.csrf();
    let sent = other
        .post(
            &format!("{href}/comment"),
            &[("csrf_token", &csrf), ("text", "Posted from the other session"), ("visibility", "internal")],
            &[],
        )
        .await;
    assert_eq!(sent.status, 303);
    b.wait_for_text("#timeline", "Posted from the other session").await;
    b.wait_for_text("#live-notice", "New activity").await;
    assert_eq!(b.execute("return window.stillTheSamePage === true;").await, Value::Bool(true), "no reload");
    b.screenshot("console-03-ticket").await;

    // The ticket list, with its counts.
    b.goto(&format!("{}{TICKETS}", t.base)).await;
    b.wait_for_text("main h1", "Tickets").await;
    b.wait_for_text("#status-tabs", "In progress 1").await;
    assert_accessible(&b, "the ticket list").await;
    b.screenshot("console-04-tickets").await;

    // Merge Zoe's two addresses, Zoe staying.
    b.goto(&format!("{}{PEOPLE}/{zoe}", t.base)).await;
    b.wait_for_text("main h1", "Zoe Quartermaine").await;
    b.type_into("#merge-other", "zoe.q@home.example").await;
    b.click("#merge-survivor-this").await;
    b.click("form[action$='/merge'] button[type=submit]").await;
    b.wait_for_text(".alert.success", "Merged").await;
    let identities = b.wait_for_text("#identities-title + .table-wrap", "zoe.q@home.example").await;
    assert!(identities.contains("zoe.quartermaine@example.org"), "{identities}");
    let merged = t.get(&format!("/api/v1/external-users/{home}")).await;
    let survivor = t.get(&format!("/api/v1/external-users/{zoe}")).await;
    assert_eq!(merged.body["superIdentityId"], survivor.body["superIdentityId"], "one super identity");
    assert_accessible(&b, "a person's page after a merge").await;
    b.screenshot("console-02-person").await;
    b.quit().await;
}
