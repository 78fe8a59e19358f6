//! Console administration of a workspace: API keys, channels, tiers, groups, locations, staff,
//! automatic matching, erasure and webhook subscriptions.
//!
//! Each command acts as the machine's operator (`Principal::Operator`) through the same use cases the
//! APIs use, and prints ids or JSON on stdout; messages for people go to stderr.

use clap::{Args, Subcommand};
use frontdesk::app::{
    App, AppError, ChannelInput, GroupInput, Principal, StaffInvite, TierInput, WebhookChanges, invitation_url,
};
use frontdesk::app::{GroupFilter, StaffKey};
use frontdesk::config::DEFAULT_BIND;
use frontdesk::domain::webhook::{WebhookSecret, WebhookUrl, parse_types, webhook_json};
use frontdesk::domain::{
    ChannelType, CollectionKind, DisplayName, EmailAddress, ExternalId, LocationName, Role, StaffStatus, parse_uuid,
    parse_website_role,
};
use serde_json::json;
use uuid::Uuid;

use crate::CliResult;

#[derive(Subcommand)]
pub(crate) enum StaffCommand {
    /// Invite a staff user (or re-invite one who has not accepted yet); prints a one-time invitation link
    Invite {
        #[command(flatten)]
        ws: WorkspaceArg,
        email: String,
        /// admin or agent (also Admin, Agent, User as the users API writes them)
        #[arg(long, default_value = "agent")]
        role: String,
        /// The address people reach this server at; the link points there
        #[arg(long, env = "FRONTDESK_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Turn a staff user's account off: it can no longer sign in
    Disable {
        #[command(flatten)]
        ws: WorkspaceArg,
        /// The user's id or e-mail address
        user: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum CollectionCommand {
    Create {
        #[command(flatten)]
        ws: WorkspaceArg,
        #[arg(long)]
        name: String,
    },
    List {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
}

#[derive(Args)]
pub(crate) struct WorkspaceArg {
    /// The workspace's id; may be left out while the server has only one workspace
    #[arg(long, env = "FRONTDESK_WORKSPACE")]
    pub(crate) workspace: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum ApiKeyCommand {
    /// Create a key; prints the secret once
    Create {
        #[command(flatten)]
        ws: WorkspaceArg,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "agent", value_parser = ["admin", "agent"])]
        role: String,
    },
    List {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
    Revoke {
        #[command(flatten)]
        ws: WorkspaceArg,
        id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ChannelCommand {
    Create {
        #[command(flatten)]
        ws: WorkspaceArg,
        #[arg(long)]
        name: String,
        #[arg(long = "type")]
        kind: String,
    },
    List {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
}

#[derive(Subcommand)]
pub(crate) enum TierCommand {
    Create {
        #[command(flatten)]
        ws: WorkspaceArg,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    List {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
}

#[derive(Subcommand)]
pub(crate) enum GroupCommand {
    Create {
        #[command(flatten)]
        ws: WorkspaceArg,
        #[arg(long)]
        external_id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        tier: Option<String>,
    },
    List {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
}

#[derive(Subcommand)]
pub(crate) enum LocationCommand {
    /// Create a location; prints its id
    Create {
        #[command(flatten)]
        ws: WorkspaceArg,
        #[arg(long)]
        name: String,
    },
    List {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
}

#[derive(Subcommand)]
pub(crate) enum MatchingCommand {
    /// New external users join the super identity of one on another channel with the same e-mail or phone
    On {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
    /// Every new external user gets a super identity of its own (the default)
    Off {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
    /// Prints whether automatic matching is on
    Show {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
}

#[derive(Subcommand)]
pub(crate) enum WebhookCommand {
    /// Subscribe a URL to the workspace's events; prints the subscription with its secret, shown only this once
    Create {
        #[command(flatten)]
        ws: WorkspaceArg,
        /// Where deliveries are posted (http://)
        #[arg(long)]
        url: String,
        /// Comma-separated event types (e.g. ticket.created,ticket.commented); every type when left out
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// The signing secret (whsec_ and the base64 of 24 to 64 bytes); a random one when left out
        #[arg(long, env = "FRONTDESK_WEBHOOK_SECRET")]
        secret: Option<String>,
        /// Create it disabled
        #[arg(long)]
        disabled: bool,
    },
    /// Prints the workspace's subscriptions (never their secrets)
    List {
        #[command(flatten)]
        ws: WorkspaceArg,
    },
    Delete {
        #[command(flatten)]
        ws: WorkspaceArg,
        id: String,
    },
    /// Stop deliveries; events keep being recorded and are delivered once it is enabled again
    Disable {
        #[command(flatten)]
        ws: WorkspaceArg,
        id: String,
    },
    /// Turn deliveries on again (clears the reason the server disabled it for)
    Enable {
        #[command(flatten)]
        ws: WorkspaceArg,
        id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum EraseCommand {
    /// Erase a person: every external user of the super identity (docs/privacy.md)
    Person {
        #[command(flatten)]
        ws: WorkspaceArg,
        /// The super identity id
        id: String,
    },
    /// Erase one external user (docs/privacy.md)
    ExternalUser {
        #[command(flatten)]
        ws: WorkspaceArg,
        /// The external user id
        id: String,
    },
}

/// The operator acting in the named workspace, or in the server's only one when none is named.
pub(crate) async fn operator(app: &App, ws: &WorkspaceArg) -> Result<Principal, String> {
    let workspace_id = match &ws.workspace {
        Some(raw) => parse_uuid(raw).ok_or("--workspace must be a workspace id (UUID)")?,
        None => app
            .sole_workspace()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("this server has several workspaces (or none): name one with --workspace ID")?,
    };
    Ok(Principal::Operator { workspace_id })
}

fn print_json(value: serde_json::Value) -> CliResult {
    println!("{}", serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?);
    Ok(())
}

fn uuid_arg(raw: &str, what: &str) -> Result<Uuid, String> {
    parse_uuid(raw).ok_or_else(|| format!("{what} must be a UUID"))
}

pub(crate) async fn api_key(app: &App, cmd: ApiKeyCommand) -> CliResult {
    match cmd {
        ApiKeyCommand::Create { ws, name, role } => {
            let role = Role::parse(&role).ok_or("--role must be admin or agent")?;
            let created =
                app.create_api_key(&operator(app, &ws).await?, &name, role).await.map_err(|e| e.to_string())?;
            eprintln!(
                "API key {} ({}) created; the secret is shown only this once:",
                created.key.id,
                created.key.role.as_str()
            );
            println!("{}", created.secret);
            Ok(())
        }
        ApiKeyCommand::List { ws } => {
            let keys = app.list_api_keys(&operator(app, &ws).await?).await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = keys
                .iter()
                .map(|k| {
                    json!({
                        "id": k.id, "name": k.name, "role": k.role, "prefix": k.prefix,
                        "createdAt": k.created_at, "lastUsedAt": k.last_used_at, "revokedAt": k.revoked_at,
                    })
                })
                .collect();
            print_json(json!(rows))
        }
        ApiKeyCommand::Revoke { ws, id } => {
            let key = app
                .revoke_api_key(&operator(app, &ws).await?, uuid_arg(&id, "the key id")?)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("API key {} revoked.", key.id);
            Ok(())
        }
    }
}

pub(crate) async fn channel(app: &App, cmd: ChannelCommand) -> CliResult {
    match cmd {
        ChannelCommand::Create { ws, name, kind } => {
            let input = ChannelInput {
                name: DisplayName::parse(&name).map_err(|e| format!("--name {e}"))?,
                kind: ChannelType::parse(&kind)
                    .ok_or("--type must be one of email, web, api, phone, chat, sms, whatsapp, other")?,
            };
            let c = app.create_channel(&operator(app, &ws).await?, input).await.map_err(|e| e.to_string())?;
            println!("{}", c.id);
            Ok(())
        }
        ChannelCommand::List { ws } => {
            let channels = app.list_channels(&operator(app, &ws).await?).await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = channels
                .iter()
                .map(|c| json!({"id": c.id, "name": c.name, "type": c.kind, "builtIn": c.builtin}))
                .collect();
            print_json(json!(rows))
        }
    }
}

pub(crate) async fn tier(app: &App, cmd: TierCommand) -> CliResult {
    match cmd {
        TierCommand::Create { ws, name, description } => {
            let input = TierInput { name: DisplayName::parse(&name).map_err(|e| format!("--name {e}"))?, description };
            let t = app.create_tier(&operator(app, &ws).await?, input).await.map_err(|e| e.to_string())?;
            println!("{}", t.id);
            Ok(())
        }
        TierCommand::List { ws } => {
            let tiers = app.list_tiers(&operator(app, &ws).await?, &[], None).await.map_err(|e| e.to_string())?;
            let rows: Vec<_> =
                tiers.iter().map(|t| json!({"id": t.id, "name": t.name, "description": t.description})).collect();
            print_json(json!(rows))
        }
    }
}

pub(crate) async fn group(app: &App, cmd: GroupCommand) -> CliResult {
    match cmd {
        GroupCommand::Create { ws, external_id, name, tier } => {
            let input = GroupInput {
                external_id: ExternalId::parse(&external_id).map_err(|e| format!("--external-id {e}"))?,
                name: DisplayName::parse(&name).map_err(|e| format!("--name {e}"))?,
                tier_id: tier.as_deref().map(|t| uuid_arg(t, "--tier")).transpose()?,
            };
            let g = app.create_group(&operator(app, &ws).await?, input).await.map_err(|e| e.to_string())?;
            println!("{}", g.id);
            Ok(())
        }
        GroupCommand::List { ws } => {
            let paging = frontdesk::app::Paging { offset: 0, limit: i64::MAX };
            let page = app
                .list_groups(&operator(app, &ws).await?, &GroupFilter::default(), paging)
                .await
                .map_err(|e| e.to_string())?;
            let rows: Vec<_> = page
                .items
                .iter()
                .map(|g| json!({"id": g.id, "externalId": g.external_id, "name": g.name, "tierId": g.tier_id}))
                .collect();
            print_json(json!(rows))
        }
    }
}

pub(crate) async fn location(app: &App, cmd: LocationCommand) -> CliResult {
    match cmd {
        LocationCommand::Create { ws, name } => {
            let name = LocationName::parse(name.trim()).map_err(|e| format!("--name {e}"))?;
            let l = app.create_location(&operator(app, &ws).await?, name).await.map_err(|e| e.to_string())?;
            println!("{}", l.id);
            Ok(())
        }
        LocationCommand::List { ws } => {
            let locations = app.list_locations(&operator(app, &ws).await?).await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = locations.iter().map(|l| json!({"id": l.id, "name": l.name})).collect();
            print_json(json!(rows))
        }
    }
}

/// `configured_public_url` is the config file's `public_url`, used when `--public-url` is not given.
pub(crate) async fn staff(app: &App, configured_public_url: Option<&str>, cmd: StaffCommand) -> CliResult {
    match cmd {
        StaffCommand::Invite { ws, email, role, public_url } => {
            let who = operator(app, &ws).await?;
            let email = EmailAddress::parse(email.trim()).map_err(|e| format!("EMAIL {e}"))?;
            let role = parse_website_role(&role).map_err(|e| format!("--role {e}"))?;
            let public_url = public_url
                .or_else(|| configured_public_url.map(str::to_owned))
                .unwrap_or_else(|| format!("http://{DEFAULT_BIND}"));
            let existing = app.find_staff_member(&who, StaffKey::Email(email.as_str())).await;
            let (id, token) = match existing {
                Ok(member) if member.user.status == StaffStatus::Invited => {
                    let token = app.reinvite_staff_user(&who, member.user.id).await.map_err(|e| e.to_string())?;
                    (member.user.id, token)
                }
                Ok(member) => {
                    return Err(format!("{} is already {}", member.user.email, member.user.status.title()));
                }
                Err(AppError::NotFound(_)) => {
                    let invite = StaffInvite {
                        email,
                        first_name: None,
                        last_name: None,
                        external_id: None,
                        role: role.role,
                        role_named_user: role.named_user,
                        password: None,
                        group_ids: vec![],
                        folder_ids: vec![],
                    };
                    let created = app.invite_staff_user(&who, invite).await.map_err(|e| e.to_string())?;
                    (created.user.id, created.invitation_token)
                }
                Err(e) => return Err(e.to_string()),
            };
            eprintln!("Staff user {id} invited; the link works once and is shown only this once:");
            println!("{}", invitation_url(&public_url, &token));
            Ok(())
        }
        StaffCommand::Disable { ws, user } => {
            let who = operator(app, &ws).await?;
            let key = match parse_uuid(&user) {
                Some(id) => StaffKey::Id(id),
                None => StaffKey::Email(user.as_str()),
            };
            let member = app.find_staff_member(&who, key).await.map_err(|e| e.to_string())?;
            let user = app.disable_staff_user(&who, member.user.id).await.map_err(|e| e.to_string())?;
            eprintln!("Staff user {} ({}) is now {}.", user.id, user.email, user.status.title());
            Ok(())
        }
    }
}

pub(crate) async fn staff_collection(app: &App, kind: CollectionKind, cmd: CollectionCommand) -> CliResult {
    match cmd {
        CollectionCommand::Create { ws, name } => {
            let name = DisplayName::parse(name.trim()).map_err(|e| format!("--name {e}"))?;
            let c =
                app.create_staff_collection(&operator(app, &ws).await?, kind, name).await.map_err(|e| e.to_string())?;
            println!("{}", c.id);
            Ok(())
        }
        CollectionCommand::List { ws } => {
            let all = app.list_staff_collections(&operator(app, &ws).await?, kind).await.map_err(|e| e.to_string())?;
            print_json(json!(all.iter().map(|c| json!({"id": c.id, "name": c.name})).collect::<Vec<_>>()))
        }
    }
}

pub(crate) async fn matching(app: &App, cmd: MatchingCommand) -> CliResult {
    let (ws, set) = match cmd {
        MatchingCommand::On { ws } => (ws, Some(true)),
        MatchingCommand::Off { ws } => (ws, Some(false)),
        MatchingCommand::Show { ws } => (ws, None),
    };
    let who = operator(app, &ws).await?;
    let enabled = match set {
        Some(on) => app.set_automatic_matching(&who, on).await,
        None => app.automatic_matching(&who).await,
    }
    .map_err(|e| e.to_string())?;
    print_json(json!({"enabled": enabled}))
}

pub(crate) async fn erase(app: &App, cmd: EraseCommand) -> CliResult {
    match cmd {
        EraseCommand::Person { ws, id } => {
            let id = uuid_arg(&id, "the super identity id")?;
            let erased = app.erase_person(&operator(app, &ws).await?, id).await.map_err(|e| e.to_string())?;
            print_json(json!({"erasedExternalUsers": erased}))
        }
        EraseCommand::ExternalUser { ws, id } => {
            let id = uuid_arg(&id, "the external user id")?;
            app.erase_external_user(&operator(app, &ws).await?, id).await.map_err(|e| e.to_string())?;
            print_json(json!({"erasedExternalUsers": 1}))
        }
    }
}

pub(crate) async fn webhook(app: &App, cmd: WebhookCommand) -> CliResult {
    let set_enabled = |ws, id, enabled| (ws, id, enabled);
    let (ws, id, enabled) = match cmd {
        WebhookCommand::Create { ws, url, events, secret, disabled } => {
            let url = WebhookUrl::parse(url.trim()).map_err(|e| format!("--url {e}"))?;
            let names: Vec<serde_json::Value> =
                events.iter().map(|e| e.trim()).filter(|e| !e.is_empty()).map(|e| json!(e)).collect();
            let types = parse_types(&json!(names)).map_err(|e| format!("--events {e}"))?;
            let secret =
                secret.as_deref().map(WebhookSecret::parse).transpose().map_err(|e| format!("--secret {e}"))?;
            let who = operator(app, &ws).await?;
            let created = app.create_webhook(&who, url, types, !disabled, secret).await.map_err(|e| e.to_string())?;
            eprintln!("Webhook {} created; its secret is shown only this once.", created.webhook.id);
            let mut body = webhook_json(&created.webhook);
            body["secret"] = json!(created.secret);
            return print_json(body);
        }
        WebhookCommand::List { ws } => {
            let all = app.list_webhooks(&operator(app, &ws).await?).await.map_err(|e| e.to_string())?;
            return print_json(json!(all.iter().map(webhook_json).collect::<Vec<_>>()));
        }
        WebhookCommand::Delete { ws, id } => {
            let id = uuid_arg(&id, "the webhook id")?;
            app.delete_webhook(&operator(app, &ws).await?, id).await.map_err(|e| e.to_string())?;
            eprintln!("Webhook {id} deleted.");
            return Ok(());
        }
        WebhookCommand::Disable { ws, id } => set_enabled(ws, id, false),
        WebhookCommand::Enable { ws, id } => set_enabled(ws, id, true),
    };
    let id = uuid_arg(&id, "the webhook id")?;
    let changes = WebhookChanges { enabled: Some(enabled), ..WebhookChanges::default() };
    let w = app.update_webhook(&operator(app, &ws).await?, id, changes).await.map_err(|e| e.to_string())?;
    print_json(webhook_json(&w))
}
