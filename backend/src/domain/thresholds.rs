//! The referral workflow's working rules: how long before a referral or an introduction needs
//! attention, and how many failed contact attempts before "unable to contact" is offered. Built
//! from configuration (`Settings::thresholds`) and used by the referral use-cases and reports.

/// The service's working rules, from configuration (these defaults otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Working days from referral to first contact before it needs attention.
    pub first_contact_days: i64,
    /// Failed contact attempts after which "unable to contact" is offered.
    pub contact_attempts: usize,
    /// Days an introduction may go unanswered before it is highlighted.
    pub introduction_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { first_contact_days: 5, contact_attempts: 3, introduction_days: 5 }
    }
}
