//! E-mail over SMTP with lettre. `COMMONGROUND_SMTP_URL` says where and how:
//! `smtp://user:password@host:587` requires STARTTLS (no credentials or mail before the
//! upgrade), `smtps://user:password@host:465` speaks TLS from the start, and
//! `smtp://host:25?tls=none` is plain (a relay on the same machine, or the tests' sink).
//! Connections are pooled; the Message-ID is derived from the idempotency key, so a message
//! sent again after a crash is recognisably the same message.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{Message, SmtpTransport, Transport as _};

use super::{message_ref, Rendered, SendError, Transport};
use crate::config::notifications::NotificationSettings;
use crate::notifications::Channel;

/// Sends e-mail to one SMTP server.
pub struct Smtp {
    mailer: SmtpTransport,
    from: Mailbox,
}

/// What an SMTP URL says.
#[derive(Debug, PartialEq, Eq)]
struct SmtpUrl {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<(String, String)>,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Security {
    StartTls,
    Wrapper,
    None,
}

fn parse_url(url: &str) -> anyhow::Result<SmtpUrl> {
    let (wrapper, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("smtp://") {
        (false, rest)
    } else {
        anyhow::bail!("COMMONGROUND_SMTP_URL must start smtp:// or smtps://");
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let rest = rest.trim_end_matches('/');
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let credentials = userinfo.map(|u| {
        let (user, password) = u.split_once(':').unwrap_or((u, ""));
        let decode = |s: &str| {
            form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        (decode(user), decode(password))
    });
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => {
            (h.to_string(), p.parse().map_err(|_| anyhow::anyhow!("COMMONGROUND_SMTP_URL: the port is not a number"))?)
        }
        None => (hostport.to_string(), if wrapper { 465 } else { 587 }),
    };
    if host.is_empty() {
        anyhow::bail!("COMMONGROUND_SMTP_URL: no host");
    }
    let security = match (wrapper, query) {
        (true, _) => Security::Wrapper,
        (false, "tls=none") => Security::None,
        (false, "" | "tls=required" | "tls=starttls") => Security::StartTls,
        _ => anyhow::bail!("COMMONGROUND_SMTP_URL: the only options are ?tls=none and ?tls=required"),
    };
    Ok(SmtpUrl { host, port, security, credentials })
}

impl Smtp {
    /// Builds the pooled transport (it connects when the first message goes).
    pub fn new(settings: &NotificationSettings) -> anyhow::Result<Self> {
        let url = settings.smtp_url.as_ref().ok_or_else(|| anyhow::anyhow!("no SMTP URL"))?;
        let url = parse_url(url.expose())?;
        let mut builder = SmtpTransport::builder_dangerous(url.host.clone()).port(url.port);
        builder = match url.security {
            Security::None => builder.tls(Tls::None),
            Security::StartTls => builder.tls(Tls::Required(TlsParameters::new(url.host.clone())?)),
            Security::Wrapper => builder.tls(Tls::Wrapper(TlsParameters::new(url.host.clone())?)),
        };
        if let Some((user, password)) = url.credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        let mailer = builder
            .timeout(Some(Duration::from_secs(15)))
            .pool_config(PoolConfig::new().max_size(super::super::worker::LANES as u32))
            .build();
        let from: Mailbox =
            settings.mail_from.parse().map_err(|e| anyhow::anyhow!("COMMONGROUND_MAIL_FROM is not an address: {e}"))?;
        Ok(Self { mailer, from })
    }
}

impl Transport for Smtp {
    fn send(&self, message: &Rendered) -> Result<Option<String>, SendError> {
        if message.channel != Channel::Email {
            return Err(SendError::Permanent("text messages need GOV.UK Notify (COMMONGROUND_NOTIFY_API_KEY)".into()));
        }
        let to: Mailbox =
            message.recipient.parse().map_err(|_| SendError::Permanent("not a valid e-mail address".into()))?;
        let id = format!("<{}@commonground>", message_ref(&message.key));
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .message_id(Some(id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self.mailer.send(&email) {
            Ok(_) => Ok(Some(id)),
            // A 5xx (no such mailbox, relaying refused) will not change by trying again.
            Err(e) if e.is_permanent() => {
                Err(SendError::Permanent(format!("the mail server refused it: {}", describe(&e))))
            }
            Err(e) => Err(SendError::Transient(format!("mail server: {}", describe(&e)))),
        }
    }
}

/// The error without the address: lettre's messages carry the server's reply, which may
/// quote the recipient, so only the code and kind are kept.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("SMTP {code}"),
        None if e.is_timeout() => "timed out".into(),
        None if e.is_tls() => "TLS failed".into(),
        None => "cannot connect or the connection failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_say_host_port_security_and_credentials() {
        let u = parse_url("smtp://me%40x.org:p%3Ass@mail.example.org:2525").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.security), ("mail.example.org", 2525, Security::StartTls));
        assert_eq!(u.credentials, Some(("me@x.org".into(), "p:ss".into())));
        let u = parse_url("smtps://mail.example.org").unwrap();
        assert_eq!((u.port, u.security), (465, Security::Wrapper));
        let u = parse_url("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((u.port, u.security, u.credentials), (2525, Security::None, None));
        assert!(parse_url("smtp://host:abc").is_err());
        assert!(parse_url("smtp://host?tls=maybe").is_err());
    }
}
