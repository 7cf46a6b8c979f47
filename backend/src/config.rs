//! Settings: defaults, then an optional `commonground.toml`, then `COMMONGROUND_*` environment
//! variables. Secrets are wrapped so they never appear in logs or `Debug` output.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod notifications;
pub mod retention;

/// A value that must never be printed (database passwords, signing keys).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where the service runs: development seeds demo data; production requires secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The default: demo data on an empty database, generated secrets.
    #[default]
    Development,
    /// No demo data; secrets must be configured.
    Production,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, coloured when on a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Every setting of the service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address and port to listen on (`127.0.0.1:8080`; port 0 picks a free port).
    pub bind: String,
    /// Folder for the SQLite file, the search index and generated secrets.
    pub data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL; unset means the SQLite file in `data_dir`.
    pub database_url: Option<Secret>,
    /// Development or production.
    pub env: Environment,
    /// tracing filter, e.g. `info` or `backend=debug,info`.
    pub log: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Reload templates from `templates/` on every request (for working on pages).
    pub dev_templates: bool,
    /// Connections in the database pool.
    pub db_pool_size: u32,
    /// Public base URL: invitation and password-reset links are built on it (never on a
    /// request's `Host` or `X-Forwarded-Host`, which the caller chooses). Required in
    /// production; in development it defaults to `http://{bind}`. An `https://` URL marks
    /// cookies Secure and turns on HSTS.
    pub public_url: Option<String>,
    /// Where the phase banner's "feedback" link goes: a `mailto:` or `https://` address
    /// (`COMMONGROUND_FEEDBACK_URL`). Without one the banner has no link.
    pub feedback_url: Option<String>,
    /// Key for signing access tokens (required in production; generated in development).
    pub jwt_secret: Option<Secret>,
    /// Lifetime of an access token, minutes.
    pub access_token_minutes: i64,
    /// Longest a signed-in session is renewed for, hours.
    pub session_hours: i64,
    /// Minutes without a request after which a page session signs out (shared computers).
    pub idle_minutes: i64,
    /// Roles that must use a TOTP second factor, e.g. `["admin"]`.
    pub totp_required_roles: Vec<String>,
    /// Days an invitation or password-reset link stays valid.
    pub link_days: i64,
    /// Days the link to a person's own page works (it can be revoked sooner).
    pub person_link_days: i64,
    /// Working days from referral to first contact before a referral needs attention.
    pub first_contact_days: i64,
    /// Failed contact attempts after which "unable to contact" is offered.
    pub contact_attempts: usize,
    /// Days an introduction may go unanswered before it is highlighted.
    pub introduction_days: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks).
    pub trusted_proxies: TrustedProxies,
    /// What leaves the service: transports and delivery (`[notifications]` in the file).
    pub notifications: notifications::NotificationSettings,
    /// How long closed referrals keep personal data (`[retention]` in the file).
    pub retention: retention::RetentionSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            env: Environment::Development,
            log: "info".into(),
            log_format: LogFormat::Pretty,
            dev_templates: false,
            db_pool_size: 8,
            public_url: None,
            feedback_url: None,
            jwt_secret: None,
            access_token_minutes: 15,
            session_hours: 12,
            totp_required_roles: Vec::new(),
            link_days: 7,
            person_link_days: 90,
            first_contact_days: 5,
            contact_attempts: 3,
            introduction_days: 5,
            trusted_proxies: TrustedProxies::default(),
            notifications: notifications::NotificationSettings::default(),
            idle_minutes: 30,
            retention: retention::RetentionSettings::default(),
        }
    }
}

/// A setting that could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read or parsed.
    #[error("config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// An environment variable had a value that does not fit.
    #[error("{name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// What was wrong.
        message: String,
    },
}

impl Settings {
    /// Loads settings: defaults < `COMMONGROUND_CONFIG` file (or `./commonground.toml` when it
    /// exists) < `COMMONGROUND_*` variables.
    pub fn load() -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(&vars)
    }

    /// As [`Settings::load`], with the environment given (for tests).
    pub fn load_from(vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let file = get("COMMONGROUND_CONFIG").map(PathBuf::from).or_else(|| {
            let default = PathBuf::from("commonground.toml");
            default.exists().then_some(default)
        });
        let mut settings = match file {
            Some(path) => Self::from_file(&path)?,
            None => Settings::default(),
        };
        for (name, value) in vars.iter().filter(|(k, _)| k.starts_with("COMMONGROUND_")) {
            settings.apply_env(name, value)?;
        }
        Ok(settings)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::File { path: path.to_path_buf(), message: e.to_string() })?;
        toml::from_str(&text).map_err(|e| ConfigError::File { path: path.to_path_buf(), message: e.to_string() })
    }

    fn apply_env(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        if self.notifications.apply_env(name, value)? {
            return Ok(());
        }
        if self.retention.apply_env(name, value)? {
            return Ok(());
        }
        let bad = |message: &str| ConfigError::Env { name: name.to_string(), message: message.to_string() };
        match name {
            "COMMONGROUND_BIND" => self.bind = value.to_string(),
            "COMMONGROUND_DATA_DIR" => self.data_dir = PathBuf::from(value),
            "COMMONGROUND_DATABASE_URL" => self.database_url = Some(Secret::new(value)),
            "COMMONGROUND_ENV" => {
                self.env = match value {
                    "development" => Environment::Development,
                    "production" => Environment::Production,
                    _ => return Err(bad("expected development or production")),
                }
            }
            "COMMONGROUND_LOG" => self.log = value.to_string(),
            "COMMONGROUND_LOG_FORMAT" => {
                self.log_format = match value {
                    "pretty" => LogFormat::Pretty,
                    "json" => LogFormat::Json,
                    _ => return Err(bad("expected pretty or json")),
                }
            }
            "COMMONGROUND_DEV_TEMPLATES" => self.dev_templates = matches!(value, "1" | "true" | "yes"),
            "COMMONGROUND_DB_POOL_SIZE" => {
                self.db_pool_size =
                    value.parse().ok().filter(|n| *n > 0).ok_or_else(|| bad("expected a positive number"))?
            }
            "COMMONGROUND_PUBLIC_URL" => {
                if !(value.starts_with("https://") || value.starts_with("http://")) {
                    return Err(bad("expected an address starting https:// (or http://)"));
                }
                self.public_url = Some(value.trim_end_matches('/').to_string())
            }
            "COMMONGROUND_FEEDBACK_URL" => {
                let ok = ["https://", "http://", "mailto:"].iter().any(|p| value.starts_with(p))
                    && !value.chars().any(|c| c.is_control() || c.is_whitespace());
                if !ok {
                    return Err(bad("expected an address starting https:// or mailto:"));
                }
                self.feedback_url = Some(value.to_string())
            }
            "COMMONGROUND_JWT_SECRET" => self.jwt_secret = Some(Secret::new(value)),
            "COMMONGROUND_ACCESS_TOKEN_MINUTES" => {
                self.access_token_minutes = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=240).contains(n))
                    .ok_or_else(|| bad("expected minutes from 1 to 240"))?
            }
            "COMMONGROUND_SESSION_HOURS" => {
                self.session_hours = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=168).contains(n))
                    .ok_or_else(|| bad("expected hours from 1 to 168"))?
            }
            "COMMONGROUND_TOTP_REQUIRED_ROLES" => {
                let roles: Vec<String> =
                    value.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect();
                if let Some(unknown) = roles.iter().find(|r| crate::domain::roles::Role::parse(r).is_none()) {
                    return Err(bad(&format!("unknown role {unknown:?}")));
                }
                self.totp_required_roles = roles;
            }
            "COMMONGROUND_IDLE_MINUTES" => {
                self.idle_minutes = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=720).contains(n))
                    .ok_or_else(|| bad("expected minutes from 1 to 720"))?
            }
            "COMMONGROUND_LINK_DAYS" => {
                self.link_days = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=30).contains(n))
                    .ok_or_else(|| bad("expected days from 1 to 30"))?
            }
            "COMMONGROUND_FIRST_CONTACT_DAYS" => {
                self.first_contact_days = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=60).contains(n))
                    .ok_or_else(|| bad("expected working days from 1 to 60"))?
            }
            "COMMONGROUND_CONTACT_ATTEMPTS" => {
                self.contact_attempts = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=20).contains(n))
                    .ok_or_else(|| bad("expected attempts from 1 to 20"))?
            }
            "COMMONGROUND_PERSON_LINK_DAYS" => {
                self.person_link_days = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=365).contains(n))
                    .ok_or_else(|| bad("expected days from 1 to 365"))?
            }
            "COMMONGROUND_INTRODUCTION_DAYS" => {
                self.introduction_days = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=60).contains(n))
                    .ok_or_else(|| bad("expected days from 1 to 60"))?
            }
            "COMMONGROUND_TRUSTED_PROXIES" => self.trusted_proxies = value.parse().map_err(|e: String| bad(&e))?,
            // Read by other parts: the config file switch, and the test suites (the database to
            // test against, their log, the browser suite's tools, the outside FHIR validator),
            // which `.ci/run` exports for the whole run, `commonground openapi` included.
            "COMMONGROUND_CONFIG"
            | "COMMONGROUND_TEST_DATABASE_URL"
            | "COMMONGROUND_TEST_LOG"
            | "COMMONGROUND_AXE_JS"
            | "COMMONGROUND_CHROMEDRIVER"
            | "COMMONGROUND_CHROMIUM"
            | "COMMONGROUND_FHIR_PYTHON"
            | "COMMONGROUND_CI_PG_PORT"
            | "COMMONGROUND_BENCH_DATABASE_URL" => {}
            _ => return Err(bad("unknown setting (see the README's configuration table)")),
        }
        Ok(())
    }

    /// The socket address to bind, checked.
    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind.parse().map_err(|_| ConfigError::Env {
            name: "COMMONGROUND_BIND".into(),
            message: format!("{:?} is not an address like 127.0.0.1:8080", self.bind),
        })
    }

    /// Checks what serving needs beyond each value being well formed: production needs a
    /// public URL (links sent to people must not be built from request headers).
    pub fn check_for_serving(&self) -> Result<(), ConfigError> {
        if self.env == Environment::Production && self.public_url.is_none() {
            return Err(ConfigError::Env {
                name: "COMMONGROUND_PUBLIC_URL".into(),
                message: "required in production: the address people reach the service at, e.g. \
                          https://directory.example.nhs.uk (invitation and password-reset links are built on it)"
                    .into(),
            });
        }
        Ok(())
    }

    /// The public base URL: the configured one, or (development) the address served on, given
    /// the port actually bound.
    pub fn public_base(&self, port: u16) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let host = self.bind.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
        let host = match host {
            "0.0.0.0" => "127.0.0.1",
            "[::]" => "[::1]",
            other => other,
        };
        format!("http://{host}:{port}")
    }

    /// The database to use: the configured URL, or the SQLite file in the data folder.
    pub fn database(&self) -> crate::db::DatabaseUrl {
        match &self.database_url {
            Some(url) => crate::db::DatabaseUrl::parse(url.expose()),
            None => crate::db::DatabaseUrl::Sqlite(self.data_dir.join("commonground.db")),
        }
    }

    /// Whether the service is reached over TLS (Secure cookies, HSTS).
    pub fn tls(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// The referral workflow's working rules.
    pub fn thresholds(&self) -> crate::domain::Thresholds {
        crate::domain::Thresholds {
            first_contact_days: self.first_contact_days,
            contact_attempts: self.contact_attempts,
            introduction_days: self.introduction_days,
        }
    }

    /// Whether a role must use a second factor.
    pub fn totp_required(&self, role: crate::domain::roles::Role) -> bool {
        self.totp_required_roles.iter().any(|r| r == role.as_str())
    }

    /// The search index folder.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("search-index")
    }
}

/// The reverse proxies in front of the service, parsed once from
/// `COMMONGROUND_TRUSTED_PROXIES` (`127.0.0.1, 10.0.0.0/8, fd00::/8`). Only a request from one
/// of them may say, in `X-Forwarded-For`, whom it is forwarding for; anyone else could claim
/// any address and so get a fresh sign-in allowance per request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl std::str::FromStr for TrustedProxies {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut blocks = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let wrong = || format!("{part:?} is not an address or a block like 10.0.0.0/8");
            let (address, prefix) = part.split_once('/').map_or((part, None), |(a, p)| (a, Some(p)));
            let address: IpAddr = address.parse().map_err(|_| wrong())?;
            let longest = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => longest,
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= longest).ok_or_else(wrong)?,
            };
            blocks.push((address, prefix));
        }
        Ok(Self(blocks))
    }
}

impl TryFrom<String> for TrustedProxies {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl TrustedProxies {
    /// Whether the address is one of the trusted proxies.
    pub fn contains(&self, address: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let address = address.to_canonical();
        self.0.iter().any(|(block, prefix)| match (block, address) {
            (IpAddr::V4(block), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(*block) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(block), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(*block) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }

    /// Whether no proxy is trusted (the default: the peer is the client).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn environment_overrides_defaults() {
        let s = Settings::load_from(&vars(&[
            ("COMMONGROUND_BIND", "0.0.0.0:9000"),
            ("COMMONGROUND_ENV", "production"),
            ("COMMONGROUND_DATABASE_URL", "postgres://u:pw@localhost/cg"),
        ]))
        .unwrap();
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.env, Environment::Production);
        assert!(!format!("{s:?}").contains("pw@"), "secrets must not print");
    }

    #[test]
    fn workflow_rules_are_configurable_and_checked() {
        let s = Settings::load_from(&vars(&[
            ("COMMONGROUND_CONTACT_ATTEMPTS", "4"),
            ("COMMONGROUND_FIRST_CONTACT_DAYS", "3"),
        ]))
        .unwrap();
        assert_eq!(
            (s.thresholds().contact_attempts, s.thresholds().first_contact_days, s.thresholds().introduction_days),
            (4, 3, 5)
        );
        assert!(Settings::load_from(&vars(&[("COMMONGROUND_CONTACT_ATTEMPTS", "0")])).is_err());
        assert!(Settings::load_from(&vars(&[("COMMONGROUND_INTRODUCTION_DAYS", "soon")])).is_err());
        assert!(Settings::load_from(&vars(&[("COMMONGROUND_PERSON_LINK_DAYS", "0")])).is_err());
        // What the test suites and .ci/run read is not refused as unknown (CI exports them).
        for name in ["COMMONGROUND_AXE_JS", "COMMONGROUND_CHROMEDRIVER", "COMMONGROUND_FHIR_PYTHON"] {
            assert!(Settings::load_from(&vars(&[(name, "/usr/bin/x")])).is_ok(), "{name}");
        }
        assert!(Settings::load_from(&vars(&[("COMMONGROUND_AXE", "x")])).is_err(), "a misspelling still is");
        assert_eq!(
            Settings::load_from(&vars(&[("COMMONGROUND_PERSON_LINK_DAYS", "30")])).unwrap().person_link_days,
            30
        );
        assert!(Settings::load_from(&vars(&[("COMMONGROUND_TOTP_REQUIRED_ROLES", "admin,wizard")])).is_err());
    }

    #[test]
    fn production_needs_a_public_url_and_development_serves_links_on_its_address() {
        let production = Settings::load_from(&vars(&[("COMMONGROUND_ENV", "production")])).unwrap();
        let err = production.check_for_serving().unwrap_err();
        assert!(err.to_string().contains("COMMONGROUND_PUBLIC_URL"), "{err}");
        let s = Settings::load_from(&vars(&[
            ("COMMONGROUND_ENV", "production"),
            ("COMMONGROUND_PUBLIC_URL", "https://cg.example.org/"),
        ]))
        .unwrap();
        s.check_for_serving().unwrap();
        assert_eq!(s.public_base(8080), "https://cg.example.org");
        let dev = Settings::load_from(&vars(&[("COMMONGROUND_BIND", "0.0.0.0:0")])).unwrap();
        assert_eq!(dev.public_base(4321), "http://127.0.0.1:4321");
        assert!(Settings::load_from(&vars(&[("COMMONGROUND_PUBLIC_URL", "cg.example.org")])).is_err());
    }

    #[test]
    fn unknown_or_bad_values_are_refused_by_name() {
        let err = Settings::load_from(&vars(&[("COMMONGROUND_PORTT", "1")])).unwrap_err();
        assert!(err.to_string().contains("COMMONGROUND_PORTT"));
        let err = Settings::load_from(&vars(&[("COMMONGROUND_ENV", "staging")])).unwrap_err();
        assert!(err.to_string().contains("COMMONGROUND_ENV"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks() {
        let s =
            Settings::load_from(&vars(&[("COMMONGROUND_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,fd00::/8")])).unwrap();
        let ip = |a: &str| a.parse::<IpAddr>().unwrap();
        let proxies = &s.trusted_proxies;
        assert!(proxies.contains(ip("127.0.0.1")) && proxies.contains(ip("::ffff:127.0.0.1")));
        assert!(proxies.contains(ip("10.200.3.4")) && proxies.contains(ip("fd12::1")));
        assert!(
            !proxies.contains(ip("127.0.0.2")) && !proxies.contains(ip("11.0.0.1")) && !proxies.contains(ip("fe80::1"))
        );
        assert!(Settings::default().trusted_proxies.is_empty());
        let everyone: TrustedProxies = "0.0.0.0/0".parse().unwrap();
        assert!(everyone.contains(ip("203.0.113.9")) && !everyone.contains(ip("::1")));
        for bad in ["10.0.0.0/33", "localhost", "10.0.0.0/x", "::1/129"] {
            let err = Settings::load_from(&vars(&[("COMMONGROUND_TRUSTED_PROXIES", bad)])).unwrap_err();
            assert!(err.to_string().contains("COMMONGROUND_TRUSTED_PROXIES"), "{bad}: {err}");
        }
    }
}
