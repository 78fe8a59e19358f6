//! The `frontdesk` command: run the server (here), or administer a workspace from the console
//! (`admin`).

mod admin;
mod allocator;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use frontdesk::app::{App, DEFAULT_CREDENTIAL_CACHE_TTL, Principal, StaffInvite, invitation_url};
use frontdesk::config::{DEFAULT_BIND, FileSettings, Settings};
use frontdesk::domain::{CollectionKind, EmailAddress, Role};
use frontdesk::{ServerOptions, open_store};

#[derive(Parser)]
#[command(name = "frontdesk", version, about = "A self-hosted support-desk server")]
struct Cli {
    /// sqlite://PATH (embedded, the default) or postgres://USER@HOST/DB
    #[arg(long, global = true, env = "FRONTDESK_DATABASE_URL")]
    database_url: Option<String>,
    /// A TOML file with bind, database_url, public_url, db_max_connections,
    /// db_statement_timeout_ms, db_acquire_timeout_ms, db_schema, migrate, rate_limit_per_second, event_retention_days
    /// (each also read from FRONTDESK_<KEY> in the environment); any other key is an error
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
    ApiKey(admin::ApiKeyCommand),
    /// Channels of a workspace
    #[command(subcommand)]
    Channel(admin::ChannelCommand),
    /// Tiers of a workspace
    #[command(subcommand)]
    Tier(admin::TierCommand),
    /// External user groups of a workspace
    #[command(subcommand)]
    Group(admin::GroupCommand),
    /// Locations of a workspace (what support tickets refer to)
    #[command(subcommand)]
    Location(admin::LocationCommand),
    /// Automatic matching of new external users by e-mail or phone (off by default)
    #[command(subcommand)]
    Matching(admin::MatchingCommand),
    /// Erase a person or an external user (the right to be forgotten; docs/privacy.md)
    #[command(subcommand)]
    Erase(admin::EraseCommand),
    /// Import external users (and customers) from an NDJSON or CSV file; prints the report
    Import(transfer::ImportArgs),
    /// Export external users (the list's filters) as NDJSON or CSV to standard output
    Export(transfer::ExportArgs),
    /// Staff users (the team) of a workspace
    #[command(subcommand)]
    Staff(admin::StaffCommand),
    /// Staff groups of a workspace (the users API's `Groups`)
    #[command(subcommand, name = "staff-group")]
    StaffGroup(admin::CollectionCommand),
    /// Staff folders of a workspace (the users API's `Folders`)
    #[command(subcommand, name = "staff-folder")]
    StaffFolder(admin::CollectionCommand),
    /// Webhook subscriptions of a workspace: signed deliveries of its events (docs/webhooks.md)
    #[command(subcommand)]
    Webhook(admin::WebhookCommand),
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

#[derive(Subcommand)]
enum WorkspaceCommand {
    /// Create a workspace with its e-mail channel; prints its id and an admin API key
    Create { name: String },
}

fn main() -> ExitCode {
    allocator::bound_arenas();
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

fn settings(cli: &Cli) -> Result<Settings, String> {
    let file = match &cli.config {
        Some(path) => FileSettings::load(path)?,
        None => FileSettings::default(),
    };
    let env = FileSettings::from_env(|name| std::env::var(name).ok())?;
    Settings::resolve(file, env, cli.database_url.clone())
}

async fn run(cli: Cli) -> CliResult {
    let settings = settings(&cli)?;
    let store = open_store(&settings.database_url.0, &settings.pg)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", settings.database_url))?;
    let app = App::with_credential_cache_ttl(
        Arc::clone(&store),
        settings.credential_cache_ttl.unwrap_or(DEFAULT_CREDENTIAL_CACHE_TTL),
    );
    match cli.command {
        Command::Serve(args) => serve(app, &settings, args).await,
        Command::Workspace(WorkspaceCommand::Create { name }) => {
            let created = app.create_workspace(&name).await.map_err(|e| e.to_string())?;
            println!("{}", created.workspace.id);
            println!("{}", created.admin_key.secret);
            Ok(())
        }
        Command::ApiKey(cmd) => admin::api_key(&app, cmd).await,
        Command::Channel(cmd) => admin::channel(&app, cmd).await,
        Command::Tier(cmd) => admin::tier(&app, cmd).await,
        Command::Group(cmd) => admin::group(&app, cmd).await,
        Command::Location(cmd) => admin::location(&app, cmd).await,
        Command::Matching(cmd) => admin::matching(&app, cmd).await,
        Command::Erase(cmd) => admin::erase(&app, cmd).await,
        Command::Import(args) => transfer::import(&app, args).await,
        Command::Export(args) => transfer::export(&app, args).await,
        Command::Staff(cmd) => admin::staff(&app, settings.public_url.as_deref(), cmd).await,
        Command::StaffGroup(cmd) => admin::staff_collection(&app, CollectionKind::Group, cmd).await,
        Command::StaffFolder(cmd) => admin::staff_collection(&app, CollectionKind::Folder, cmd).await,
        Command::Webhook(cmd) => admin::webhook(&app, cmd).await,
    }
}

async fn serve(app: App, settings: &Settings, args: ServeArgs) -> CliResult {
    let bind = args.bind.or_else(|| settings.bind.clone()).unwrap_or_else(|| DEFAULT_BIND.into());
    let listener = tokio::net::TcpListener::bind(&bind).await.map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let public_url =
        args.public_url.or_else(|| settings.public_url.clone()).unwrap_or_else(|| format!("http://{local}"));
    if let Some(warning) = frontdesk::http::plain_http_warning(local, &public_url, &settings.limits.trusted_proxies) {
        tracing::warn!("{warning}");
    }
    bootstrap(&app, &public_url).await?;
    tracing::info!(address = %local, database = %settings.database_url, "Frontdesk is listening");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    let options = ServerOptions {
        public_base_url: public_url,
        ticket_rate_limit_per_second: settings.ticket_rate_limit,
        webhooks: frontdesk::app::WebhookOptions::default().configured(
            settings.webhook_allow_private_targets,
            settings.webhook_timeout,
            settings.webhook_retry_base,
        ),
        idempotency_key_ttl: None,
        limits: settings.limits.clone(),
        metrics_token: settings.metrics_token.as_ref().map(|t| t.0.trim().to_owned()),
        purge: Default::default(),
        event_retention: frontdesk::app::RetentionOptions { window: settings.event_retention, ..Default::default() },
    };
    frontdesk::serve(listener, app, options, shutdown).await.map_err(|e| e.to_string())
}

/// On the first start of an empty database: a workspace, its e-mail channel and an admin key.
async fn bootstrap(app: &App, public_url: &str) -> CliResult {
    let chosen = std::env::var("FRONTDESK_BOOTSTRAP_API_KEY").ok().filter(|k| !k.trim().is_empty());
    if let Some(weak) = chosen.as_deref().and_then(frontdesk::app::bootstrap_key_weakness) {
        return Err(format!("FRONTDESK_BOOTSTRAP_API_KEY is refused: {weak}"));
    }
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
        role_named_user: false,
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
