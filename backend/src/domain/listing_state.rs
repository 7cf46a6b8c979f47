//! The states of a listing: whether it runs (status), whether it takes new people (capacity),
//! whether the directory team has let it out (approval) and how people take part (attending
//! type). Each has one stored name, the same on the JSON API, in forms, in the database and in
//! Open Referral UK; the names are written here and nowhere else.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a state enum with its stored names, `ALL`, `as_str`, `parse`, `Display` and serde
/// (as the stored name), so the four states cannot drift apart in how they are read and written.
macro_rules! stored_names {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order forms offer them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name (also the wire value).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// From the stored name; exact, as forms and the database send it.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownState;

            fn try_from(text: String) -> Result<Self, UnknownState> {
                Self::parse(&text).ok_or(UnknownState { what: $what, text })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::try_from(text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A stored or sent name that is not one of a state's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a {what}")]
pub struct UnknownState {
    /// Which state ("listing status").
    pub what: &'static str,
    /// What was given (cut to 40 characters when shown to people, by the caller).
    pub text: String,
}

stored_names! {
    /// Whether a listing runs (Open Referral UK's service status).
    pub enum ListingStatus ("listing status") {
        /// Running.
        Active => "active",
        /// Stopped by its group.
        Inactive => "inactive",
        /// Gone: removed, or merged into another listing.
        Defunct => "defunct",
        /// Away for a while (it may say when it reopens).
        TemporarilyClosed => "temporarily closed",
    }
}

impl ListingStatus {
    /// Shown to the public (when approved and fresh): running, or closed for a while.
    pub fn is_shown(self) -> bool {
        matches!(self, ListingStatus::Active | ListingStatus::TemporarilyClosed)
    }

    /// The statuses shown to the public, for queries.
    pub const SHOWN: [ListingStatus; 2] = [ListingStatus::Active, ListingStatus::TemporarilyClosed];

    /// A status a group may set itself (`defunct` is for the directory team's merges).
    pub fn editor_may_set(self) -> bool {
        self != ListingStatus::Defunct
    }
}

stored_names! {
    /// Whether a listing takes new people.
    pub enum Capacity ("capacity") {
        /// Taking new people.
        Accepting => "accepting",
        /// A waiting list.
        Waitlist => "waitlist",
        /// Full.
        Full => "full",
        /// Paused.
        Paused => "paused",
    }
}

impl Capacity {
    /// In words, for people.
    pub const fn label(self) -> &'static str {
        match self {
            Capacity::Accepting => "Taking new people",
            Capacity::Waitlist => "Waiting list",
            Capacity::Full => "Full",
            Capacity::Paused => "Paused",
        }
    }
}

stored_names! {
    /// Whether the directory team has let a listing out.
    pub enum Approval ("listing approval") {
        /// Waiting for the directory team.
        Pending => "pending",
        /// Public (subject to status and freshness).
        Approved => "approved",
        /// Refused.
        Rejected => "rejected",
    }
}

stored_names! {
    /// How people take part.
    pub enum AttendingType ("way of attending") {
        /// At a venue.
        InPerson => "in_person",
        /// Online.
        Online => "online",
        /// By phone.
        Phone => "phone",
        /// At a venue or online.
        Hybrid => "hybrid",
    }
}

impl AttendingType {
    /// In words, for people.
    pub const fn label(self) -> &'static str {
        match self {
            AttendingType::InPerson => "In person",
            AttendingType::Online => "Online",
            AttendingType::Phone => "By phone",
            AttendingType::Hybrid => "In person or online",
        }
    }

    /// Whether it happens somewhere (a new listing must then say where).
    pub fn needs_venue(self) -> bool {
        !matches!(self, AttendingType::Online | AttendingType::Phone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_read_back_and_travel_as_themselves() {
        for status in ListingStatus::ALL {
            assert_eq!(ListingStatus::parse(status.as_str()), Some(*status));
            assert_eq!(serde_json::to_value(status).unwrap(), serde_json::json!(status.as_str()));
        }
        for capacity in Capacity::ALL {
            assert_eq!(Capacity::parse(&capacity.to_string()), Some(*capacity));
        }
        for approval in Approval::ALL {
            assert_eq!(Approval::try_from(approval.as_str().to_string()), Ok(*approval));
        }
        for attending in AttendingType::ALL {
            let back: AttendingType = serde_json::from_value(serde_json::json!(attending.as_str())).unwrap();
            assert_eq!(back, *attending);
        }
        assert_eq!(ListingStatus::parse("temporarily closed"), Some(ListingStatus::TemporarilyClosed));
        assert_eq!(serde_json::to_string(&ListingStatus::TemporarilyClosed).unwrap(), "\"temporarily closed\"");
    }

    #[test]
    fn other_names_are_refused() {
        for bad in ["", "Active", "temporarily_closed", " active", "closed"] {
            assert_eq!(ListingStatus::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Capacity::parse("waiting"), None);
        assert_eq!(AttendingType::parse("in person"), None);
        let err = Approval::try_from("maybe".to_string()).unwrap_err();
        assert_eq!(err.to_string(), "\"maybe\" is not a listing approval");
        assert!(serde_json::from_value::<Capacity>(serde_json::json!("lots")).is_err());
    }

    #[test]
    fn what_the_states_mean() {
        let shown: Vec<_> = ListingStatus::ALL.iter().filter(|s| s.is_shown()).copied().collect();
        assert_eq!(shown, ListingStatus::SHOWN);
        assert!(!ListingStatus::Defunct.editor_may_set());
        assert!(ListingStatus::TemporarilyClosed.editor_may_set());
        assert!(AttendingType::InPerson.needs_venue() && AttendingType::Hybrid.needs_venue());
        assert!(!AttendingType::Online.needs_venue() && !AttendingType::Phone.needs_venue());
    }
}
