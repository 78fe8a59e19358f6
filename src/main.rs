//! The `frontdesk` command: run the server, or administer a workspace from the console.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use frontdesk::app::{App, AppError, ChannelInput, GroupInput, Principal, StaffInvite, TierInput, invitation_url};
use frontdesk::config::{DEFAULT_BIND, DEFAULT_DATABASE_URL, DatabaseUrl, FileSettings};
use frontdesk::domain::{
    ChannelType, CollectionKind, DisplayName, EmailAddress, ExternalId, LocationName, Role, StaffStatus, parse_uuid,
    parse_website_role,
};
use frontdesk::store::{GroupFilter, StaffKey};
use frontdesk::{PostgresOptions, ServerOptions, open_store};
use serde_json::json;
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "frontdesk", version, about = "A self-hosted support-desk server")]
struct Cli {
    /// sqlite://PATH (embedded, the default) or postgres://USER@HOST/DB
    #[arg(long, global = true, env = "FRONTDESK_DATABASE_URL")]
    database_url: Option<String>,
    /// A `key = value` file with bind, database_url, public_url, db_max_connections,
    /// db_statement_timeout_ms, db_acquire_timeout_ms, db_schema, migrate, rate_limit_per_second
    /// (each also read from FRONTDESK_<KEY> in the environment)
    #[arg(long, global = true, env = "FRONTDESK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (creating and migrating the database on first start)
    Serve(ServeArgs),
    /// Workspaces: the tenants of this server
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// API keys of a workspace
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Channels of a workspace
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Tiers of a workspace
    #[command(subcommand)]
    Tier(TierCommand),
    /// External user groups of a workspace
    #[command(subcommand)]
    Group(GroupCommand),
    /// Locations of a workspace (what support tickets refer to)
    #[command(subcommand)]
    Location(LocationCommand),
    /// Staff users (the team) of a workspace
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Staff groups of a workspace (seed 003 `Groups`)
    #[command(subcommand, name = "staff-group")]
    StaffGroup(CollectionCommand),
    /// Staff folders of a workspace (seed 003 `Folders`)
    #[command(subcommand, name = "staff-folder")]
    StaffFolder(CollectionCommand),
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Invite a staff user (or re-invite one who has not accepted yet); prints a one-time invitation link
    Invite {
        #[command(flatten)]
        ws: WorkspaceArg,
        email: String,
        /// admin or agent (also Admin, Agent, User as in seed 003)
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
enum CollectionCommand {
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
struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "FRONTDESK_BIND")]
    bind: Option<String>,
    /// The address clients reach this server at, used in links inside responses
    #[arg(long, env = "FRONTDESK_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Args)]
struct WorkspaceArg {
    /// The workspace's id
    #[arg(long, env = "FRONTDESK_WORKSPACE")]
    workspace: String,
}

#[derive(Subcommand)]
enum WorkspaceCommand {
    /// Create a workspace with its e-mail channel; prints its id and an admin API key
    Create { name: String },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
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
enum ChannelCommand {
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
enum TierCommand {
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
enum GroupCommand {
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
enum LocationCommand {
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

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("FRONTDESK_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), String>;

struct Settings {
    file: FileSettings,
    database_url: DatabaseUrl,
    pg: PostgresOptions,
    /// Seed 002's per-credential limit on the support tickets contract; 0 = none.
    ticket_rate_limit: u32,
}

fn settings(cli: &Cli) -> Result<Settings, String> {
    let file = match &cli.config {
        Some(path) => FileSettings::load(path)?,
        None => FileSettings::default(),
    };
    // A setting without a flag of its own: `FRONTDESK_<KEY>` in the environment, else the file's `key`.
    let setting = |key: &str| {
        std::env::var(format!("FRONTDESK_{}", key.to_ascii_uppercase()))
            .ok()
            .or_else(|| file.get(key).map(str::to_owned))
    };
    let number = |key: &str| -> Result<Option<u64>, String> {
        setting(key).map(|v| v.parse().map_err(|_| format!("{key} must be a whole number"))).transpose()
    };
    let database_url =
        cli.database_url.clone().or_else(|| setting("database_url")).unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
    let mut pg = PostgresOptions::default();
    if let Some(n) = number("db_max_connections")? {
        pg.max_connections = u32::try_from(n).map_err(|_| "db_max_connections is too large")?;
    }
    if let Some(ms) = number("db_statement_timeout_ms")? {
        pg.statement_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = number("db_acquire_timeout_ms")? {
        pg.acquire_timeout = Duration::from_millis(ms);
    }
    if let Some(m) = setting("migrate") {
        pg.migrate = m.parse().map_err(|_| "migrate must be true or false")?;
    }
    pg.schema = setting("db_schema");
    let ticket_rate_limit = number("rate_limit_per_second")?.unwrap_or(0);
    let ticket_rate_limit = u32::try_from(ticket_rate_limit).map_err(|_| "rate_limit_per_second is too large")?;
    Ok(Settings { file, database_url: DatabaseUrl(database_url), pg, ticket_rate_limit })
}

async fn run(cli: Cli) -> CliResult {
    let settings = settings(&cli)?;
    let store = open_store(&settings.database_url.0, &settings.pg)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", settings.database_url))?;
    let app = App::new(Arc::clone(&store));
    match cli.command {
        Command::Serve(args) => serve(app, &settings, args).await,
        Command::Workspace(WorkspaceCommand::Create { name }) => {
            let created = app.create_workspace(&name).await.map_err(|e| e.to_string())?;
            println!("{}", created.workspace.id);
            println!("{}", created.admin_key.secret);
            Ok(())
        }
        Command::ApiKey(cmd) => api_key(&app, cmd).await,
        Command::Channel(cmd) => channel(&app, cmd).await,
        Command::Tier(cmd) => tier(&app, cmd).await,
        Command::Group(cmd) => group(&app, cmd).await,
        Command::Location(cmd) => location(&app, cmd).await,
        Command::Staff(cmd) => staff(&app, &settings, cmd).await,
        Command::StaffGroup(cmd) => staff_collection(&app, CollectionKind::Group, cmd).await,
        Command::StaffFolder(cmd) => staff_collection(&app, CollectionKind::Folder, cmd).await,
    }
}

async fn serve(app: App, settings: &Settings, args: ServeArgs) -> CliResult {
    let bind =
        args.bind.or_else(|| settings.file.get("bind").map(str::to_owned)).unwrap_or_else(|| DEFAULT_BIND.into());
    let listener = tokio::net::TcpListener::bind(&bind).await.map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let public_url = args
        .public_url
        .or_else(|| settings.file.get("public_url").map(str::to_owned))
        .unwrap_or_else(|| format!("http://{local}"));
    bootstrap(&app, &public_url).await?;
    tracing::info!(address = %local, database = %settings.database_url, "Frontdesk is listening");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    let options =
        ServerOptions { public_base_url: public_url, ticket_rate_limit_per_second: settings.ticket_rate_limit };
    frontdesk::serve(listener, app, options, shutdown).await.map_err(|e| e.to_string())
}

/// On the first start of an empty database: a workspace, its e-mail channel and an admin key.
async fn bootstrap(app: &App, public_url: &str) -> CliResult {
    let chosen = std::env::var("FRONTDESK_BOOTSTRAP_API_KEY").ok().filter(|k| !k.trim().is_empty());
    let from_env = chosen.is_some();
    let Some(created) = app.bootstrap(chosen).await.map_err(|e| e.to_string())? else {
        return Ok(());
    };
    println!("Created workspace {} with its e-mail channel {}.", created.workspace.id, created.email_channel.id);
    if from_env {
        println!("Its admin API key is the one in FRONTDESK_BOOTSTRAP_API_KEY.");
    } else {
        println!("Admin API key (shown only this once): {}", created.admin_key.secret);
    }
    println!("Try: curl -H 'authorization: <api key>' {public_url}/api/v1/external-users");
    // The first admin of the settings page, so nobody has to edit the database to get in. A failure
    // here leaves a working server: `frontdesk staff invite` does the same later.
    let email = std::env::var("FRONTDESK_BOOTSTRAP_ADMIN_EMAIL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_BOOTSTRAP_ADMIN_EMAIL.into());
    let email = EmailAddress::parse(email.trim()).map_err(|e| format!("FRONTDESK_BOOTSTRAP_ADMIN_EMAIL {e}"))?;
    let invite = StaffInvite {
        email,
        first_name: None,
        last_name: None,
        external_id: None,
        role: Role::Admin,
        password: None,
        group_ids: vec![],
        folder_ids: vec![],
    };
    let who = Principal::Operator { workspace_id: created.workspace.id };
    match app.invite_staff_user(&who, invite).await {
        Ok(invited) => {
            println!(
                "First admin {} — open this one-time link to choose a password and sign in to the settings page:",
                invited.user.email
            );
            println!("{}", invitation_url(public_url, &invited.invitation_token));
        }
        Err(e) => eprintln!("warning: could not invite the first admin ({e}); use `frontdesk staff invite`"),
    }
    Ok(())
}

/// Who the first admin is unless FRONTDESK_BOOTSTRAP_ADMIN_EMAIL says otherwise.
const DEFAULT_BOOTSTRAP_ADMIN_EMAIL: &str = "admin@example.com";

fn operator(ws: &WorkspaceArg) -> Result<Principal, String> {
    let id = parse_uuid(&ws.workspace).ok_or("--workspace must be a workspace id (UUID)")?;
    Ok(Principal::Operator { workspace_id: id })
}

fn print_json(value: serde_json::Value) -> CliResult {
    println!("{}", serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?);
    Ok(())
}

fn uuid_arg(raw: &str, what: &str) -> Result<Uuid, String> {
    parse_uuid(raw).ok_or_else(|| format!("{what} must be a UUID"))
}

async fn api_key(app: &App, cmd: ApiKeyCommand) -> CliResult {
    match cmd {
        ApiKeyCommand::Create { ws, name, role } => {
            let role = Role::parse(&role).ok_or("--role must be admin or agent")?;
            let created = app.create_api_key(&operator(&ws)?, &name, role).await.map_err(|e| e.to_string())?;
            eprintln!(
                "API key {} ({}) created; the secret is shown only this once:",
                created.key.id,
                created.key.role.as_str()
            );
            println!("{}", created.secret);
            Ok(())
        }
        ApiKeyCommand::List { ws } => {
            let keys = app.list_api_keys(&operator(&ws)?).await.map_err(|e| e.to_string())?;
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
            let key =
                app.revoke_api_key(&operator(&ws)?, uuid_arg(&id, "the key id")?).await.map_err(|e| e.to_string())?;
            eprintln!("API key {} revoked.", key.id);
            Ok(())
        }
    }
}

async fn channel(app: &App, cmd: ChannelCommand) -> CliResult {
    match cmd {
        ChannelCommand::Create { ws, name, kind } => {
            let input = ChannelInput {
                name: DisplayName::parse(&name).map_err(|e| format!("--name {e}"))?,
                kind: ChannelType::parse(&kind)
                    .ok_or("--type must be one of email, web, api, phone, chat, sms, whatsapp, other")?,
            };
            let c = app.create_channel(&operator(&ws)?, input).await.map_err(|e| e.to_string())?;
            println!("{}", c.id);
            Ok(())
        }
        ChannelCommand::List { ws } => {
            let channels = app.list_channels(&operator(&ws)?).await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = channels
                .iter()
                .map(|c| json!({"id": c.id, "name": c.name, "type": c.kind, "builtIn": c.builtin}))
                .collect();
            print_json(json!(rows))
        }
    }
}

async fn tier(app: &App, cmd: TierCommand) -> CliResult {
    match cmd {
        TierCommand::Create { ws, name, description } => {
            let input = TierInput { name: DisplayName::parse(&name).map_err(|e| format!("--name {e}"))?, description };
            let t = app.create_tier(&operator(&ws)?, input).await.map_err(|e| e.to_string())?;
            println!("{}", t.id);
            Ok(())
        }
        TierCommand::List { ws } => {
            let tiers = app.list_tiers(&operator(&ws)?, &[], None).await.map_err(|e| e.to_string())?;
            let rows: Vec<_> =
                tiers.iter().map(|t| json!({"id": t.id, "name": t.name, "description": t.description})).collect();
            print_json(json!(rows))
        }
    }
}

async fn group(app: &App, cmd: GroupCommand) -> CliResult {
    match cmd {
        GroupCommand::Create { ws, external_id, name, tier } => {
            let input = GroupInput {
                external_id: ExternalId::parse(&external_id).map_err(|e| format!("--external-id {e}"))?,
                name: DisplayName::parse(&name).map_err(|e| format!("--name {e}"))?,
                tier_id: tier.as_deref().map(|t| uuid_arg(t, "--tier")).transpose()?,
            };
            let g = app.create_group(&operator(&ws)?, input).await.map_err(|e| e.to_string())?;
            println!("{}", g.id);
            Ok(())
        }
        GroupCommand::List { ws } => {
            let paging = frontdesk::store::Paging { offset: 0, limit: i64::MAX };
            let page =
                app.list_groups(&operator(&ws)?, &GroupFilter::default(), paging).await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = page
                .items
                .iter()
                .map(|g| json!({"id": g.id, "externalId": g.external_id, "name": g.name, "tierId": g.tier_id}))
                .collect();
            print_json(json!(rows))
        }
    }
}

async fn location(app: &App, cmd: LocationCommand) -> CliResult {
    match cmd {
        LocationCommand::Create { ws, name } => {
            let name = LocationName::parse(name.trim()).map_err(|e| format!("--name {e}"))?;
            let l = app.create_location(&operator(&ws)?, name).await.map_err(|e| e.to_string())?;
            println!("{}", l.id);
            Ok(())
        }
        LocationCommand::List { ws } => {
            let locations = app.list_locations(&operator(&ws)?).await.map_err(|e| e.to_string())?;
            let rows: Vec<_> = locations.iter().map(|l| json!({"id": l.id, "name": l.name})).collect();
            print_json(json!(rows))
        }
    }
}

async fn staff(app: &App, settings: &Settings, cmd: StaffCommand) -> CliResult {
    match cmd {
        StaffCommand::Invite { ws, email, role, public_url } => {
            let who = operator(&ws)?;
            let email = EmailAddress::parse(email.trim()).map_err(|e| format!("EMAIL {e}"))?;
            let role = parse_website_role(&role).map_err(|e| format!("--role {e}"))?;
            let public_url = public_url
                .or_else(|| settings.file.get("public_url").map(str::to_owned))
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
                        role,
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
            let who = operator(&ws)?;
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

async fn staff_collection(app: &App, kind: CollectionKind, cmd: CollectionCommand) -> CliResult {
    match cmd {
        CollectionCommand::Create { ws, name } => {
            let name = DisplayName::parse(name.trim()).map_err(|e| format!("--name {e}"))?;
            let c = app.create_staff_collection(&operator(&ws)?, kind, name).await.map_err(|e| e.to_string())?;
            println!("{}", c.id);
            Ok(())
        }
        CollectionCommand::List { ws } => {
            let all = app.list_staff_collections(&operator(&ws)?, kind).await.map_err(|e| e.to_string())?;
            print_json(json!(all.iter().map(|c| json!({"id": c.id, "name": c.name})).collect::<Vec<_>>()))
        }
    }
}
