//! Logging with tracing: pretty for people, JSON for collectors. Log lines never carry a
//! patient's name, NHS number, contact details, a password or a token.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(settings: &Settings) {
    // tantivy logs every commit at info; that is noise for the person running the server.
    let directives =
        if settings.log.contains("tantivy") { settings.log.clone() } else { format!("{},tantivy=warn", settings.log) };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info,tantivy=warn"));
    let result = match settings.log_format {
        LogFormat::Pretty => fmt().with_env_filter(filter).with_target(false).try_init(),
        LogFormat::Json => fmt().json().with_env_filter(filter).try_init(),
    };
    // A second init (tests start many apps in one process) is harmless.
    drop(result);
}

/// For tests: quiet unless `COMMONGROUND_TEST_LOG` is set.
pub fn init_for_test() {
    let filter = std::env::var("COMMONGROUND_TEST_LOG").unwrap_or_else(|_| "off".into());
    drop(fmt().with_env_filter(EnvFilter::new(filter)).with_test_writer().try_init());
}
