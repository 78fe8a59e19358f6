//! The agent console beyond its pages: ticket versions and the refusal of stale writes, live
//! updates over server-sent events from the events outbox (on several nodes of one database),
//! counts per status and the type filter, and what a person's page adds (tickets taken part in,
//! access tokens).

use std::time::Duration;

use frontdesk::app::{
    AppError, CommentInput, Conflict, EventCursor, LiveOptions, NewExternalUser, NewTicketInput, ParticipantRef,
    Principal,
};
use frontdesk::domain::{
    DisplayName, EmailAddress, Identifier, LocationName, Role, TicketStatus, TicketText, TicketType,
};
use frontdesk::{PostgresOptions, open_store};
use uuid::Uuid;

use crate::helpers::{TestApp, on_both_backends};
use crate::web::{Browser, PASSWORD, staff_user};

const PEOPLE: &str = "/settings/console/people";
const TICKETS: &str = "/settings/console/tickets";
const EVENTS: &str = "/settings/console/events";

fn operator(t: &TestApp) -> Principal {
    Principal::Operator { workspace_id: t.workspace_id.parse().expect("workspace id") }
}

async fn person(t: &TestApp, email: &str, name: &str) -> Uuid {
    let new = NewExternalUser {
        channel_id: t.email_channel_id.parse().expect("channel id"),
        external_id: None,
        identifier: Some(Identifier::parse(email).expect("identifier")),
        name: Some(DisplayName::parse(name).expect("name")),
        tier_id: None,
        external_user_group_id: None,
        time_zone: None,
    };
    t.app.create_external_user(&operator(t), new).await.expect("external user").id
}

async fn ticket(t: &TestApp, requester: Uuid, text: &str, kind: Option<&str>) -> Uuid {
    let who = operator(t);
    let location = t.app.create_location(&who, LocationName::parse("Front office").expect("name")).await.expect("loc");
    let input = NewTicketInput {
        location_id: location.id,
        text: TicketText::parse(text).expect("text"),
        kind: kind.map(|k| TicketType::parse(k).expect("type")),
        requester_id: Some(requester),
        assignee_id: None,
    };
    t.app.create_ticket(&who, input).await.expect("ticket").ticket.id
}

fn note(text: &str) -> CommentInput {
    CommentInput { text: TicketText::parse(text).expect("text"), internal: true, attachments: Vec::new() }
}

async fn agent(t: &TestApp) -> Browser {
    staff_user(t, "agent@example.com", Role::Agent).await;
    let mut b = Browser::new(t);
    assert_eq!(b.sign_in("agent@example.com", PASSWORD).await.status, 303);
    b
}

/// The value of the first `name="version"` field of a page.
fn version_on(body: &str) -> String {
    let start = "name=\"version\" value=\"";
    let at = body.find(start).expect("a form with the ticket's version") + start.len();
    body[at..at + body[at..].find('"').expect("end")].to_owned()
}

/// Reads a server-sent events stream until a chunk holds `needle` (or `within` passes); everything
/// read so far.
async fn read_stream_until(res: &mut reqwest::Response, needle: &str, within: Duration) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + within;
    while !seen.contains(needle) {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    seen
}

async fn open_stream(t: &TestApp, b: &Browser, query: &str) -> reqwest::Response {
    let cookie = format!("frontdesk_session={}", b.cookie("frontdesk_session").expect("session cookie"));
    reqwest::Client::new()
        .get(format!("{}{EVENTS}{query}", t.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("stream")
}

on_both_backends! {
    async fn a_change_decided_on_an_old_version_is_refused_and_the_others_need_no_version(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let id = ticket(&t, kim, "Badge does not open the door", None).await;
        let who = operator(&t);
        let opened = t.app.get_ticket(&who, id, None, 50).await.expect("ticket").ticket.version;
        let moved = t.app.change_ticket_status_at(&who, id, TicketStatus::InProgress, Some(opened)).await.expect("at its version");
        assert_eq!(moved.ticket.version, opened + 1, "every change moves the version on");
        // A second change decided on what was read before the first is refused, whatever it is.
        let stale = t.app.assign_ticket_at(&who, id, None, Some(opened)).await;
        assert!(matches!(stale, Err(AppError::Conflict(Conflict::Stale))), "{stale:?}");
        let stale = t.app.comment_on_ticket_at(&who, id, note("late"), Some(opened)).await;
        assert!(matches!(stale, Err(AppError::Conflict(Conflict::Stale))), "{stale:?}");
        let stale = t.app.change_ticket_type_at(&who, id, None, Some(opened)).await;
        assert!(matches!(stale, Err(AppError::Conflict(Conflict::Stale))), "{stale:?}");
        let detail = t.app.get_ticket(&who, id, None, 50).await.expect("ticket");
        assert_eq!(detail.ticket.version, opened + 1, "nothing was written");
        assert!(!detail.activities.iter().any(|a| a.text.as_deref() == Some("late")));
        // Without a version (every API contract) a change is decided on the ticket as it is.
        t.app.comment_on_ticket(&who, id, note("on time")).await.expect("no version, no check");
        let body = serde_json::json!({"ticket": {"status": "solved"}});
        let reply = t.tickets("PUT", &format!("/support/tickets/v1/{id}/status"), Some(&body)).await;
        assert_eq!(reply.status, 200, "the support tickets API sends no version: {}", reply.body);
        assert_eq!(t.app.get_ticket(&who, id, None, 50).await.expect("ticket").ticket.version, opened + 3);
    }

    async fn a_console_form_from_an_old_page_is_refused_and_shows_the_ticket_as_it_is_now(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let id = ticket(&t, kim, "Badge does not open the door", None).await;
        let mut b = agent(&t).await;
        let href = format!("{TICKETS}/{id}");
        let page = b.get(&href).await;
        let (csrf, version) = (page.csrf(), version_on(&page.body));
        // Another agent solves it meanwhile.
        t.app.change_ticket_status(&operator(&t), id, TicketStatus::Solved).await.expect("solved");
        let refused = b.post(&format!("{href}/status"), &[("csrf_token", &csrf), ("version", &version), ("status", "closed")], &[]).await;
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert!(refused.body.contains("This ticket changed since you opened it"), "{}", refused.body);
        assert!(refused.body.contains("it is now <strong>Solved</strong>"), "the current state is shown");
        assert!(refused.body.contains("<option value=\"closed\" selected>"), "the choice is kept in the form");
        let now = t.app.get_ticket(&operator(&t), id, None, 50).await.expect("ticket").ticket;
        assert_eq!(now.status, TicketStatus::Solved, "the stale change was not written");
        assert_eq!(version_on(&refused.body), now.version.to_string(), "the page carries the current version");
        let typed = b.post(&format!("{href}/comment"), &[("csrf_token", &csrf), ("version", &version), ("text", "Try the side door"), ("visibility", "public")], &[]).await;
        assert_eq!(typed.status, 409);
        assert!(typed.body.contains(">Try the side door</textarea>"), "what was written is kept");
        // Sent again from the page as it is now, it goes through.
        let again = b.post(&format!("{href}/status"), &[("csrf_token", &csrf), ("version", &version_on(&refused.body)), ("status", "closed")], &[]).await;
        assert_eq!(again.status, 303, "{}", again.body);
        assert_eq!(t.app.get_ticket(&operator(&t), id, None, 50).await.expect("ticket").ticket.status, TicketStatus::Closed);
    }

    async fn the_ticket_list_counts_each_status_and_filters_by_type(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let a = ticket(&t, kim, "Printer jam", Some("hardware")).await;
        let b_id = ticket(&t, kim, "Laptop fan noise", Some("hardware")).await;
        let c = ticket(&t, kim, "Password reset", Some("access")).await;
        t.app.change_ticket_status(&operator(&t), a, TicketStatus::Solved).await.expect("solved");
        let mut b = agent(&t).await;
        let all = b.get(TICKETS).await;
        assert!(all.body.contains("All <span class=\"count\">3</span>"), "{}", all.body);
        assert!(all.body.contains("New <span class=\"count\">2</span>"));
        assert!(all.body.contains("Solved <span class=\"count\">1</span>"));
        let hardware = b.get(&format!("{TICKETS}?type=hardware")).await;
        assert!(hardware.body.contains(&format!("{TICKETS}/{a}")) && hardware.body.contains(&format!("{TICKETS}/{b_id}")));
        assert!(!hardware.body.contains(&format!("{TICKETS}/{c}")), "another type is filtered out");
        assert!(hardware.body.contains("All <span class=\"count\">2</span>"), "counts follow the other filters");
        assert!(hardware.body.contains("status=solved&amp;type=hardware") || hardware.body.contains("type=hardware"), "tabs keep the filter");
        let solved_hw = b.get(&format!("{TICKETS}?status=solved&type=hardware")).await;
        assert!(solved_hw.body.contains(&format!("{TICKETS}/{a}")) && !solved_hw.body.contains(&format!("{TICKETS}/{b_id}")));
        let none = b.get(&format!("{TICKETS}?type=software")).await;
        assert!(none.body.contains("No tickets match."));
    }

    async fn a_persons_page_lists_tickets_they_take_part_in_and_their_access_tokens(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let boss = person(&t, "boss@example.com", "The Boss").await;
        let requested = ticket(&t, boss, "Budget for new chairs", None).await;
        let other = ticket(&t, kim, "Kim's own request", None).await;
        let email = EmailAddress::parse_crm("kim@example.com").expect("address");
        t.app.add_participant(&operator(&t), requested, ParticipantRef::Email(email)).await.expect("participant");
        t.access_token("kim@example.com").await;
        let mut b = agent(&t).await;
        let page = b.get(&format!("{PEOPLE}/{kim}")).await;
        let part = page.body.find("Tickets they take part in").expect("the section");
        let tokens = page.body.find("Access tokens").expect("the tokens section");
        let requested_at = page.body.find(&format!("{TICKETS}/{requested}")).expect("the ticket taken part in");
        assert!(part < requested_at && requested_at < tokens, "listed under taking part");
        let own = page.body.find(&format!("{TICKETS}/{other}")).expect("the ticket requested");
        assert!(own < part, "listed under requested");
        let token_rows = &page.body[tokens..];
        assert!(token_rows.contains("kim@example.com") && token_rows.contains("Valid"), "{token_rows}");
        assert!(token_rows.contains("last used is not recorded"));
        let boss_page = b.get(&format!("{PEOPLE}/{boss}")).await;
        assert!(boss_page.body.contains("No access tokens issued."));
        assert!(boss_page.body.contains("Not a participant of any ticket."));
    }

    async fn the_live_stream_sends_ticket_and_people_events_after_the_cursor_to_agents_only(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let id = ticket(&t, kim, "Badge does not open the door", None).await;
        let mut anonymous = Browser::new(&t);
        assert_eq!(anonymous.get(EVENTS).await.status, 401, "a stream needs a session");
        let mut b = agent(&t).await;
        let page = b.get(&format!("{TICKETS}/{id}")).await;
        let at = page.body.find("data-live-after=\"").expect("the page's position") + "data-live-after=\"".len();
        let after = page.body[at..at + page.body[at..].find('"').expect("end")].to_owned();
        assert!(page.body.contains(&format!("data-live-ticket=\"{id}\"")));
        let mut res = open_stream(&t, &b, &format!("?after={after}")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/event-stream"));
        // Set-up changes are not for agents; ticket and people changes are.
        t.post("/api/v1/channels", &serde_json::json!({"name": "Web chat", "type": "chat"})).await;
        t.app.comment_on_ticket(&operator(&t), id, note("Facilities called")).await.expect("note");
        let seen = read_stream_until(&mut res, "ticket.commented", Duration::from_secs(10)).await;
        assert!(seen.starts_with("retry: "), "{seen}");
        assert!(seen.contains(&format!("\"ticket\":\"{id}\"")), "{seen}");
        assert!(!seen.contains("channel.created"), "{seen}");
        assert!(!seen.contains("Facilities called"), "the stream says what changed, not the content: {seen}");
        let last_id = seen.lines().filter_map(|l| l.strip_prefix("id: ")).next_back().expect("an event id").to_owned();
        drop(res);
        // A reconnecting browser sends the last id and gets only what came after it.
        let patch = serde_json::json!({"name": "Kim Lee-Park"});
        assert_eq!(t.patch(&format!("/api/v1/external-users/{kim}"), &patch).await.status, 200);
        let cookie = format!("frontdesk_session={}", b.cookie("frontdesk_session").expect("cookie"));
        let mut again = reqwest::Client::new()
            .get(format!("{}{EVENTS}", t.base))
            .header("cookie", cookie)
            .header("last-event-id", &last_id)
            .send()
            .await
            .expect("stream");
        let seen = read_stream_until(&mut again, "external_user.updated", Duration::from_secs(10)).await;
        assert!(seen.contains(&format!("\"person\":\"{kim}\"")), "{seen}");
        assert!(!seen.contains("ticket.commented"), "nothing before the cursor again: {seen}");
        let junk = open_stream(&t, &b, "?after=not-a-cursor").await;
        assert_eq!(junk.status(), 400);
    }

    async fn a_stream_on_one_node_sees_a_change_made_through_another(t) {
        // A second node on the same database: its own use cases, its own poller.
        let store = open_store(&t.database.url, &PostgresOptions { schema: t.database.schema.clone(), max_connections: 2, ..PostgresOptions::default() })
            .await
            .expect("second store");
        let other_node = frontdesk::app::App::new(store);
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let id = ticket(&t, kim, "Badge does not open the door", None).await;
        let who = operator(&t);
        let from = other_node.latest_event(&who).await.expect("position");
        let mut sub = other_node.subscribe_agent_events(&who, from).await.expect("subscribe").expect("a slot");
        t.app.comment_on_ticket(&who, id, note("Made on the first node")).await.expect("note");
        let e = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("in time").expect("an event");
        assert_eq!(e.kind, "ticket.commented");
        assert_eq!(e.resource["ticket"]["id"], serde_json::json!(id));
        assert!(sub.position().sequence() >= e.sequence);
    }

    async fn a_node_holds_a_bounded_number_of_live_streams(t) {
        let app = t.app.clone().with_live_options(LiveOptions { max_streams: 2, poll_every: Duration::from_millis(50) });
        let who = operator(&t);
        let first = app.subscribe_agent_events(&who, EventCursor::default()).await.expect("ok");
        let second = app.subscribe_agent_events(&who, EventCursor::default()).await.expect("ok");
        assert!(first.is_some() && second.is_some());
        assert!(app.subscribe_agent_events(&who, EventCursor::default()).await.expect("ok").is_none(), "the third waits");
        drop(first);
        assert!(app.subscribe_agent_events(&who, EventCursor::default()).await.expect("ok").is_some(), "a slot came free");
        // External users have no live feed.
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let customer = Principal::ExternalUser { user_id: kim, workspace_id: t.workspace_id.parse().expect("id") };
        assert!(matches!(app.agent_events(&customer, EventCursor::default(), 10).await, Err(AppError::Forbidden(_))));
    }
}
