//! The `aftercare` command: parses the command line and hands over to an adapter.

use aftercare::cli::chat::Chat;
use aftercare::cli::{audit, classify, eval};
use aftercare::config::{Config, UpdateSource};
use aftercare::escalation::Paging;
use aftercare::store::{PatientId, SledStore};
use aftercare::telegram::BotToken;
use aftercare::triage::catalogue::{CatalogueSource, Problems};
use aftercare::triage::dialogue::{Engine, Settings};
use aftercare::triage::Catalogue;
use anyhow::Context;
use clap::{Parser, Subcommand};
use jiff::Timestamp;
use std::io::IsTerminal;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Exit status for invalid data files or arguments (clap uses 2 for usage errors too).
const EXIT_INVALID: u8 = 2;

#[derive(Parser)]
#[command(name = "aftercare", version, about = "Looks after patients in the hours and days after ketamine treatment")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Talk to the bot in the terminal as a patient (no token, no network). State is kept in --data.
    Chat {
        /// The data directory (default: `storage.data_dir` of the config, "data").
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// The configuration file (default: the built-in config/aftercare.toml).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Read the catalogue from this folder instead of the one built in.
        #[arg(long, value_name = "DIR")]
        intents: Option<PathBuf>,
        /// Which patient you are (a chat id); each id has its own conversation.
        #[arg(long, value_name = "ID", default_value_t = 1)]
        patient: i64,
    },
    /// Run the Telegram bot (token from TELOXIDE_TOKEN; API from TELOXIDE_API_URL when set).
    Serve {
        /// The configuration file (default: the built-in config/aftercare.toml).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The data directory (default: `storage.data_dir` of the config).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Read the catalogue from this folder instead of the one built in.
        #[arg(long, value_name = "DIR")]
        intents: Option<PathBuf>,
    },
    /// Export the audit log (incident events, staff actions, messages' intents; no patient text).
    Audit {
        /// Only events at or after this time: "2026-11-29", "2026-11-29 14:00" (clinic time) or RFC 3339.
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: audit::Format,
        /// The data directory (default: `storage.data_dir` of the config).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// The configuration file (for the data directory and the clinic's time zone).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Write every stored record to FILE as JSON Lines (stop `aftercare serve` first: the data directory is locked).
    Backup {
        file: PathBuf,
        /// The data directory (default: `storage.data_dir` of the config).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// The configuration file (for the data directory).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Load a backup made by `aftercare backup` into a new, empty data directory.
    Restore {
        file: PathBuf,
        /// The data directory to fill (default: `storage.data_dir` of the config); must be empty.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// The configuration file (for the data directory).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Classify messages, one per line on stdin; one JSON object per line on stdout.
    Classify {
        /// Each input line is a JSON object with a `text` field (other fields ignored).
        #[arg(long)]
        jsonl: bool,
        /// Read the catalogue from this folder instead of the one built in.
        #[arg(long, value_name = "DIR")]
        intents: Option<PathBuf>,
    },
    /// Validate the catalogue and a config file: every problem as `path:line: field: reason`; exit 2 if any.
    Check {
        /// The catalogue folder to check (default: the one built in).
        #[arg(long, value_name = "DIR")]
        intents: Option<PathBuf>,
        /// A configuration file to check too.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Score the matcher on a labelled JSON Lines file (format of shared/eval/dev.jsonl).
    Eval {
        /// The labelled file.
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Read the catalogue from this folder instead of the one built in.
        #[arg(long, value_name = "DIR")]
        intents: Option<PathBuf>,
    },
}

/// jemalloc rather than glibc's allocator: glibc gave each of the server's threads (tokio's,
/// sled's, the processor) an arena of its own and kept what they freed, so memory stayed at its
/// peak; jemalloc hands freed memory back (see the README's load benchmark).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main` (a C string; `_RJEM_MALLOC_CONF` in the environment
/// still overrides them), measured on the load benchmark: one arena (one processing thread does
/// most of the allocating, and each arena keeps its own spare pages); freed pages handed back to
/// the system at once rather than kept for reuse (7 MB less than keeping them 0.1 s); and each
/// thread caching blocks up to 4 KiB only (the default 32 KiB kept 7 MB more; 1 KiB cost a tenth
/// of the throughput, the larger blocks going back and forth to the system).
#[export_name = "_rjem_malloc_conf"]
static ALLOCATOR_OPTIONS: &[u8; 60] = b"narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0,tcache_max:4096\0";

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr, warnings only unless RUST_LOG says otherwise. Patient text is logged at
    // debug level at most.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        // Output piped into `head` and closed early: not a failure.
        Err(e)
            if e.chain()
                .any(|c| c.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Chat { data, config, intents, patient } => {
            let Some(config) = load_config(config.as_deref())? else {
                return Ok(ExitCode::from(EXIT_INVALID));
            };
            let Some(catalogue) = load_catalogue(intents.as_deref())? else {
                return Ok(ExitCode::from(EXIT_INVALID));
            };
            let data = data.unwrap_or_else(|| config.data_dir.clone());
            let store =
                SledStore::open(&data).with_context(|| format!("opening the data directory {}", data.display()))?;
            let settings = Settings::from(&config);
            let roster = &config.roster;
            let chat = Chat {
                engine: Engine::new(&catalogue, &settings),
                store: &store,
                paging: Paging {
                    roster: roster.is_configured().then_some(roster),
                    fallback_chat: config.telegram.staff_chat_id,
                },
                patient: PatientId(patient),
                clock: &Timestamp::now,
            };
            let interactive = io::stdin().is_terminal();
            chat.run(io::stdin().lock(), &mut io::stdout().lock(), interactive)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config, data, intents } => serve(config.as_deref(), data, intents.as_deref()),
        Command::Audit { since, format, data, config } => {
            let Some(config) = load_config(config.as_deref())? else {
                return Ok(ExitCode::from(EXIT_INVALID));
            };
            let since = match since.map(|s| audit::parse_since(&s, &config.clinic.time_zone)).transpose() {
                Ok(since) => since,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(EXIT_INVALID));
                }
            };
            let data = data.unwrap_or_else(|| config.data_dir.clone());
            let store =
                SledStore::open(&data).with_context(|| format!("opening the data directory {}", data.display()))?;
            match audit::run(&store, since, format, &mut io::stdout().lock()) {
                Ok(_) => Ok(ExitCode::SUCCESS),
                // `aftercare audit | head` closes the pipe early: that is not a failure.
                Err(audit::AuditError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
                Err(e) => Err(e.into()),
            }
        }
        Command::Backup { file, data, config } => {
            let Some(config) = load_config(config.as_deref())? else {
                return Ok(ExitCode::from(EXIT_INVALID));
            };
            let data = data.unwrap_or_else(|| config.data_dir.clone());
            if !data.exists() {
                // Opening would create an empty store and back up nothing.
                eprintln!("error: no data directory at {}", data.display());
                return Ok(ExitCode::from(EXIT_INVALID));
            }
            let store =
                SledStore::open(&data).with_context(|| format!("opening the data directory {}", data.display()))?;
            let count = aftercare::cli::backup::backup_to_file(&store, &file)
                .with_context(|| format!("backing up {} to {}", data.display(), file.display()))?;
            eprintln!("backed up {count} records to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file, data, config } => {
            use aftercare::cli::backup::{restore_from_file, BackupError};
            let Some(config) = load_config(config.as_deref())? else {
                return Ok(ExitCode::from(EXIT_INVALID));
            };
            let data = data.unwrap_or_else(|| config.data_dir.clone());
            let store =
                SledStore::open(&data).with_context(|| format!("opening the data directory {}", data.display()))?;
            match restore_from_file(&store, &file) {
                Ok(count) => {
                    eprintln!("restored {count} records into {}", data.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(BackupError::NotEmpty) => {
                    eprintln!("error: {}: {}", data.display(), BackupError::NotEmpty);
                    Ok(ExitCode::from(EXIT_INVALID))
                }
                Err(
                    e @ (BackupError::Line { .. }
                    | BackupError::NoHeader
                    | BackupError::NewerFormat { .. }
                    | BackupError::NewerSchema { .. }
                    | BackupError::Incomplete { .. }),
                ) => {
                    eprintln!("error: {}: {e}", file.display());
                    Ok(ExitCode::from(EXIT_INVALID))
                }
                Err(e) => Err(e).with_context(|| format!("restoring {} into {}", file.display(), data.display())),
            }
        }
        Command::Classify { jsonl, intents } => {
            let Some(catalogue) = load_catalogue(intents.as_deref())? else {
                return Ok(ExitCode::from(EXIT_INVALID));
            };
            let format = if jsonl { classify::InputFormat::JsonLines } else { classify::InputFormat::PlainLines };
            classify::run(&catalogue, format, io::stdin().lock(), &mut io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { intents, config } => check(intents.as_deref(), config.as_deref()),
        Command::Eval { file, json, intents } => {
            // Evaluation runs on whatever compiles, so a catalogue can be measured while it is
            // being written; the problems are still shown.
            let (catalogue, problems) = Catalogue::check(&catalogue_source(intents.as_deref())?);
            for problem in &problems {
                eprintln!("warning: {problem}");
            }
            let Some(catalogue) = catalogue else {
                return Ok(ExitCode::from(EXIT_INVALID));
            };
            let reader =
                BufReader::new(std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?);
            let items = eval::read_items(reader).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let report = eval::evaluate(&catalogue, &items);
            let mut out = io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            } else {
                eval::write_text(&report, &mut out)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve(config: Option<&Path>, data: Option<PathBuf>, intents: Option<&Path>) -> anyhow::Result<ExitCode> {
    let token = match BotToken::from_env() {
        Ok(token) => token,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    let api_url = match std::env::var("TELOXIDE_API_URL") {
        Ok(text) => match url::Url::parse(text.trim_end_matches('/')) {
            Ok(url) => Some(url),
            Err(e) => {
                eprintln!("error: TELOXIDE_API_URL is not a URL: {e}");
                return Ok(ExitCode::from(EXIT_INVALID));
            }
        },
        Err(_) => None,
    };
    let Some(config) = load_config(config)? else {
        return Ok(ExitCode::from(EXIT_INVALID));
    };
    let Some(catalogue) = load_catalogue(intents)? else {
        return Ok(ExitCode::from(EXIT_INVALID));
    };
    let webhook_secret = match &config.telegram.source {
        UpdateSource::Polling => None,
        UpdateSource::Webhook(hook) => match std::env::var(&hook.secret_env) {
            Ok(secret)
                if (16..=256).contains(&secret.len())
                    && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                Some(secret)
            }
            _ => {
                eprintln!(
                    "error: webhook mode needs a secret of 16 to 256 letters, digits, '_' or '-' in the environment variable {}",
                    hook.secret_env
                );
                return Ok(ExitCode::from(EXIT_INVALID));
            }
        },
    };
    let data = data.unwrap_or_else(|| config.data_dir.clone());
    let store = SledStore::open(&data).with_context(|| format!("opening the data directory {}", data.display()))?;
    let mut bot = teloxide::Bot::new(token.expose());
    if let Some(url) = api_url {
        bot = bot.set_api_url(url);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: finishing what is in flight");
            let _ = stop.send(true);
        });
        aftercare::telegram::serve(bot, std::sync::Arc::new(store), catalogue, config, webhook_secret, shutdown).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// SIGINT (Ctrl-C) or SIGTERM (service managers).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Loads the configuration file, or the built-in one; prints every problem and returns `None`.
fn load_config(path: Option<&Path>) -> anyhow::Result<Option<Config>> {
    let Some(path) = path else {
        return Ok(Some(Config::default()));
    };
    let contents = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match Config::parse(&path.display().to_string(), &contents) {
        Ok(config) => Ok(Some(config)),
        Err(Problems(problems)) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            Ok(None)
        }
    }
}

fn catalogue_source(dir: Option<&Path>) -> anyhow::Result<CatalogueSource> {
    match dir {
        Some(dir) => {
            CatalogueSource::from_dir(dir).with_context(|| format!("reading the catalogue folder {}", dir.display()))
        }
        None => Ok(CatalogueSource::embedded()),
    }
}

/// Loads the catalogue, or prints every problem and returns `None`.
fn load_catalogue(dir: Option<&Path>) -> anyhow::Result<Option<Catalogue>> {
    match Catalogue::load(&catalogue_source(dir)?) {
        Ok(catalogue) => Ok(Some(catalogue)),
        Err(Problems(problems)) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            eprintln!("the catalogue has {} problem(s); run `aftercare check` for the full list", problems.len());
            Ok(None)
        }
    }
}

fn check(dir: Option<&Path>, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (catalogue, mut problems) = Catalogue::check(&catalogue_source(dir)?);
    if let Some(path) = config {
        let contents = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if let Err(Problems(config_problems)) = Config::parse(&path.display().to_string(), &contents) {
            problems.extend(config_problems);
        }
    }
    let mut out = io::stdout().lock();
    for problem in &problems {
        writeln!(out, "{problem}")?;
    }
    let Some(catalogue) = catalogue.filter(|_| problems.is_empty()) else {
        writeln!(out, "{} problem(s) found", problems.len())?;
        return Ok(ExitCode::from(EXIT_INVALID));
    };
    let examples: usize = catalogue.intents().iter().map(|i| i.examples.len() + i.counter_examples.len()).sum();
    let config_note = if config.is_some() { ", config valid" } else { "" };
    writeln!(
        out,
        "ok: {} intents, {examples} examples and counter-examples checked{config_note}",
        catalogue.intents().len()
    )?;
    Ok(ExitCode::SUCCESS)
}
