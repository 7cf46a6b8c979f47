//! Who may do what: the one place that decides. Every handler asks [`allows`]; a record the
//! caller may not see answers 404 (the handler says "not found", never "forbidden"), so its
//! existence does not leak.
//!
//! Decisions:
//! - Referrers see their own practice's referrals; link workers and leads their own service's;
//!   group editors only their own organisation's listings and the introductions to them.
//! - Admins (ICB or council directory teams) manage organisations, accounts and listings, and
//!   see referral records for oversight (status, dates, practice, reasons, outcome scores), but
//!   never the clinical free text (the referrer's words, risk notes, what matters to the
//!   person, link workers' notes). A person holds exactly one role, so an admin never also
//!   holds a clinical one; a clinician who needs both has two accounts, each audited.
//! - The person's data rights (access, rectification, restriction, consent withdrawn, erasure)
//!   are exercised by admins (the ICB's information governance, for any referral) and by a
//!   service's lead (for their own service's referrals); each is audited. Answering a subject
//!   access request shows an admin who the person is: that is its purpose.

use super::{CurrentUser, Role};

/// Something a person wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Open the admin area.
    Administer,
    /// Create and change organisations.
    ManageOrganisations,
    /// Invite, disable and reset accounts.
    ManageUsers,
    /// Browse the audit trail.
    ViewAudit,
    /// See why search results rank where they do (`explain=1`).
    ExplainSearch,
    /// See what was sent, to whom, and what failed (no message bodies).
    ViewNotifications,
    /// Edit (or create under) an organisation's listings.
    EditListings {
        /// The organisation that owns the listings.
        organisation_id: &'a str,
    },
    /// Refer a person to social prescribing.
    CreateReferral,
    /// See a referral's record.
    ViewReferral {
        /// The referring practice.
        practice_id: &'a str,
        /// The link worker service it went to.
        service_id: &'a str,
    },
    /// See a referral's clinical free text.
    ViewClinicalText {
        /// The referring practice.
        practice_id: &'a str,
        /// The link worker service it went to.
        service_id: &'a str,
    },
    /// Work a referral (move it, add notes, measures, connections).
    WorkReferral {
        /// The link worker service it went to.
        service_id: &'a str,
    },
    /// See the introductions to community groups' listings (the group's inbox).
    ViewIntroductions,
    /// Answer an introduction to one of an organisation's listings (the group's side of the loop).
    AnswerIntroductions {
        /// The organisation that owns the listing.
        organisation_id: &'a str,
    },
    /// See who the person referred is (name, contact details): everyone who may see the
    /// referral except admins, whose oversight is of the record, not the person.
    ViewPersonIdentity,
    /// Publish a new listing at once, without the directory team's review.
    PublishWithoutReview,
    /// Exercise a person's data rights on a service's referrals (`None`: the area as a whole,
    /// e.g. opening the data rights page).
    ExerciseDataRights {
        /// The link worker service the referral went to.
        service_id: Option<&'a str>,
    },
    /// Edit which postcode areas and practices a link worker service covers.
    EditCoverage,
    /// See reports (a service's, or all when `None`).
    ViewReports {
        /// The service the report is limited to.
        service_id: Option<&'a str>,
    },
}

/// Whether the signed-in person may do it.
pub fn allows(user: &CurrentUser, action: Action<'_>) -> bool {
    let own_org = |id: &str| user.organisation_id == id;
    match action {
        Action::Administer
        | Action::ManageOrganisations
        | Action::ManageUsers
        | Action::ViewAudit
        | Action::ExplainSearch
        | Action::ViewNotifications
        | Action::EditCoverage => user.role == Role::Admin,
        Action::EditListings { organisation_id } => {
            user.role == Role::Admin || (user.role == Role::GroupEditor && own_org(organisation_id))
        }
        Action::CreateReferral => user.role == Role::Referrer && user.organisation_kind.refers(),
        Action::ViewReferral { practice_id, service_id } => match user.role {
            Role::Referrer => own_org(practice_id),
            Role::LinkWorker | Role::LinkWorkerLead => own_org(service_id),
            Role::Admin => true,
            Role::GroupEditor => false,
        },
        Action::ViewClinicalText { practice_id, service_id } => match user.role {
            Role::Referrer => own_org(practice_id),
            Role::LinkWorker | Role::LinkWorkerLead => own_org(service_id),
            Role::Admin | Role::GroupEditor => false,
        },
        Action::WorkReferral { service_id } => {
            matches!(user.role, Role::LinkWorker | Role::LinkWorkerLead) && own_org(service_id)
        }
        Action::ViewIntroductions => user.role == Role::GroupEditor,
        Action::ViewPersonIdentity => user.role != Role::Admin,
        Action::PublishWithoutReview => user.role == Role::Admin,
        Action::AnswerIntroductions { organisation_id } => user.role == Role::GroupEditor && own_org(organisation_id),
        Action::ExerciseDataRights { service_id } => match (user.role, service_id) {
            (Role::Admin, _) => true,
            (Role::LinkWorkerLead, None) => true,
            (Role::LinkWorkerLead, Some(service)) => own_org(service),
            _ => false,
        },
        Action::ViewReports { service_id } => match (user.role, service_id) {
            (Role::Admin, _) => true,
            (Role::LinkWorkerLead, Some(service)) => own_org(service),
            _ => false,
        },
    }
}

/// Whether an account (its organisation and role, as stored) may own a referral of a link
/// worker service: one of that service's link workers or leads.
pub fn may_own_referral(organisation_id: &str, role: &str, service_id: &str) -> bool {
    organisation_id == service_id && matches!(Role::parse(role), Some(Role::LinkWorker | Role::LinkWorkerLead))
}

/// The service a caller's reports are limited to: a lead sees their own service's; anyone else
/// is either an admin (everything) or refused by [`Action::ViewReports`].
pub fn report_service(user: &CurrentUser) -> Option<&str> {
    (user.role == Role::LinkWorkerLead).then_some(user.organisation_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, org: &str) -> CurrentUser {
        CurrentUser {
            id: "u".into(),
            name: "n".into(),
            email: "e@example.org".into(),
            role,
            organisation_id: org.into(),
            organisation_name: "o".into(),
            organisation_kind: role.organisation_kind(),
            served_by: None,
            totp_enabled: false,
        }
    }

    #[test]
    fn each_role_sees_its_own_world() {
        let referral = Action::ViewReferral { practice_id: "practice", service_id: "service" };
        let clinical = Action::ViewClinicalText { practice_id: "practice", service_id: "service" };
        let cases: Vec<(CurrentUser, bool, bool)> = vec![
            (user(Role::Referrer, "practice"), true, true),
            (user(Role::Referrer, "other-practice"), false, false),
            (user(Role::LinkWorker, "service"), true, true),
            (user(Role::LinkWorker, "other-service"), false, false),
            (user(Role::LinkWorkerLead, "service"), true, true),
            (user(Role::GroupEditor, "service"), false, false),
            (user(Role::Admin, "icb"), true, false),
        ];
        for (u, sees, sees_clinical) in cases {
            assert_eq!(allows(&u, referral), sees, "{:?} {}", u.role, u.organisation_id);
            assert_eq!(allows(&u, clinical), sees_clinical, "{:?} {} clinical", u.role, u.organisation_id);
        }
        assert!(allows(&user(Role::GroupEditor, "club"), Action::EditListings { organisation_id: "club" }));
        assert!(!allows(&user(Role::GroupEditor, "club"), Action::EditListings { organisation_id: "other-club" }));
        assert!(!allows(&user(Role::LinkWorker, "service"), Action::EditListings { organisation_id: "service" }));
        assert!(allows(&user(Role::Admin, "icb"), Action::ManageUsers));
        assert!(!allows(&user(Role::LinkWorkerLead, "service"), Action::ManageUsers));
        assert!(allows(&user(Role::LinkWorkerLead, "service"), Action::ViewReports { service_id: Some("service") }));
        assert!(!allows(&user(Role::LinkWorkerLead, "service"), Action::ViewReports { service_id: None }));
        assert!(!allows(&user(Role::LinkWorker, "service"), Action::ViewReports { service_id: Some("service") }));
        assert!(allows(&user(Role::Referrer, "practice"), Action::CreateReferral));
        assert!(!allows(&user(Role::LinkWorker, "service"), Action::CreateReferral));
        assert!(allows(&user(Role::GroupEditor, "club"), Action::AnswerIntroductions { organisation_id: "club" }));
        assert!(!allows(&user(Role::GroupEditor, "club"), Action::AnswerIntroductions { organisation_id: "other" }));
        assert!(!allows(&user(Role::Admin, "icb"), Action::AnswerIntroductions { organisation_id: "icb" }));
        assert!(!allows(&user(Role::LinkWorker, "service"), Action::ViewIntroductions));
        assert_eq!(report_service(&user(Role::LinkWorkerLead, "service")), Some("service"));
        assert_eq!(report_service(&user(Role::Admin, "icb")), None);
    }

    #[test]
    fn admins_oversee_records_but_not_people_and_publish_at_once() {
        for role in Role::ALL {
            let someone = user(role, "org");
            assert_eq!(allows(&someone, Action::ViewPersonIdentity), role != Role::Admin, "{role:?}");
            assert_eq!(allows(&someone, Action::PublishWithoutReview), role == Role::Admin, "{role:?}");
        }
    }

    #[test]
    fn data_rights_are_for_admins_and_the_services_lead() {
        let rights = |service| Action::ExerciseDataRights { service_id: service };
        assert!(allows(&user(Role::Admin, "icb"), rights(Some("service"))));
        assert!(allows(&user(Role::LinkWorkerLead, "service"), rights(Some("service"))));
        assert!(allows(&user(Role::LinkWorkerLead, "service"), rights(None)));
        assert!(!allows(&user(Role::LinkWorkerLead, "other"), rights(Some("service"))));
        for role in [Role::LinkWorker, Role::Referrer, Role::GroupEditor] {
            assert!(!allows(&user(role, "service"), rights(Some("service"))), "{role:?}");
            assert!(!allows(&user(role, "service"), rights(None)), "{role:?}");
        }
    }

    #[test]
    fn agencies_refer_and_only_admins_edit_coverage() {
        use crate::accounts::OrgKind;
        for kind in OrgKind::ALL {
            let mut referrer = user(Role::Referrer, "agency");
            referrer.organisation_kind = kind;
            let refers = kind == OrgKind::GpPractice || OrgKind::AGENCIES.contains(&kind);
            assert_eq!(allows(&referrer, Action::CreateReferral), refers, "{kind:?}");
            assert_eq!(Role::Referrer.belongs_in(kind), refers, "{kind:?}");
        }
        assert!(!OrgKind::ThePublic.creatable());
        for role in Role::ALL {
            assert_eq!(allows(&user(role, "org"), Action::EditCoverage), role == Role::Admin, "{role:?}");
        }
    }

    #[test]
    fn only_the_services_link_workers_may_own_its_referrals() {
        assert!(may_own_referral("service", "link_worker", "service"));
        assert!(may_own_referral("service", "link_worker_lead", "service"));
        assert!(!may_own_referral("other", "link_worker", "service"));
        assert!(!may_own_referral("service", "admin", "service"));
        assert!(!may_own_referral("service", "not-a-role", "service"));
    }
}
