//! The referral status machine of DOMAIN.md (after the HL7 Gravity referral Task, with the UK
//! social prescribing steps): the statuses, the allowed moves, which need a reason or a note,
//! and who may make each. Every move is checked here before anything is written.

use serde::Serialize;

/// Where a referral is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// Submitted; waiting for the link worker service.
    Received,
    /// Taken on; has an owner.
    Accepted,
    /// Not appropriate (reason required; the referrer sees why).
    Rejected,
    /// Contact attempts being made.
    Contacting,
    /// Closed after repeated failed attempts.
    UnableToContact,
    /// First conversation held; what matters and a plan recorded.
    InProgress,
    /// Paused (reason required).
    OnHold,
    /// Support finished (closing summary required).
    Completed,
    /// The person declined social prescribing.
    Declined,
    /// Withdrawn (reason required).
    Cancelled,
    /// Recorded by mistake; hidden from lists and reports, kept for the audit.
    EnteredInError,
}

/// Who is making a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mover {
    /// The GP practice team.
    Referrer,
    /// A link worker or lead of the receiving service.
    LinkWorker,
    /// An administrator.
    Admin,
}

/// Why a move was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// Not an allowed move from here; lists those that are.
    #[error("cannot move from {from} to {to}")]
    NotAllowed {
        /// Current status.
        from: ReferralStatus,
        /// Asked-for status.
        to: ReferralStatus,
        /// The moves allowed from here.
        allowed: Vec<ReferralStatus>,
    },
    /// This person may not make this move.
    #[error("a {mover:?} cannot set {to}")]
    NotYourMove {
        /// Who tried.
        mover: Mover,
        /// Asked-for status.
        to: ReferralStatus,
    },
    /// A reason is required for this move.
    #[error("a reason is required to move to {0}")]
    ReasonRequired(ReferralStatus),
    /// A note (closing summary) is required for this move.
    #[error("a closing summary is required to move to {0}")]
    NoteRequired(ReferralStatus),
}

use ReferralStatus::*;

impl ReferralStatus {
    /// Every status.
    pub const ALL: [ReferralStatus; 11] = [
        Received,
        Accepted,
        Rejected,
        Contacting,
        UnableToContact,
        InProgress,
        OnHold,
        Completed,
        Declined,
        Cancelled,
        EnteredInError,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Received => "received",
            Accepted => "accepted",
            Rejected => "rejected",
            Contacting => "contacting",
            UnableToContact => "unable_to_contact",
            InProgress => "in_progress",
            OnHold => "on_hold",
            Completed => "completed",
            Declined => "declined",
            Cancelled => "cancelled",
            EnteredInError => "entered_in_error",
        }
    }

    /// From the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// No further moves except to `entered_in_error`.
    pub fn is_terminal(self) -> bool {
        matches!(self, Rejected | UnableToContact | Completed | Declined | Cancelled | EnteredInError)
    }

    /// The statuses this one may move to.
    pub fn allowed_moves(self) -> Vec<ReferralStatus> {
        let mut moves: Vec<ReferralStatus> = match self {
            Received => vec![Accepted, Rejected, Cancelled],
            Accepted => vec![Contacting, InProgress, Declined, Cancelled],
            Contacting => vec![InProgress, UnableToContact, Declined, Cancelled],
            InProgress => vec![OnHold, Completed, Declined, Cancelled],
            OnHold => vec![InProgress, Completed, Cancelled],
            _ => vec![],
        };
        if self != EnteredInError {
            moves.push(EnteredInError);
        }
        moves
    }

    /// Whether moving to `to` is allowed (by anyone).
    pub fn can_move_to(self, to: ReferralStatus) -> bool {
        self.allowed_moves().contains(&to)
    }

    /// Who may set this status.
    pub fn set_by(self) -> &'static [Mover] {
        match self {
            Received => &[Mover::Referrer],
            Cancelled => &[Mover::Referrer, Mover::LinkWorker],
            EnteredInError => &[Mover::Referrer, Mover::Admin],
            _ => &[Mover::LinkWorker],
        }
    }

    /// Whether moving here needs a reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Rejected | OnHold | Cancelled)
    }

    /// Whether moving here needs a note (the closing summary).
    pub fn needs_note(self) -> bool {
        self == Completed
    }
}

impl std::fmt::Display for ReferralStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a move: allowed from here, by this person, with what it needs.
pub fn check_move(
    from: ReferralStatus,
    to: ReferralStatus,
    mover: Mover,
    reason: Option<&str>,
    note: Option<&str>,
) -> Result<(), MoveError> {
    // The machine first: a move nobody may make from here answers with the moves that are
    // allowed; then whether this person may make it.
    if !from.can_move_to(to) {
        return Err(MoveError::NotAllowed { from, to, allowed: from.allowed_moves() });
    }
    if !to.set_by().contains(&mover) {
        return Err(MoveError::NotYourMove { mover, to });
    }
    let blank = |t: Option<&str>| t.is_none_or(|t| t.trim().is_empty());
    if to.needs_reason() && blank(reason) {
        return Err(MoveError::ReasonRequired(to));
    }
    if to.needs_note() && blank(note) {
        return Err(MoveError::NoteRequired(to));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// DOMAIN.md's table, written out again independently of `allowed_moves`.
    fn domain_allows(from: ReferralStatus, to: ReferralStatus) -> bool {
        let table: &[(ReferralStatus, &[ReferralStatus])] = &[
            (Received, &[Accepted, Rejected, Cancelled]),
            (Accepted, &[Contacting, InProgress, Declined, Cancelled]),
            (Contacting, &[InProgress, UnableToContact, Declined, Cancelled]),
            (InProgress, &[OnHold, Completed, Declined, Cancelled]),
            (OnHold, &[InProgress, Completed, Cancelled]),
        ];
        (to == EnteredInError && from != EnteredInError) || table.iter().any(|(f, tos)| *f == from && tos.contains(&to))
    }

    #[test]
    fn the_table_of_domain_md() {
        for from in ReferralStatus::ALL {
            for to in ReferralStatus::ALL {
                assert_eq!(from.can_move_to(to), domain_allows(from, to), "{from} -> {to}");
            }
        }
        assert_eq!(ReferralStatus::parse("in_progress"), Some(InProgress));
        assert_eq!(ReferralStatus::parse("done"), None);
    }

    #[test]
    fn refusals_name_the_allowed_moves_and_what_is_missing() {
        let err = check_move(Completed, InProgress, Mover::LinkWorker, None, None).unwrap_err();
        assert_eq!(err, MoveError::NotAllowed { from: Completed, to: InProgress, allowed: vec![EnteredInError] });
        assert_eq!(
            check_move(Received, Rejected, Mover::LinkWorker, None, None),
            Err(MoveError::ReasonRequired(Rejected))
        );
        assert_eq!(
            check_move(Received, Rejected, Mover::LinkWorker, Some("  "), None),
            Err(MoveError::ReasonRequired(Rejected))
        );
        assert!(check_move(Received, Rejected, Mover::LinkWorker, Some("not registered here"), None).is_ok());
        assert_eq!(
            check_move(InProgress, Completed, Mover::LinkWorker, None, None),
            Err(MoveError::NoteRequired(Completed))
        );
        assert_eq!(
            check_move(Received, Accepted, Mover::Referrer, None, None),
            Err(MoveError::NotYourMove { mover: Mover::Referrer, to: Accepted })
        );
        assert!(check_move(Received, Cancelled, Mover::Referrer, Some("moved away"), None).is_ok());
        assert!(check_move(Completed, EnteredInError, Mover::Admin, None, None).is_ok());
        assert!(check_move(Completed, EnteredInError, Mover::LinkWorker, None, None).is_err());
        assert!(check_move(EnteredInError, EnteredInError, Mover::Admin, None, None).is_err());
    }

    fn any_status() -> impl Strategy<Value = ReferralStatus> {
        (0..ReferralStatus::ALL.len()).prop_map(|i| ReferralStatus::ALL[i])
    }

    fn any_mover() -> impl Strategy<Value = Mover> {
        prop_oneof![Just(Mover::Referrer), Just(Mover::LinkWorker), Just(Mover::Admin)]
    }

    proptest! {
        /// Random sequences of attempted moves never reach a state DOMAIN.md forbids: every
        /// accepted move is in its table, nothing leaves a terminal state but to
        /// entered_in_error, and nothing leaves entered_in_error.
        #[test]
        fn random_moves_stay_within_the_domain(steps in proptest::collection::vec((any_status(), any_mover(), any::<bool>()), 1..60)) {
            let mut current = Received;
            for (to, mover, with_text) in steps {
                let text = with_text.then_some("because");
                match check_move(current, to, mover, text, text) {
                    Ok(()) => {
                        prop_assert!(domain_allows(current, to), "{} -> {} accepted", current, to);
                        prop_assert!(!current.is_terminal() || to == EnteredInError);
                        prop_assert!(current != EnteredInError);
                        current = to;
                    }
                    Err(MoveError::NotAllowed { allowed, .. }) => {
                        prop_assert!(!domain_allows(current, to));
                        prop_assert_eq!(allowed, current.allowed_moves());
                    }
                    Err(MoveError::NotYourMove { .. }) => prop_assert!(domain_allows(current, to) && !to.set_by().contains(&mover)),
                    Err(_) => prop_assert!(domain_allows(current, to)),
                }
            }
        }
    }
}
