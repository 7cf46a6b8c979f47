//! Building the application: database, migrations, first-start seed, search index, indexer and
//! HTTP server. Tests drive the same code with port 0 and a temporary data folder.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{self, Next};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use search_index::{IndexWriterHandle, SearchIndex};

use actix_web::HttpMessage;

use crate::accounts::demo::{self, DemoAccount};
use crate::accounts::rate_limit::SignInLimits;
use crate::accounts::tokens::{self, TokenKeys};
use crate::config::notifications::TransportKind;
use crate::config::{Environment, Settings};
use crate::db::{self, migrations, DbConnection, Pool};
use crate::directory::index_sync::{self, Indexer};
use crate::directory::listing_cache::ListingCache;
use crate::directory::seed::{self, SeedSummary};
use crate::directory::taxonomy::Taxonomy;
use crate::notifications::messages::LinkMaker;
use crate::notifications::transport;
use crate::notifications::worker::{Worker, WorkerSetup};
use crate::routes;
use crate::routes::session::{cookie_name, session_cookie, RenewedToken, SESSION_COOKIE};
use crate::state::AppState;
use crate::templates::Templates;

/// Everything ready before the server starts.
pub struct Prepared {
    /// Database connections.
    pub pool: Pool,
    /// The open index.
    pub index: Arc<SearchIndex>,
    /// Its single writer, for the indexer.
    pub writer: IndexWriterHandle,
    /// The outbox position the index reflects.
    pub cursor: i64,
    /// The vocabularies.
    pub taxonomy: Arc<RwLock<Arc<Taxonomy>>>,
    /// What the first-start seed loaded, if this was a first start.
    pub seeded: Option<SeedSummary>,
    /// The demo accounts (development only), for printing.
    pub demo_accounts: Vec<DemoAccount>,
}

/// Opens the database (migrating it), seeds a new one, and opens (or rebuilds) the index.
///
/// Migrations and the first seed run in one transaction on a connection holding the start-up
/// lock, with a `seed_state` marker written last: a start killed half-way leaves nothing behind
/// and the next start seeds again, and instances starting together take turns.
pub fn prepare(settings: &Settings, progress: &mut dyn Write) -> anyhow::Result<Prepared> {
    let url = settings.database();
    let pool = db::pool(&url, settings.db_pool_size)
        .with_context(|| format!("cannot open the database ({})", url.describe()))?;
    let mut conn =
        db::startup_connection(&url).with_context(|| format!("cannot open the database ({})", url.describe()))?;
    let demo = settings.env == Environment::Development;
    let (seeded, demo_accounts) = db::write(&mut conn, |conn| -> anyhow::Result<_> {
        let applied = migrations::run_pending(conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), "database migrated");
        }
        if seed::is_done(conn)? {
            return Ok((None, Vec::new()));
        }
        let _ = writeln!(
            progress,
            "First start: loading the seed region{}",
            if demo { " (demo mode)" } else { " (reference data only)" }
        );
        let summary = seed::load_all(conn, demo, progress)?;
        // Demo accounts exist only in development, and only where the demo directory was seeded.
        let accounts = if demo && summary.services > 0 { load_demo(conn, progress)? } else { Vec::new() };
        seed::mark_done(conn)?;
        Ok((Some(summary), accounts))
    })?;
    // Closing the start-up connection releases the lock for the next instance.
    drop(conn);
    let mut conn = pool.get().context("cannot get a database connection")?;
    let demo_accounts = if seeded.is_none() && demo { demo::existing(&mut conn)? } else { demo_accounts };
    let taxonomy = Taxonomy::load(&mut conn)?;
    let (index, writer, cursor) = index_sync::open_index(&mut conn, &settings.index_dir(), &taxonomy, progress)?;
    Ok(Prepared {
        pool,
        index: Arc::new(index),
        writer,
        cursor,
        taxonomy: Arc::new(RwLock::new(Arc::new(taxonomy))),
        seeded,
        demo_accounts,
    })
}

/// Creates the demo accounts and the demo referrals (development only); both steps leave what
/// exists alone, so the first start and `commonground seed` can each call it.
pub fn load_demo(conn: &mut DbConnection, progress: &mut dyn Write) -> anyhow::Result<Vec<DemoAccount>> {
    let accounts = db::write(conn, demo::ensure)?;
    let _ = writeln!(progress, "  demo accounts: {}", accounts.len());
    let taxonomy = Taxonomy::load(conn)?;
    let started = chrono::Utc::now().naive_utc();
    let made = crate::referrals::demo::seed(conn, &taxonomy).map_err(|e| anyhow::anyhow!("demo referrals: {e}"))?;
    let _ = writeln!(progress, "  demo referrals: {made}");
    // The demo referrals go through the real use-cases, which queue their messages: nobody
    // should be told about a demo, and a new user's outbox should hold only what they cause.
    crate::notifications::outbox::forget_queued_since(conn, started)?;
    crate::notifications::due::settle_demo(conn, started, chrono::Utc::now().naive_utc())?;
    crate::notifications::due::settle_demo_listings(conn, chrono::Utc::now().naive_utc())?;
    crate::notifications::preferences::demo_digests_off(conn)?;
    Ok(accounts)
}

/// The running application.
pub struct Application {
    server: Server,
    port: u16,
    indexer: Indexer,
    notifier: Option<Worker>,
    scheduler: Option<crate::scheduler::Scheduler>,
    /// What the first-start seed loaded, if anything.
    pub seeded: Option<SeedSummary>,
    /// How long start-up took, in milliseconds.
    pub startup_ms: u128,
    /// The demo accounts (development only).
    pub demo_accounts: Vec<DemoAccount>,
}

impl Application {
    /// Prepares everything and binds the listener (port 0 picks a free port).
    pub fn build(mut settings: Settings, progress: &mut dyn Write) -> anyhow::Result<Self> {
        let started = Instant::now();
        settings.check_for_serving()?;
        let addr = settings.bind_addr()?;
        let listener = TcpListener::bind(addr).with_context(|| {
            format!("cannot listen on {addr}: is another program using it? Set COMMONGROUND_BIND, e.g. 127.0.0.1:8081")
        })?;
        let port = listener.local_addr()?.port();
        // Links are built on this, never on request headers.
        settings.public_url = Some(settings.public_base(port));
        let prepared = prepare(&settings, progress)?;
        let templates = Templates::load_with_feedback(settings.dev_templates, settings.feedback_url.clone())?;
        let secret = tokens::signing_secret(&settings)?;
        let keys =
            Arc::new(TokenKeys::new(secret.expose().as_bytes(), settings.access_token_minutes, settings.session_hours));
        let listings = Arc::new(ListingCache::default());
        let indexer = Indexer::spawn(
            prepared.pool.clone(),
            prepared.taxonomy.clone(),
            prepared.index.clone(),
            prepared.writer,
            prepared.cursor,
            listings.clone(),
        );
        let notifier = if settings.notifications.worker {
            let links = LinkMaker {
                base: settings.public_base(port),
                key: *keys.answer_link_key(),
                answer_days: settings.notifications.answer_link_days,
                contact_days: settings.first_contact_days,
                person_key: *keys.person_key(),
            };
            let transport = transport::from_settings(&settings.notifications, &settings.data_dir)?;
            if settings.env == Environment::Production
                && settings.notifications.transport() == TransportKind::Development
            {
                tracing::warn!(
                    "no SMTP or Notify configured: messages are written to the data folder's outbox, not sent"
                );
            }
            Some(Worker::spawn(WorkerSetup {
                pool: prepared.pool.clone(),
                settings: settings.notifications.clone(),
                transport,
                links,
            })?)
        } else {
            None
        };
        let scheduler = match settings.notifications.scheduler_seconds {
            0 => None,
            seconds => Some(crate::scheduler::Scheduler::spawn(
                prepared.pool.clone(),
                settings.clone(),
                std::time::Duration::from_secs(seconds),
            )?),
        };
        let state = AppState {
            pool: prepared.pool,
            index: prepared.index,
            indexer: indexer.health(),
            listings,
            taxonomy: prepared.taxonomy,
            templates,
            settings: Arc::new(settings),
            keys,
            limits: Arc::new(SignInLimits::default()),
        };
        // Every blocking task (a search, a database read) takes a pooled connection first, so
        // threads beyond the pool's connections only wait, each keeping its stack and its
        // allocator's memory: 128 clients grew actix's default pool (512 a worker) to 158
        // threads and 931 MiB.
        const WORKERS: usize = 2;
        let blocking_threads = (state.settings.db_pool_size as usize).div_ceil(WORKERS).max(2);
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(middleware::Compress::default())
                .wrap(middleware::from_fn(crate::routes::idle::idle_sign_out))
                .wrap(middleware::from_fn(session_headers))
                .wrap(security_headers())
                .wrap(middleware::from_fn(log_request))
                .configure(routes::configure)
        })
        .workers(WORKERS)
        .worker_max_blocking_threads(blocking_threads)
        // A compressed answer is chunked, sent in more than one write: with Nagle's algorithm the
        // last write waited for the client's delayed acknowledgement (40 ms) on every request
        // after the first of a kept-alive connection.
        .tcp_nodelay(true)
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        Ok(Self {
            server,
            port,
            indexer,
            notifier,
            scheduler,
            seeded: prepared.seeded,
            startup_ms: started.elapsed().as_millis(),
            demo_accounts: prepared.demo_accounts,
        })
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped (Ctrl-C or SIGTERM: requests in flight finish), then lets the
    /// indexer commit what it has and stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        let indexer = self.indexer;
        let notifier = self.notifier;
        let scheduler = self.scheduler;
        // The indexer's last commit and the worker's last batch are blocking work.
        let _ = actix_web::rt::task::spawn_blocking(move || {
            if let Some(scheduler) = scheduler {
                scheduler.shutdown();
            }
            if let Some(worker) = notifier {
                worker.shutdown();
            }
            indexer.shutdown()
        })
        .await;
        result
    }
}

/// Security headers on every response, errors included.
fn security_headers() -> middleware::DefaultHeaders {
    middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .add(("X-Frame-Options", "DENY"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
}

/// After each response: a renewed session cookie when the session was renewed, no caching of
/// anything a signed-in person sees, and HSTS when served over TLS.
async fn session_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let tls = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.settings.tls());
    let signed_in = req.headers().contains_key(actix_web::http::header::AUTHORIZATION)
        || req.cookie(&cookie_name(SESSION_COOKIE, tls)).is_some();
    let mut response = next.call(req).await?;
    let renewed = response.request().extensions().get::<RenewedToken>().cloned();
    if let Some(RenewedToken(token)) = renewed {
        let cookie = session_cookie(&token, tls);
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(actix_web::http::header::SET_COOKIE, value);
        }
    }
    let headers = response.headers_mut();
    if signed_in {
        headers.insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
    }
    if tls {
        headers.insert(
            actix_web::http::header::STRICT_TRANSPORT_SECURITY,
            actix_web::http::header::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    Ok(response)
}

/// One log line per request: method, route pattern, status, duration. The pattern
/// (`/reset/{token}`), never the path: a path may hold a secret (a reset or invitation token)
/// or a person's details, and the query string may hold a postcode. A path no route matches
/// is logged as a placeholder, since it is whatever the caller typed.
async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let response = next.call(req).await?;
    let route = response.request().match_pattern().unwrap_or_else(|| "(no route)".to_string());
    tracing::info!(
        http.method = %method,
        http.route = %route,
        http.status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(response)
}
