//! The `commonground` command: serve (the default), migrate, seed, reindex, import-postcodes,
//! import-oruk, retention, run-jobs.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use backend::config::{Environment, Settings};
use backend::db::{self, migrations};
use backend::directory::{index_sync, postcodes, seed, taxonomy::Taxonomy};
use backend::startup::Application;
use clap::{Parser, Subcommand};

// mimalloc rather than the system allocator: building the search index frees on one thread what
// another allocated, where glibc's allocator spent a sixth of the time in its own locks and
// bookkeeping (see the README's benchmark notes).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Common Ground: social prescribing for the NHS.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application and API (the default). A first start on an empty database
    /// migrates it, loads the seed region and builds the search index.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load (or refresh) the seed region; safe to run twice.
    Seed,
    /// Rebuild the search index from the database (stop the server first).
    Reindex,
    /// Print the API's OpenAPI 3 document (for validators and client generators).
    Openapi,
    /// Anonymise closed referrals past their retention period (personal data removed, what
    /// reports count kept), each in its own transaction, with a line of progress for each.
    Retention {
        /// List what would be anonymised and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the scheduled jobs (reminders) once and exit: what a running server's scheduler does
    /// every minute. Safe beside running servers: nothing is sent twice.
    RunJobs {
        /// Only this job.
        #[arg(long)]
        job: Option<String>,
        /// List the jobs and exit.
        #[arg(long)]
        list: bool,
        /// Run as if it were this time (UTC, e.g. 2027-03-01T09:00:00Z): for tests and for
        /// seeing what a date would bring.
        #[arg(long, hide = true)]
        now: Option<String>,
    },
    /// Load Ordnance Survey Code-Point Open CSV (a file or a folder of .csv/.csv.gz).
    ImportPostcodes {
        /// The file or folder.
        path: PathBuf,
        /// Instead of loading, write converted `postcode,lat,lon` rows to this file (how
        /// `seed-data/postcodes.csv.gz` is made).
        #[arg(long)]
        convert_to: Option<PathBuf>,
    },
    /// Merge an Open Referral UK 3.0 file (a /services page, a list of full services, or one
    /// full service) into the directory: new services are created, known ones (by id) updated,
    /// invalid records reported and skipped. A running server indexes them within a second.
    ImportOruk {
        /// The JSON file.
        path: PathBuf,
        /// The e-mail of the administrator the changes are recorded as.
        #[arg(long = "as", value_name = "EMAIL")]
        actor: String,
        /// Largest file accepted, in megabytes.
        #[arg(long, default_value_t = 50)]
        max_mb: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            return ExitCode::from(2);
        }
    };
    // Held to the end: dropping it writes out the log lines still queued.
    let _log = backend::telemetry::init(&settings);
    match run(cli.command.unwrap_or(Command::Serve), settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    match command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            let mut conn = connect(&settings)?;
            let applied = migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
            println!("{} migration(s) applied on {}", applied.len(), settings.database().describe());
            Ok(())
        }
        Command::Seed => {
            let mut conn = connect(&settings)?;
            migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
            println!("Loading the seed region into {}", settings.database().describe());
            let demo = settings.env == Environment::Development;
            let summary = seed::load_all(&mut conn, demo, &mut out)?;
            if demo && summary.services > 0 {
                backend::startup::load_demo(&mut conn, &mut out)?;
            }
            println!(
                "Done: {} services, {} organisations. A running server indexes them within a second.",
                summary.services, summary.organisations
            );
            Ok(())
        }
        Command::Reindex => {
            let mut conn = connect(&settings)?;
            let taxonomy = Taxonomy::load(&mut conn)?;
            let dir = settings.index_dir();
            let (index, _) = search_index::SearchIndex::open_or_create(&dir)?;
            let mut writer =
                index.writer(2, 128 * 1024 * 1024).context("the index is in use: stop the running server first")?;
            println!("Rebuilding the search index in {}", dir.display());
            let (count, _) = index_sync::rebuild(&mut conn, &mut writer, &taxonomy, &mut out)?;
            writer.finish()?;
            println!("Done: {count} listings indexed.");
            Ok(())
        }
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&backend::routes::api::openapi::document())?);
            Ok(())
        }
        Command::Retention { dry_run } => {
            let mut conn = connect(&settings)?;
            migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
            let now = chrono::Utc::now().naive_utc();
            let summary = backend::retention::run(&mut conn, &settings.retention, now, dry_run, &mut out)?;
            if summary.failed > 0 {
                anyhow::bail!("{} referral(s) could not be anonymised; run again", summary.failed);
            }
            Ok(())
        }
        Command::RunJobs { job, list, now } => run_jobs(&settings, job.as_deref(), list, now.as_deref()),
        Command::ImportOruk { path, actor, max_mb } => import_oruk(&settings, &path, &actor, max_mb),
        Command::ImportPostcodes { path, convert_to } => {
            let started = std::time::Instant::now();
            if let Some(target) = convert_to {
                let file =
                    std::fs::File::create(&target).with_context(|| format!("cannot write {}", target.display()))?;
                let mut writer = std::io::BufWriter::new(file);
                let summary = postcodes::write_converted(&path, &mut writer)?;
                println!(
                    "Converted {} postcodes ({} skipped) to {}",
                    summary.loaded,
                    summary.skipped,
                    target.display()
                );
                return Ok(());
            }
            let mut conn = connect(&settings)?;
            migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
            println!("Importing postcodes from {} into {}", path.display(), settings.database().describe());
            let summary = postcodes::import_codepoint(&mut conn, &path, &mut out)?;
            println!(
                "Done in {:.1} s: {} postcodes loaded, {} rows skipped (no coordinates or malformed), from {} file(s).\n\
                 Contains OS data © Crown copyright and database right.",
                started.elapsed().as_secs_f64(),
                summary.loaded,
                summary.skipped,
                summary.files
            );
            Ok(())
        }
    }
}

fn import_oruk(settings: &Settings, path: &std::path::Path, actor: &str, max_mb: u64) -> anyhow::Result<()> {
    use backend::interop::oruk::import;
    let mut conn = connect(settings)?;
    migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    let actor = import::importer(&mut conn, actor)?;
    println!("Importing Open Referral UK services from {} into {}", path.display(), settings.database().describe());
    let summary = import::import_file(&mut conn, &actor, path, max_mb.saturating_mul(1024 * 1024))?;
    summary.write_to(&mut std::io::stdout())?;
    println!(
        "Schemas and examples: Human Services Data Specification, an Open Referral resource (https://openreferral.org/), CC BY-SA 4.0."
    );
    Ok(())
}

fn run_jobs(settings: &Settings, only: Option<&str>, list: bool, now: Option<&str>) -> anyhow::Result<()> {
    use backend::scheduler;
    if list {
        for job in scheduler::JOBS {
            println!("{:<28} every {:>5} s  {}", job.name, (job.every_seconds)(&settings), job.about);
        }
        return Ok(());
    }
    let now = match now {
        Some(text) => scheduler::parse_now(text).map_err(|e| anyhow::anyhow!("--now: {e}"))?,
        None => chrono::Utc::now().naive_utc(),
    };
    let mut conn = connect(settings)?;
    migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    let ran = scheduler::run_once(&mut conn, settings, now, only).map_err(|e| anyhow::anyhow!("--job: {e}"))?;
    let mut failed = 0;
    for job in &ran {
        match &job.result {
            Ok(count) => println!("{}: {count} done", job.name),
            Err(error) => {
                failed += 1;
                println!("{}: failed: {error}", job.name);
            }
        }
    }
    println!("Messages queued here are sent by a running server's delivery worker.");
    anyhow::ensure!(failed == 0, "{failed} job(s) failed");
    Ok(())
}

fn connect(settings: &Settings) -> anyhow::Result<db::DbConnection> {
    let url = settings.database();
    url.connect().with_context(|| format!("cannot open the database ({})", url.describe()))
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    let env = settings.env;
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let mut out = std::io::stdout();
        let app = Application::build(settings.clone(), &mut out)?;
        let url = settings.public_base(app.port());
        // Written, not `println!`: a full disk or a closed pipe on stdout must not stop the
        // server (println! panics when the write fails).
        let _ = writeln!(out);
        let _ = writeln!(out, "Common Ground is running at {url}/  (ready in {:.1} s)", app.startup_ms as f64 / 1000.0);
        if let Some(seeded) = &app.seeded {
            let _ = writeln!(
                out,
                "  Seeded {} community assets from {} organisations in {} categories.",
                seeded.services, seeded.organisations, seeded.top_categories
            );
        }
        let _ = writeln!(out, "  Try: {url}/?q=gardening&near=GL5+1HE&radius_km=10");
        let _ = writeln!(out, "  API: {url}/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10");
        if env == Environment::Development && !app.demo_accounts.is_empty() {
            let _ = writeln!(
                out,
                "  Demo mode: sign in at {url}/sign-in with password \"{}\" and one of:",
                backend::accounts::demo::DEMO_PASSWORD
            );
            for account in &app.demo_accounts {
                let _ = writeln!(out, "    {:<34} {:<24} {}", account.email, account.role_label, account.organisation);
            }
        }
        let _ = writeln!(out, "  Stop with Ctrl-C.");
        app.run_until_stopped().await.context("server stopped with an error")
    })
}
