//! The roles people hold and the kinds of organisation they belong to, with their stored
//! names. Who may do what with them is `accounts::policy`'s.

use serde::Serialize;

/// What a person does here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// GP practice team: refers people, follows their referrals.
    Referrer,
    /// Social prescribing link worker.
    LinkWorker,
    /// Leads a link worker service: the whole caseload and its reports.
    LinkWorkerLead,
    /// Keeps a community organisation's listings true.
    GroupEditor,
    /// ICB or council directory team: organisations, accounts, moderation, reports.
    Admin,
}

impl Role {
    /// Every role, for forms and the authorization matrix.
    pub const ALL: [Role; 5] = [Role::Referrer, Role::LinkWorker, Role::LinkWorkerLead, Role::GroupEditor, Role::Admin];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Referrer => "referrer",
            Role::LinkWorker => "link_worker",
            Role::LinkWorkerLead => "link_worker_lead",
            Role::GroupEditor => "group_editor",
            Role::Admin => "admin",
        }
    }

    /// Where the person lands after signing in: their own work (a GP's referrals with the
    /// "Make a referral" button, a link worker's needs-attention list, a group's introductions
    /// waiting, an admin's approvals waiting).
    pub fn home(self) -> &'static str {
        match self {
            Role::Referrer => "/referrals",
            Role::LinkWorker | Role::LinkWorkerLead => "/referrals?view=needs_attention",
            Role::GroupEditor => "/introductions",
            Role::Admin => "/admin",
        }
    }

    /// From the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Referrer => "GP practice referrer",
            Role::LinkWorker => "Link worker",
            Role::LinkWorkerLead => "Link worker lead",
            Role::GroupEditor => "Community group editor",
            Role::Admin => "Administrator",
        }
    }

    /// Whether a person in this role may belong to an organisation of this kind: referrers to
    /// a GP practice or an agency, everyone else to their role's own kind.
    pub fn belongs_in(self, kind: OrgKind) -> bool {
        match self {
            Role::Referrer => kind.refers(),
            other => other.organisation_kind() == kind,
        }
    }

    /// The organisation kind a person in this role belongs to (a referrer's may also be an
    /// agency: see [`Role::belongs_in`]).
    pub fn organisation_kind(self) -> OrgKind {
        match self {
            Role::Referrer => OrgKind::GpPractice,
            Role::LinkWorker | Role::LinkWorkerLead => OrgKind::LinkWorkerService,
            Role::GroupEditor => OrgKind::CommunityOrg,
            Role::Admin => OrgKind::AdminBody,
        }
    }
}

/// What an organisation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// A GP practice (its team refers).
    GpPractice,
    /// A PCN or VCSE hub employing link workers; serves practices.
    LinkWorkerService,
    /// Runs community assets listed in the directory.
    CommunityOrg,
    /// ICB or council directory team.
    AdminBody,
    /// Adult social care (an agency whose staff refer).
    AdultSocialCare,
    /// A hospital discharge team (refers).
    HospitalDischarge,
    /// Housing: a council's housing team or a housing association (refers).
    Housing,
    /// The voluntary sector (refers).
    VoluntarySector,
    /// A community pharmacy (refers).
    CommunityPharmacy,
    /// Fire and police "safe and well" visits (refer).
    SafeAndWell,
    /// Jobcentre (refers).
    Jobcentre,
    /// The people who refer themselves: one organisation standing for them, made by the
    /// migration, never created by an administrator.
    ThePublic,
}

impl OrgKind {
    /// Every kind.
    pub const ALL: [OrgKind; 12] = [
        OrgKind::GpPractice,
        OrgKind::LinkWorkerService,
        OrgKind::CommunityOrg,
        OrgKind::AdminBody,
        OrgKind::AdultSocialCare,
        OrgKind::HospitalDischarge,
        OrgKind::Housing,
        OrgKind::VoluntarySector,
        OrgKind::CommunityPharmacy,
        OrgKind::SafeAndWell,
        OrgKind::Jobcentre,
        OrgKind::ThePublic,
    ];

    /// The agencies besides GP practices whose staff refer (with the referrer role).
    pub const AGENCIES: [OrgKind; 7] = [
        OrgKind::AdultSocialCare,
        OrgKind::HospitalDischarge,
        OrgKind::Housing,
        OrgKind::VoluntarySector,
        OrgKind::CommunityPharmacy,
        OrgKind::SafeAndWell,
        OrgKind::Jobcentre,
    ];

    /// Whether an administrator may create an organisation of this kind (not "the public").
    pub fn creatable(self) -> bool {
        self != OrgKind::ThePublic
    }

    /// Whether this is an agency besides GP practices whose staff refer.
    pub fn is_agency(self) -> bool {
        OrgKind::AGENCIES.contains(&self)
    }

    /// Whether people in an organisation of this kind refer (GP practices and agencies).
    pub fn refers(self) -> bool {
        self == OrgKind::GpPractice || self.is_agency()
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::GpPractice => "gp_practice",
            OrgKind::LinkWorkerService => "link_worker_service",
            OrgKind::CommunityOrg => "community_org",
            OrgKind::AdminBody => "admin_body",
            OrgKind::AdultSocialCare => "adult_social_care",
            OrgKind::HospitalDischarge => "hospital_discharge",
            OrgKind::Housing => "housing",
            OrgKind::VoluntarySector => "voluntary_sector",
            OrgKind::CommunityPharmacy => "community_pharmacy",
            OrgKind::SafeAndWell => "safe_and_well",
            OrgKind::Jobcentre => "jobcentre",
            OrgKind::ThePublic => "the_public",
        }
    }

    /// From the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            OrgKind::GpPractice => "GP practice",
            OrgKind::LinkWorkerService => "Link worker service",
            OrgKind::CommunityOrg => "Community organisation",
            OrgKind::AdminBody => "Directory team (ICB or council)",
            OrgKind::AdultSocialCare => "Adult social care",
            OrgKind::HospitalDischarge => "Hospital discharge team",
            OrgKind::Housing => "Housing",
            OrgKind::VoluntarySector => "Voluntary sector",
            OrgKind::CommunityPharmacy => "Community pharmacy",
            OrgKind::SafeAndWell => "Fire and police \"safe and well\"",
            OrgKind::Jobcentre => "Jobcentre",
            OrgKind::ThePublic => "Self-referral",
        }
    }
}
