//! When the database cannot serve (SQLite locked by another process, PostgreSQL stopped), the
//! server answers 503 with Retry-After within a couple of seconds (JSON on the API, a page for
//! pages), `/readyz` does not hang, and service comes back with the database, without a
//! restart. A use-case that panics inside a write does not leave its transaction on a pooled
//! connection.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use backend::db::schema::places;
use backend::db::{self, DatabaseUrl, DbConnection};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::helpers::{empty_database, engine, spawn_app, spawn_with, test_settings, Answer, TestApp};

/// A bound on "quickly": generous for a loaded machine, far below the old waits (10 s for a
/// SQLite lock, 15 s for the pool).
const QUICK: Duration = Duration::from_secs(5);

fn garden_club() -> String {
    backend::directory::seed::service_id("stroud-community-gardening-club-garden")
}

fn timed(f: impl FnOnce() -> Answer) -> (Answer, Duration) {
    let started = Instant::now();
    let answer = f();
    (answer, started.elapsed())
}

fn assert_unavailable_json(answer: &Answer, took: Duration, what: &str) {
    println!("{what}: {} in {} ms", answer.status, took.as_millis());
    assert_eq!(answer.status, 503, "{what}: {}", answer.body);
    assert!(took < QUICK, "{what} took {took:?}");
    assert!(answer.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()), "{what}: Retry-After");
    assert_eq!(answer.json()["error"]["code"], "unavailable", "{what}");
}

#[test]
fn a_write_to_a_locked_sqlite_database_answers_503_with_retry_after_quickly() {
    if engine() != "sqlite" {
        println!("skipped: SQLite only (this run uses {})", engine());
        return;
    }
    let app = spawn_app();
    let editor = app.mint_token("garden.editor@demo.example.org");
    let verify = format!("/api/v1/services/{}/verify", garden_club());
    let mut browser = app.browser();
    browser.sign_in("garden.editor@demo.example.org", crate::helpers::DEMO_PASSWORD);
    browser.get("/my/listings");
    let csrf = browser.csrf();

    // Another process (here, another connection) holds the write lock.
    let mut holder = app.db();
    holder.batch_execute("BEGIN EXCLUSIVE").unwrap();
    let (api, took) = timed(|| app.call("POST", &verify, Some(&editor), None));
    assert_unavailable_json(&api, took, "API write while locked");
    let (page, took) = timed(|| browser.post(&format!("/my/listings/{}/verify", garden_club()), &[("csrf", &csrf)]));
    assert_eq!(page.status, 503, "page write while locked: {}", page.body);
    assert!(took < QUICK, "page write took {took:?}");
    assert!(page.header("retry-after").is_some(), "page Retry-After");
    assert!(
        page.content_type.starts_with("text/html") && page.body.contains("Not available just now"),
        "{}",
        page.body
    );
    // Signing in writes (the audit row, the attempt count): while locked it is a 503 too, on
    // the API and the page, not a 500 (the sign-in use-case once turned database errors into
    // strings before they reached `error.rs`).
    let body = r#"{"email": "garden.editor@demo.example.org", "password": "green-valley-tea-party"}"#;
    let (login, took) = timed(|| app.call("POST", "/api/v1/auth/login", None, Some(body)));
    assert_unavailable_json(&login, took, "API sign-in while locked");
    let mut visitor = app.browser();
    visitor.get("/sign-in");
    let token = visitor.csrf();
    let fields =
        [("csrf", token.as_str()), ("email", "garden.editor@demo.example.org"), ("password", "green-valley-tea-party")];
    let (signing_in, took) = timed(|| visitor.post("/sign-in", &fields));
    assert_eq!(signing_in.status, 503, "page sign-in while locked: {}", signing_in.body);
    assert!(took < QUICK, "page sign-in took {took:?}");
    // Reads go on beside the lock (WAL).
    assert_eq!(app.get(&format!("/api/v1/services/{}", garden_club())).status, 200);
    assert_eq!(app.get("/readyz").status, 200);

    holder.batch_execute("ROLLBACK").unwrap();
    assert_eq!(app.call("POST", &verify, Some(&editor), None).status, 200, "writes work once the lock is gone");
}

/// A write that panics inside `db::write` is rolled back, and its connection does not go back
/// to the pool with the transaction open: later writes succeed and are committed.
#[test]
fn a_panic_inside_a_write_leaves_the_pool_usable() {
    let dir = tempfile::tempdir().unwrap();
    let url = empty_database(dir.path());
    backend::db::migrations::run_pending(&mut url.connect().unwrap()).unwrap();
    // One connection, so the one that panicked is the one used next (unless it was closed).
    let pool = db::pool(&url, 1).unwrap();
    let insert = |conn: &mut DbConnection, name: &str| -> QueryResult<usize> {
        diesel::insert_into(places::table)
            .values((
                places::id.eq(format!("place-{name}")),
                places::name.eq(name),
                places::name_key.eq(name),
                places::county.eq("Gloucestershire"),
                places::latitude.eq(51.74),
                places::longitude.eq(-2.22),
            ))
            .execute(conn)
    };
    let panicked = std::thread::spawn({
        let pool = pool.clone();
        move || {
            let mut conn = pool.get().unwrap();
            let _: QueryResult<()> = db::write(&mut conn, |c| {
                insert(c, "panicked")?;
                panic!("a bug in a use-case, half-way through its transaction");
            });
        }
    })
    .join();
    assert!(panicked.is_err(), "the use-case panicked");

    for name in ["after-1", "after-2"] {
        let mut conn = pool.get().unwrap();
        db::write(&mut conn, |c| insert(c, name)).unwrap_or_else(|e| panic!("write {name} on {}: {e}", engine()));
    }
    // Seen from another connection: committed, and nothing of the panicked write.
    let names: Vec<String> =
        places::table.select(places::name).order(places::name).load(&mut url.connect().unwrap()).unwrap();
    assert_eq!(names, ["after-1", "after-2"], "on {}", engine());
}

/// A PostgreSQL cluster of this test's own, in a temporary folder, that it can stop and start.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    /// Creates and starts a cluster, or says why it cannot.
    fn start() -> Result<Self, String> {
        let bin = PathBuf::from("/usr/lib/postgresql/15/bin");
        if !bin.join("initdb").exists() || !bin.join("pg_ctl").exists() {
            return Err(format!("no initdb/pg_ctl in {}", bin.display()));
        }
        let dir = tempfile::Builder::new().prefix("cg-pg-faults").tempdir().map_err(|e| e.to_string())?;
        // Above the ephemeral port range that tests' own sockets use.
        let port = (62000 + (std::process::id() % 2000) as u16..65000)
            .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .ok_or("no free port")?;
        let cluster = Self { bin, dir, port };
        cluster.run(&format!(
            "{}/initdb -D {}/data -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null",
            cluster.bin.display(),
            cluster.dir.path().display()
        ))?;
        cluster.pg_ctl("start")?;
        Ok(cluster)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs a shell command as the cluster's owner (initdb and postgres refuse root).
    fn run(&self, command: &str) -> Result<(), String> {
        let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
        let status = if root {
            Command::new("chown").args(["-R", "postgres"]).arg(self.dir.path()).status().map_err(|e| e.to_string())?;
            Command::new("su").args(["-s", "/bin/sh", "postgres", "-c", command]).status()
        } else {
            Command::new("sh").args(["-c", command]).status()
        };
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("`{command}` failed: {s}")),
            Err(e) => Err(format!("`{command}`: {e}")),
        }
    }

    fn pg_ctl(&self, action: &str) -> Result<(), String> {
        let dir = self.dir.path().display();
        let options = format!("-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off", self.port);
        self.run(&format!(
            "{}/pg_ctl -D {dir}/data -l {dir}/server.log -w -m fast -o '{options}' {action} >/dev/null",
            self.bin.display()
        ))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run(&format!(
            "{}/pg_ctl -D {}/data -m immediate stop >/dev/null 2>&1",
            self.bin.display(),
            self.dir.path().display()
        ));
    }
}

#[test]
fn a_stopped_postgresql_answers_503_quickly_and_service_resumes_when_it_is_back() {
    let cluster = match Cluster::start() {
        Ok(c) => c,
        Err(reason) => {
            println!("skipped: cannot run a PostgreSQL cluster of our own ({reason})");
            return;
        }
    };
    let data_dir = tempfile::tempdir().unwrap();
    let database = DatabaseUrl::Postgres(cluster.url());
    let app: TestApp = spawn_with(test_settings(data_dir.path(), &database), data_dir, database);
    let listing = format!("/api/v1/services/{}", garden_club());
    let page = format!("/services/{}", garden_club());
    assert_eq!(app.get(&listing).status, 200);
    assert_eq!(app.get("/readyz").status, 200);

    cluster.pg_ctl("stop").unwrap();
    for round in 0..3 {
        let (api, took) = timed(|| app.get(&listing));
        assert_unavailable_json(&api, took, &format!("API read {round} while PostgreSQL is down"));
        let (ready, took) = timed(|| app.get("/readyz"));
        assert_eq!(ready.status, 503, "{}", ready.body);
        assert!(took < QUICK, "/readyz took {took:?}");
        assert_eq!(ready.json()["database"], false);
        let (html, took) = timed(|| app.get(&page));
        assert_eq!(html.status, 503, "page while down: {}", html.body);
        assert!(took < QUICK, "page took {took:?}");
        assert!(html.header("retry-after").is_some() && html.body.contains("Not available just now"));
    }

    cluster.pg_ctl("start").unwrap();
    let back = Instant::now();
    while app.get("/readyz").status != 200 {
        assert!(back.elapsed() < Duration::from_secs(20), "not ready 20 s after PostgreSQL came back");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("ready again {} ms after PostgreSQL came back", back.elapsed().as_millis());
    assert_eq!(app.get(&listing).status, 200, "reads work again without a restart");
}
