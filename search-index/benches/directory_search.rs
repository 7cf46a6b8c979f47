//! Directory search benchmark: Common Ground's tantivy index against SQLite FTS5 + R*Tree (the
//! fair, tuned setup a team would otherwise pick), on synthetic directories of community assets
//! placed at real postcodes.
//!
//! ```sh
//! cargo bench -p search-index                          # 100,000 and 1,000,000 listings
//! BENCH_SIZES=20000 cargo bench -p search-index        # a quick look
//! ```
//!
//! Each (size, engine) runs in its own child process, so peak RSS is that run's own. Queries are
//! run single-threaded; p50 and p99 are over `BENCH_QUERIES` queries per class (default 300).
//!
//! For working on one side: `BENCH_ENGINES=tantivy` skips SQLite; `BENCH_REUSE_INDEX=1` keeps
//! the tantivy index between runs (no build figures then); `BENCH_ONLY=text_r5` runs one class;
//! `BENCH_SLOW_MS=3` prints each query slower than that; `BENCH_RSS_NOTES=1` prints memory after
//! each phase; `BENCH_HEAP_MB` and `BENCH_THREADS` set the index writer's (256 MB, 2 threads);
//! `BENCH_SKIP_LAG=1` skips the edit-to-searchable measurement; `BENCH_DUMP=FILE` appends every
//! answer (ids, exact scores, fits) to FILE, for checking that a change keeps every ranking.
//! Listings sit at real postcodes: all of Great Britain's when `../shared/data/codepoint-open`
//! is present, else the seed region's (`seed-data/postcodes.csv.gz`); `BENCH_POINTS=region`
//! forces the seed region.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use search_index::{GeoPoint, SearchIndex, SearchRequest, ServiceDocument, Sort, Visibility};

// The allocator the server uses (backend/src/main.rs), so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NOW: i64 = 1_795_000_000;
const DAY: i64 = 86_400;

// ------------------------------------------------------------------------------------------------
// Synthetic directory

struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// (category slug, words used in names and descriptions). Weighted by repetition below.
const CATEGORIES: &[(&str, &[&str])] = &[
    ("peer-support", &["peer", "support", "share", "experience", "together", "listening", "group"]),
    ("diabetes-education", &["diabetes", "blood", "sugar", "education", "nurse", "type", "manage", "diet"]),
    ("gardening", &["gardening", "garden", "allotment", "grow", "vegetables", "compost", "seeds", "orchard"]),
    ("visual-arts", &["art", "painting", "drawing", "craft", "watercolour", "studio", "creative", "pottery"]),
    ("walking-groups", &["walking", "walk", "stroll", "footpath", "countryside", "ramble", "pace"]),
    ("mens-sheds", &["shed", "woodwork", "tools", "repair", "workshop", "men", "making"]),
    ("befriending", &["befriending", "friendship", "company", "lonely", "visit", "chat", "volunteer"]),
    ("debt-advice", &["debt", "money", "advice", "benefits", "budgeting", "bills", "adviser"]),
    ("carers-support", &["carers", "caring", "respite", "cafe", "support", "break"]),
    ("mindfulness", &["mindfulness", "relaxation", "calm", "breathing", "meditation", "wellbeing"]),
    ("cooking-and-nutrition", &["cooking", "cook", "recipes", "healthy", "eating", "kitchen", "meals"]),
    ("volunteering", &["volunteering", "volunteer", "help", "community", "projects", "skills"]),
    ("bereavement", &["bereavement", "grief", "loss", "bereaved", "cafe", "talk"]),
    ("job-clubs", &["job", "jobs", "cv", "interview", "employment", "work", "skills"]),
    ("digital-inclusion", &["computer", "digital", "online", "tablet", "smartphone", "internet", "email"]),
    ("choirs", &["choir", "singing", "sing", "songs", "voices", "music"]),
    ("parents-and-families", &["parents", "baby", "toddlers", "families", "mums", "dads", "play"]),
    ("housing-advice", &["housing", "tenancy", "rent", "homeless", "landlord", "advice"]),
    ("dementia", &["dementia", "memory", "cafe", "carers", "music", "reminiscence"]),
    ("social-groups", &["lunch", "club", "coffee", "morning", "social", "friendly", "games"]),
];
const CATEGORY_WEIGHTS: &[usize] = &[8, 4, 6, 6, 6, 3, 8, 5, 4, 4, 4, 4, 3, 3, 3, 4, 4, 2, 3, 10];
const COMMON: &[&str] = &[
    "welcome",
    "everyone",
    "friendly",
    "group",
    "weekly",
    "session",
    "sessions",
    "community",
    "local",
    "people",
    "meet",
    "new",
    "tea",
    "cake",
    "hall",
    "church",
    "centre",
    "library",
    "village",
    "town",
    "free",
    "small",
    "cost",
    "join",
    "bring",
    "anything",
    "nothing",
    "need",
    "booking",
    "drop",
    "come",
    "along",
    "time",
    "morning",
    "afternoon",
    "evening",
    "volunteers",
    "staff",
    "safe",
    "space",
    "relaxed",
    "supportive",
    "learn",
    "try",
    "fun",
    "chat",
    "older",
    "younger",
    "adults",
    "all",
    "ages",
    "abilities",
    "accessible",
    "parking",
    "bus",
    "route",
    "nearby",
];
const ADJECTIVES: &[&str] = &[
    "Community",
    "Friendly",
    "Valley",
    "Riverside",
    "Village",
    "Green",
    "Oak",
    "Willow",
    "Hillside",
    "Market",
    "Abbey",
    "Meadow",
];
const KINDS: &[&str] =
    &["Group", "Club", "Circle", "Cafe", "Project", "Network", "Hub", "Drop-in", "Society", "Workshop"];
const DAYS: &[&str] = &["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const AUDIENCES: &[&str] =
    &["everyone", "older-people", "carers", "young-adults", "men", "women", "lgbtq", "new-parents"];
const CAPACITY: &[&str] = &["accepting", "accepting", "accepting", "accepting", "waitlist", "full", "paused"];

fn weighted_category(rng: &mut Rng) -> usize {
    let total: usize = CATEGORY_WEIGHTS.iter().sum();
    let mut roll = rng.below(total);
    for (i, w) in CATEGORY_WEIGHTS.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    0
}

/// The i-th synthetic listing, the same every time.
fn listing(i: usize, points: &[(String, f64, f64)]) -> (ServiceDocument, usize, String) {
    let mut rng = Rng::new(i as u64 + 1);
    let cat = weighted_category(&mut rng);
    let (slug, words) = CATEGORIES[cat];
    // The place is the second draw: the build's map order relies on it.
    let (postcode, lat, lon) = &points[rng.below(points.len())];
    let area = postcode.split(' ').next().unwrap_or("");
    let name = format!("{} {} {} {}", area, rng.pick(ADJECTIVES), capitalise(rng.pick(words)), rng.pick(KINDS));
    let summary = format!("A {} {} for {} in {area}.", rng.pick(COMMON), rng.pick(words), rng.pick(COMMON));
    let mut description = String::new();
    for _ in 0..(18 + rng.below(20)) {
        let w = if rng.chance(40) { rng.pick(words) } else { rng.pick(COMMON) };
        description.push_str(w);
        description.push(' ');
    }
    let keywords: Vec<String> = (0..3).map(|_| rng.pick(words).to_string()).collect();
    let verified_days = if rng.chance(60) {
        rng.below(60)
    } else if rng.chance(60) {
        200 + rng.below(100)
    } else {
        400 + rng.below(80)
    };
    let day_count = 1 + rng.below(2);
    let days: Vec<String> = (0..day_count).map(|_| rng.pick(DAYS).to_string()).collect();
    let doc = ServiceDocument {
        id: bench_id(i),
        name,
        summary,
        description,
        keywords,
        organisation: format!("{} {} Trust", area, rng.pick(ADJECTIVES)),
        categories: vec![slug.to_string()],
        taxonomy_names: vec![slug.replace('-', " ")],
        audiences: vec![rng.pick(AUDIENCES).to_string()],
        accessibility: if rng.chance(50) { vec!["step-free".into()] } else { vec![] },
        days,
        free: rng.chance(70),
        attendance: if rng.chance(90) { "in_person".into() } else { "online".into() },
        capacity: rng.pick(CAPACITY).to_string(),
        status: "active".into(),
        visibility: Visibility::Public,
        locations: vec![GeoPoint::new(*lat, *lon).unwrap()],
        last_verified: NOW - verified_days as i64 * DAY,
        areas: vec![],
    };
    (doc, cat, slug.to_string())
}

/// Listing ids are UUIDs; the bench's encode the listing number.
fn bench_id(i: usize) -> String {
    uuid::Uuid::from_u64_pair(0, i as u64).to_string()
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn read_gz(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    text
}

fn parse_points(text: &str) -> Vec<(String, f64, f64)> {
    text.lines()
        .filter_map(|l| {
            let mut c = l.split(',');
            Some((c.next()?.to_string(), c.next()?.parse().ok()?, c.next()?.parse().ok()?))
        })
        .collect()
}

fn shared_codepoint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/codepoint-open")
}

/// Where listings are placed: every GB postcode when `../shared/data/codepoint-open` is present
/// (converted from the National Grid once and cached in the work folder), else the seed
/// region's postcodes. `BENCH_POINTS=region` forces the seed region.
fn prepare_points(workdir: &Path) -> (PathBuf, &'static str) {
    let region = Path::new(env!("CARGO_MANIFEST_DIR")).join("../seed-data/postcodes.csv.gz");
    if std::env::var("BENCH_POINTS").as_deref() == Ok("region") || !shared_codepoint().exists() {
        return (region, "the seed region's 121,000 postcodes");
    }
    let cache = workdir.join("gb-postcodes.csv");
    if !cache.exists() {
        eprintln!("converting Great Britain's postcodes from the National Grid (once) ...");
        let mut out = String::new();
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(shared_codepoint()).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files.iter().filter(|p| p.to_string_lossy().ends_with(".csv.gz")) {
            for line in read_gz(file).lines() {
                let c: Vec<&str> = line.split(',').collect();
                if c.len() < 4 || c[1] == "90" {
                    continue;
                }
                let (Ok(e), Ok(n)) = (c[2].parse::<f64>(), c[3].parse::<f64>()) else { continue };
                if let Ok((lon, lat)) = lonlat_bng::convert_osgb36_to_ll(e, n) {
                    out.push_str(&format!("{},{lat:.6},{lon:.6}\n", c[0]));
                }
            }
        }
        std::fs::write(&cache, out).unwrap();
    }
    (cache, "all 1.74 million postcodes of Great Britain (Code-Point Open)")
}

fn load_points() -> Vec<(String, f64, f64)> {
    let path = PathBuf::from(std::env::var("BENCH_POINTS_FILE").expect("set by the parent process"));
    let text = if path.extension().is_some_and(|e| e == "gz") {
        read_gz(&path)
    } else {
        std::fs::read_to_string(&path).unwrap()
    };
    parse_points(&text)
}

// ------------------------------------------------------------------------------------------------
// Query classes

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Class {
    Text,
    TextRadius5,
    TextRadius25,
    CategoryNearest,
    TextCategoryRadius,
    TypoPrefix,
}

impl Class {
    const ALL: [Class; 6] = [
        Class::Text,
        Class::TextRadius5,
        Class::TextRadius25,
        Class::CategoryNearest,
        Class::TextCategoryRadius,
        Class::TypoPrefix,
    ];
    fn label(self) -> &'static str {
        match self {
            Class::Text => "text only",
            Class::TextRadius5 => "text + 5 km",
            Class::TextRadius25 => "text + 25 km",
            Class::CategoryNearest => "category + nearest (25 km)",
            Class::TextCategoryRadius => "text + category + 10 km",
            Class::TypoPrefix => "typo / prefix",
        }
    }
}

const TEXTS: &[&str] = &[
    "gardening",
    "walking group",
    "diabetes education",
    "art class",
    "choir",
    "mens shed",
    "debt advice",
    "bereavement support",
    "lunch club",
    "carers cafe",
    "mindfulness",
    "cooking",
    "computer help",
    "job club",
    "housing advice",
    "baby group",
    "volunteering",
    "memory cafe",
    "peer support",
    "befriending",
];
const TYPOS: &[&str] = &[
    "gardning",
    "walkin",
    "diabetis",
    "bereavment",
    "choi",
    "mindfull",
    "cookin",
    "befriendin",
    "allotmen",
    "computr",
];

struct Query {
    class: Class,
    text: String,
    origin: Option<(f64, f64)>,
    radius_km: Option<f64>,
    category: Option<String>,
}

fn queries(points: &[(String, f64, f64)], per_class: usize) -> Vec<Query> {
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    // BENCH_ONLY=text_r25 (a class key) runs one class, for profiling it.
    let only = std::env::var("BENCH_ONLY").ok();
    for class in Class::ALL {
        for _ in 0..per_class {
            let (_, lat, lon) = points[rng.below(points.len())].clone();
            let cat = CATEGORIES[rng.below(CATEGORIES.len())].0.to_string();
            let text = rng.pick(TEXTS).to_string();
            let q = match class {
                Class::Text => Query { class, text, origin: None, radius_km: None, category: None },
                Class::TextRadius5 => {
                    Query { class, text, origin: Some((lat, lon)), radius_km: Some(5.0), category: None }
                }
                Class::TextRadius25 => {
                    Query { class, text, origin: Some((lat, lon)), radius_km: Some(25.0), category: None }
                }
                Class::CategoryNearest => Query {
                    class,
                    text: String::new(),
                    origin: Some((lat, lon)),
                    radius_km: Some(25.0),
                    category: Some(cat),
                },
                Class::TextCategoryRadius => {
                    Query { class, text, origin: Some((lat, lon)), radius_km: Some(10.0), category: Some(cat) }
                }
                Class::TypoPrefix => {
                    Query { class, text: rng.pick(TYPOS).to_string(), origin: None, radius_km: None, category: None }
                }
            };
            if only.as_deref().is_none_or(|key| key == class_key(class)) {
                out.push(q);
            }
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn rss_note(phase: &str) {
    if std::env::var("BENCH_RSS_NOTES").is_ok() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let pick = |k: &str| status.lines().find(|l| l.starts_with(k)).unwrap_or("").to_string();
        eprintln!("{phase}: {} {} {} {}", pick("VmHWM"), pick("VmRSS"), pick("RssAnon"), pick("RssFile"));
    }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() {
                        dir_size(&e.path())
                    } else {
                        m.len()
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// One child's result line: key=value pairs.
fn emit(pairs: &[(&str, String)]) {
    let line: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT {}", line.join(" "));
}

fn latencies(class_times: &BTreeMap<Class, Vec<Duration>>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (class, times) in class_times {
        let mut t = times.clone();
        t.sort();
        out.push((
            class_key(*class),
            format!("{:.3},{:.3}", percentile(&t, 0.5).as_secs_f64() * 1e3, percentile(&t, 0.99).as_secs_f64() * 1e3),
        ));
    }
    out
}

fn class_key(c: Class) -> &'static str {
    match c {
        Class::Text => "text",
        Class::TextRadius5 => "text_r5",
        Class::TextRadius25 => "text_r25",
        Class::CategoryNearest => "cat_nearest",
        Class::TextCategoryRadius => "text_cat_r10",
        Class::TypoPrefix => "typo_prefix",
    }
}

// ------------------------------------------------------------------------------------------------
// tantivy

fn run_tantivy(n: usize, per_class: usize, workdir: &Path) {
    let points = load_points();
    rss_note("points loaded");
    let dir = workdir.join(format!("tantivy-{n}"));
    // BENCH_REUSE_INDEX=1 keeps the index of an earlier run (for working on queries); the build
    // figures are then not measured.
    let reuse = std::env::var("BENCH_REUSE_INDEX").is_ok() && dir.exists();
    if !reuse {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (index, _) = SearchIndex::open_or_create(&dir).unwrap();
    let started = Instant::now();
    let mut build = Duration::ZERO;
    if !reuse || index.num_docs() != n as u64 {
        let heap_mb: usize = std::env::var("BENCH_HEAP_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
        let threads: usize = std::env::var("BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
        let mut writer = index.writer(threads, heap_mb * 1024 * 1024).unwrap();
        // In map order, as the server's rebuild adds listings (`index_sync::rebuild`): each
        // listing's place is its generator's second draw, so the order costs no documents held.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_cached_key(|&i| {
            let mut rng = Rng::new(i as u64 + 1);
            let _category = weighted_category(&mut rng);
            let (_, lat, lon) = &points[rng.below(points.len())];
            GeoPoint::new(*lat, *lon).unwrap().map_order()
        });
        for i in order {
            writer.add_new(&listing(i, &points).0).unwrap();
        }
        writer.commit("0").unwrap();
        build = started.elapsed();
        rss_note("committed");
        // Measure queries on the settled index, as a server sees it once merges finish.
        writer.finish().unwrap();
        rss_note("merged");
    }
    let mut writer = index.writer(1, 64 * 1024 * 1024).unwrap();
    let rate = n as f64 / build.as_secs_f64();

    let mut times: BTreeMap<Class, Vec<Duration>> = BTreeMap::new();
    let mut totals: BTreeMap<Class, usize> = BTreeMap::new();
    for q in queries(&points, per_class) {
        let mut filters = BTreeMap::new();
        if let Some(c) = &q.category {
            filters.insert("category".to_string(), vec![c.clone()]);
        }
        let req = SearchRequest {
            text: q.text.clone(),
            origin: q.origin.map(|(la, lo)| GeoPoint::new(la, lo).unwrap()),
            radius_km: q.radius_km,
            filters,
            sort: if q.class == Class::CategoryNearest { Sort::Distance } else { Sort::Relevance },
            offset: 0,
            limit: 20,
            public_only: true,
            now: NOW,
            // Like the SQLite side: the top 20 and the total, no facet counts.
            facets: false,
            explain: false,
        };
        let t = Instant::now();
        let found = index.search(&req).unwrap();
        let took = t.elapsed();
        if std::env::var("BENCH_SLOW_MS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|ms| took.as_secs_f64() * 1e3 > ms)
        {
            eprintln!(
                "slow {:?} {:.1} ms: {:?} at {:?} r {:?} {:?} -> {} (help: {})",
                q.class,
                took.as_secs_f64() * 1e3,
                q.text,
                q.origin,
                q.radius_km,
                q.category,
                found.total,
                found.help.is_some()
            );
        }
        if let Ok(path) = std::env::var("BENCH_DUMP") {
            // Every answer in full (ids, exact scores and fits), to compare two builds' rankings.
            use std::io::Write;
            let mut out = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
            writeln!(
                out,
                "{:?} {:?} {:?} {:?} {:?} total {}",
                q.class, q.text, q.origin, q.radius_km, q.category, found.total
            )
            .unwrap();
            for hit in &found.hits {
                writeln!(out, "  {} {:?} {:?} {:?}", hit.id, hit.score, hit.fit, hit.distance_km).unwrap();
            }
        }
        times.entry(q.class).or_default().push(took);
        *totals.entry(q.class).or_default() += found.total;
    }

    rss_note("queried");
    // Edit-to-searchable lag at 10 edits/s, with the backend's policy: commit at most every
    // 500 ms, the reader reloaded after each commit.
    let edits = if std::env::var("BENCH_SKIP_LAG").is_ok() { 1 } else { 150 };
    let (tx, rx) = mpsc::channel::<(usize, Instant)>();
    let producer = std::thread::spawn(move || {
        for k in 0..edits {
            tx.send((k, Instant::now())).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut lags = Vec::new();
    let mut pending: Vec<Instant> = Vec::new();
    let mut last_commit = Instant::now();
    let mut done = false;
    while !done || !pending.is_empty() {
        loop {
            match rx.try_recv() {
                Ok((k, at)) => {
                    let (mut doc, _, _) = listing(k, &points);
                    doc.name = format!("Edited listing zqx{k}");
                    writer.upsert(&doc).unwrap();
                    pending.push(at);
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    done = true;
                    break;
                }
            }
        }
        if !pending.is_empty() && (last_commit.elapsed() >= Duration::from_millis(500) || done) {
            writer.commit("0").unwrap();
            last_commit = Instant::now();
            for at in pending.drain(..) {
                lags.push(at.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    producer.join().unwrap();
    let last = format!("zqx{}", edits - 1);
    let check = index.search(&SearchRequest { text: last, limit: 1, now: NOW, ..Default::default() }).unwrap();
    assert_eq!(
        check.hits.first().map(|h| h.id.as_str()),
        Some(bench_id(edits - 1).as_str()),
        "the last edit is searchable"
    );
    lags.sort();

    let mut out = vec![
        ("engine", "tantivy".to_string()),
        ("n", n.to_string()),
        ("build_s", format!("{:.2}", build.as_secs_f64())),
        ("rate", format!("{rate:.0}")),
        ("size_mib", format!("{:.1}", dir_size(&dir) as f64 / 1048576.0)),
        (
            "edit_lag_ms",
            format!(
                "{:.0},{:.0}",
                percentile(&lags, 0.5).as_secs_f64() * 1e3,
                percentile(&lags, 0.99).as_secs_f64() * 1e3
            ),
        ),
        ("mean_hits", format!("{}", totals.values().sum::<usize>() / (per_class * Class::ALL.len()).max(1))),
    ];
    out.extend(latencies(&times));
    drop(writer);
    drop(index);
    out.push(("peak_rss_mib", format!("{:.0}", peak_rss_mib())));
    emit(&out);
    if std::env::var("BENCH_REUSE_INDEX").is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ------------------------------------------------------------------------------------------------
// SQLite FTS5 + R*Tree

/// Levenshtein distance of at most one (the typo tolerance both engines give words of 5+ letters).
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long.iter()).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        short[prefix + 1.min(short.len() - prefix)..] == long[prefix + 1.min(long.len() - prefix)..]
    } else {
        short[prefix..] == long[prefix + 1..]
    }
}

/// The SQLite side of typo and prefix tolerance, as a team would add it to FTS5 (which has
/// neither): a table of the words as written, kept at build time; a word the table does not know
/// is replaced by the known words one edit away (5+ letters) and, for the last word, the known
/// words it begins. Then the usual MATCH.
fn typo_match_expr(conn: &rusqlite::Connection, text: &str) -> String {
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect();
    let mut known = conn.prepare_cached("SELECT 1 FROM words WHERE word = ?1").unwrap();
    let mut prefixed =
        conn.prepare_cached("SELECT word FROM words WHERE word > ?1 AND word < ?1 || 'zzzz' LIMIT 50").unwrap();
    let mut near = conn
        .prepare_cached("SELECT word FROM words WHERE length(word) BETWEEN ?2 - 1 AND ?2 + 1 AND one_edit(word, ?1)")
        .unwrap();
    let mut alternatives = Vec::new();
    for (i, word) in words.iter().enumerate() {
        alternatives.push(format!("\"{word}\""));
        if known.exists([word]).unwrap() {
            continue;
        }
        let len = word.chars().count();
        if len >= 5 {
            let found = near.query_map(rusqlite::params![word, len as i64], |row| row.get::<_, String>(0)).unwrap();
            alternatives.extend(found.map(|w| format!("\"{}\"", w.unwrap())));
        }
        if i + 1 == words.len() && len >= 3 {
            let found = prefixed.query_map([word], |row| row.get::<_, String>(0)).unwrap();
            alternatives.extend(found.map(|w| format!("\"{}\"", w.unwrap())));
        }
    }
    alternatives.join(" OR ")
}

fn fts_query(text: &str, prefix_last: bool) -> String {
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect();
    let n = words.len();
    words
        .into_iter()
        .enumerate()
        .map(|(i, w)| if prefix_last && i + 1 == n { format!("\"{w}\"*") } else { format!("\"{w}\"") })
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn bbox(lat: f64, lon: f64, r: f64) -> (f64, f64, f64, f64) {
    let dlat = r / 111.0;
    let dlon = r / (111.0 * (lat.abs() + dlat).to_radians().cos());
    (lat - dlat, lat + dlat, lon - dlon, lon + dlon)
}

fn run_sqlite(n: usize, per_class: usize, workdir: &Path) {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::params;

    for (a, b, near) in [
        ("gardning", "gardening", true),
        ("walkin", "walking", true),
        ("choir", "choir", true),
        ("cat", "cut", true),
        ("walk", "walking", false),
        ("diabetis", "diabetes", true),
        ("abc", "bca", false),
    ] {
        assert_eq!(within_one_edit(a, b), near, "{a} {b}");
    }
    let points = load_points();
    let path = workdir.join(format!("sqlite-{n}.db"));
    let _ = std::fs::remove_file(&path);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;
         CREATE TABLE listing(id INTEGER PRIMARY KEY, name TEXT, summary TEXT, description TEXT, keywords TEXT, category TEXT,
                              lat REAL, lon REAL, last_verified INTEGER, availability REAL);
         CREATE VIRTUAL TABLE listing_fts USING fts5(name, summary, description, keywords, content='listing', content_rowid='id', tokenize='porter unicode61');
         CREATE VIRTUAL TABLE listing_geo USING rtree(id, min_lat, max_lat, min_lon, max_lon);
         CREATE TABLE words(word TEXT PRIMARY KEY) WITHOUT ROWID;",
    )
    .unwrap();
    conn.create_scalar_function(
        "haversine_km",
        4,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let (a, b, c, d): (f64, f64, f64, f64) = (ctx.get(0)?, ctx.get(1)?, ctx.get(2)?, ctx.get(3)?);
            Ok(search_index::distance_km(GeoPoint::new(a, b).unwrap(), GeoPoint::new(c, d).unwrap()))
        },
    )
    .unwrap();
    conn.create_scalar_function(
        "one_edit",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(within_one_edit(&ctx.get::<String>(0)?, &ctx.get::<String>(1)?)),
    )
    .unwrap();
    let started = Instant::now();
    {
        let tx = conn.unchecked_transaction().unwrap();
        {
            let mut ins = tx.prepare("INSERT INTO listing VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)").unwrap();
            let mut fts = tx
                .prepare(
                    "INSERT INTO listing_fts(rowid, name, summary, description, keywords) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .unwrap();
            let mut geo = tx.prepare("INSERT INTO listing_geo VALUES (?1, ?2, ?2, ?3, ?3)").unwrap();
            let mut words = std::collections::BTreeSet::new();
            for i in 0..n {
                let (d, _, slug) = listing(i, &points);
                let p = d.locations[0];
                let availability = match d.capacity.as_str() {
                    "accepting" => 1.0,
                    "waitlist" => 0.85,
                    _ => 0.5,
                };
                let keywords = d.keywords.join(" ");
                ins.execute(params![
                    i as i64,
                    d.name,
                    d.summary,
                    d.description,
                    keywords,
                    slug,
                    p.lat(),
                    p.lon(),
                    d.last_verified,
                    availability
                ])
                .unwrap();
                fts.execute(params![i as i64, d.name, d.summary, d.description, keywords]).unwrap();
                for text in [&d.name, &d.summary, &d.description, &keywords] {
                    words.extend(
                        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase),
                    );
                }
                geo.execute(params![i as i64, p.lat(), p.lon()]).unwrap();
            }
            let mut add = tx.prepare("INSERT INTO words VALUES (?1)").unwrap();
            for word in words {
                add.execute([word]).unwrap();
            }
        }
        tx.execute_batch("CREATE INDEX listing_category ON listing(category);").unwrap();
        tx.commit().unwrap();
    }
    conn.execute_batch("INSERT INTO listing_fts(listing_fts) VALUES('optimize'); ANALYZE;").unwrap();
    let build = started.elapsed();
    let min_verified = NOW - 365 * DAY;

    // What a team would write: top 20 by bm25 (name weighted) within the radius, plus the count.
    let mut text_top = conn
        .prepare_cached(
            "SELECT f.rowid FROM listing_fts f JOIN listing l ON l.id = f.rowid
             WHERE listing_fts MATCH ?1 AND l.last_verified >= ?2
             ORDER BY bm25(listing_fts, 3.0, 1.5, 1.0, 2.0) * l.availability LIMIT 20",
        )
        .unwrap();
    let mut text_count = conn
        .prepare_cached("SELECT count(*) FROM listing_fts f JOIN listing l ON l.id = f.rowid WHERE listing_fts MATCH ?1 AND l.last_verified >= ?2")
        .unwrap();
    let geo_where = "g.min_lat >= ?3 AND g.max_lat <= ?4 AND g.min_lon >= ?5 AND g.max_lon <= ?6 AND haversine_km(l.lat, l.lon, ?7, ?8) <= ?9";
    let mut radius_top = conn
        .prepare_cached(&format!(
            "SELECT f.rowid FROM listing_fts f JOIN listing_geo g ON g.id = f.rowid JOIN listing l ON l.id = f.rowid
             WHERE listing_fts MATCH ?1 AND l.last_verified >= ?2 AND {geo_where} AND (?10 IS NULL OR l.category = ?10)
             ORDER BY bm25(listing_fts, 3.0, 1.5, 1.0, 2.0) * l.availability LIMIT 20"
        ))
        .unwrap();
    let mut radius_count = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM listing_fts f JOIN listing_geo g ON g.id = f.rowid JOIN listing l ON l.id = f.rowid
             WHERE listing_fts MATCH ?1 AND l.last_verified >= ?2 AND {geo_where} AND (?10 IS NULL OR l.category = ?10)"
        ))
        .unwrap();
    let mut nearest_top = conn
        .prepare_cached(&format!(
            "SELECT l.id FROM listing_geo g JOIN listing l ON l.id = g.id
             WHERE ?1 IS NOT NULL AND l.last_verified >= ?2 AND {geo_where} AND l.category = ?10
             ORDER BY haversine_km(l.lat, l.lon, ?7, ?8) LIMIT 20"
        ))
        .unwrap();
    let mut nearest_count = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM listing_geo g JOIN listing l ON l.id = g.id
             WHERE ?1 IS NOT NULL AND l.last_verified >= ?2 AND {geo_where} AND l.category = ?10"
        ))
        .unwrap();

    let mut times: BTreeMap<Class, Vec<Duration>> = BTreeMap::new();
    for q in queries(&points, per_class) {
        let t = Instant::now();
        let match_expr =
            if q.class == Class::TypoPrefix { typo_match_expr(&conn, &q.text) } else { fts_query(&q.text, false) };
        match (q.origin, q.radius_km) {
            (Some((lat, lon)), Some(r)) => {
                let (a, b, c, d) = bbox(lat, lon, r);
                let (top, count) = if q.class == Class::CategoryNearest {
                    (&mut nearest_top, &mut nearest_count)
                } else {
                    (&mut radius_top, &mut radius_count)
                };
                let args = params![match_expr, min_verified, a, b, c, d, lat, lon, r, q.category];
                let ids: Vec<i64> = top.query_map(args, |row| row.get(0)).unwrap().map(|r| r.unwrap()).collect();
                let total: i64 = count.query_row(args, |row| row.get(0)).unwrap();
                std::hint::black_box((ids, total));
            }
            _ => {
                let ids: Vec<i64> = text_top
                    .query_map(params![match_expr, min_verified], |row| row.get(0))
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                let total: i64 = text_count.query_row(params![match_expr, min_verified], |row| row.get(0)).unwrap();
                std::hint::black_box((ids, total));
            }
        }
        times.entry(q.class).or_default().push(t.elapsed());
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut out = vec![
        ("engine", "sqlite".to_string()),
        ("n", n.to_string()),
        ("build_s", format!("{:.2}", build.as_secs_f64())),
        ("rate", format!("{:.0}", n as f64 / build.as_secs_f64())),
        ("size_mib", format!("{:.1}", size as f64 / 1048576.0)),
    ];
    out.extend(latencies(&times));
    drop(text_top);
    drop(text_count);
    drop(radius_top);
    drop(radius_count);
    drop(nearest_top);
    drop(nearest_count);
    drop(conn);
    out.push(("peak_rss_mib", format!("{:.0}", peak_rss_mib())));
    emit(&out);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(PathBuf::from(format!("{}{suffix}", path.display())));
    }
}

// ------------------------------------------------------------------------------------------------
// Driver

fn parse(line: &str) -> BTreeMap<String, String> {
    line.trim_start_matches("RESULT ")
        .split(' ')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let per_class: usize = std::env::var("BENCH_QUERIES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let workdir = std::env::var("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("commonground-bench"));
    std::fs::create_dir_all(&workdir).unwrap();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let engine = &args[pos + 1];
        let n: usize = args[pos + 2].parse().unwrap();
        match engine.as_str() {
            "tantivy" => run_tantivy(n, per_class, &workdir),
            _ => run_sqlite(n, per_class, &workdir),
        }
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let exe = std::env::current_exe().unwrap();
    let (points_file, points_label) = prepare_points(&workdir);
    println!("Directory search benchmark: {per_class} queries per class, single-threaded; listings placed at {points_label}.");
    if !shared_codepoint().exists() {
        println!("(../shared/data/codepoint-open is not present, so the seed region's postcodes are used.)");
    }
    for n in sizes {
        let mut results = BTreeMap::new();
        let engines = std::env::var("BENCH_ENGINES").unwrap_or_else(|_| "tantivy,sqlite".into());
        for engine in ["tantivy", "sqlite"].into_iter().filter(|e| engines.contains(e)) {
            eprintln!("running {engine} with {n} listings ...");
            let output = Command::new(&exe)
                .args(["--child", engine, &n.to_string()])
                .env("BENCH_POINTS_FILE", &points_file)
                .stderr(std::process::Stdio::inherit())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            if !output.status.success() {
                eprintln!("{engine} failed ({}); its errors are above", output.status);
                continue;
            }
            if let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT ")) {
                results.insert(engine, parse(line));
            }
        }
        let Some(t) = results.get("tantivy") else { continue };
        // Without the SQLite run (BENCH_ENGINES=tantivy) its columns say "-".
        let none = BTreeMap::new();
        let s = results.get("sqlite").unwrap_or(&none);
        let get = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_else(|| "-".into());
        println!();
        println!("## {n} listings");
        println!();
        println!("| | Common Ground (tantivy) | SQLite FTS5 + R*Tree |");
        println!("| --- | --- | --- |");
        println!(
            "| build | {} s ({} listings/s) | {} s ({} listings/s) |",
            t["build_s"],
            t["rate"],
            get(s, "build_s"),
            get(s, "rate")
        );
        println!("| size on disk | {} MiB | {} MiB |", t["size_mib"], get(s, "size_mib"));
        println!("| peak RSS | {} MiB | {} MiB |", t["peak_rss_mib"], get(s, "peak_rss_mib"));
        let lag: Vec<&str> = t["edit_lag_ms"].split(',').collect();
        println!("| edit-to-searchable at 10 edits/s | p50 {} ms, p99 {} ms | |", lag[0], lag[1]);
        println!();
        println!("| query class | tantivy p50 / p99 (ms) | SQLite p50 / p99 (ms) | SQLite ÷ tantivy at p50 | at p99 |");
        println!("| --- | --- | --- | --- | --- |");
        let pair = |m: &BTreeMap<String, String>, k: &str| -> Option<(f64, f64)> {
            let (a, b) = m.get(k)?.split_once(',')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        for class in Class::ALL {
            let key = class_key(class);
            let Some((t50, t99)) = pair(t, key) else { continue };
            match pair(s, key) {
                Some((s50, s99)) => println!(
                    "| {} | {t50:.3} / {t99:.3} | {s50:.3} / {s99:.3} | {:.1}× | {:.1}× |",
                    class.label(),
                    s50 / t50.max(1e-6),
                    s99 / t99.max(1e-6)
                ),
                None => println!("| {} | {t50:.3} / {t99:.3} | - | - | - |", class.label()),
            }
        }
    }
}
