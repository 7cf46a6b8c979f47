//! A connection between a referred person and a community asset: suggested → introduced (the
//! group is told) → accepted / waitlisted / declined by the group → attended / did not attend /
//! stopped. This closes the loop with the group.

use serde::Serialize;

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// The link worker is considering it with the person.
    Suggested,
    /// The group has been told (it appears in their inbox).
    Introduced,
    /// The group said yes.
    Accepted,
    /// The group has a waiting list.
    Waitlisted,
    /// The group said no (reason required).
    Declined,
    /// The person went.
    Attended,
    /// The person did not go.
    DidNotAttend,
    /// The person stopped going.
    Stopped,
    /// The link worker took the suggestion back before introducing it.
    Withdrawn,
}

/// Who moves a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionMover {
    /// The link worker.
    LinkWorker,
    /// An editor of the group that runs the asset.
    Group,
}

use ConnectionStatus::*;

impl ConnectionStatus {
    /// Every status.
    pub const ALL: [ConnectionStatus; 9] =
        [Suggested, Introduced, Accepted, Waitlisted, Declined, Attended, DidNotAttend, Stopped, Withdrawn];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Suggested => "suggested",
            Introduced => "introduced",
            Accepted => "accepted",
            Waitlisted => "waitlisted",
            Declined => "declined",
            Attended => "attended",
            DidNotAttend => "did_not_attend",
            Stopped => "stopped",
            Withdrawn => "withdrawn",
        }
    }

    /// From the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Moves allowed from here.
    pub fn allowed_moves(self) -> &'static [ConnectionStatus] {
        match self {
            Suggested => &[Introduced, Withdrawn],
            Introduced => &[Accepted, Waitlisted, Declined],
            Waitlisted => &[Accepted, Declined],
            Accepted => &[Attended, DidNotAttend, Stopped],
            Attended => &[Stopped],
            DidNotAttend => &[Attended, Stopped],
            Declined | Stopped | Withdrawn => &[],
        }
    }

    /// Who may make the move to this status.
    pub fn moved_by(self) -> &'static [ConnectionMover] {
        match self {
            Suggested | Introduced | Withdrawn => &[ConnectionMover::LinkWorker],
            Accepted | Waitlisted | Declined => &[ConnectionMover::Group],
            Attended | DidNotAttend | Stopped => &[ConnectionMover::Group, ConnectionMover::LinkWorker],
        }
    }

    /// Whether moving here needs a reason.
    pub fn needs_reason(self) -> bool {
        self == Declined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_with_the_group() {
        assert_eq!(Suggested.allowed_moves(), &[Introduced, Withdrawn]);
        assert!(Withdrawn.allowed_moves().is_empty());
        assert!(Introduced.allowed_moves().contains(&Declined));
        assert!(Declined.allowed_moves().is_empty());
        assert!(Accepted.moved_by().contains(&ConnectionMover::Group));
        assert!(!Accepted.moved_by().contains(&ConnectionMover::LinkWorker));
        assert!(Declined.needs_reason());
        assert_eq!(ConnectionStatus::parse("did_not_attend"), Some(DidNotAttend));
    }
}
