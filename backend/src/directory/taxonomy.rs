//! The four vocabularies: hierarchical categories, audiences, accessibility features and
//! referral reasons. Small and read on every search, so the loaded copy lives in the app state
//! and is reloaded after the seed or an admin change.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::taxonomy_terms;
use crate::db::DbConnection;

/// A vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vocabulary {
    /// What a service is about (two levels).
    Category,
    /// Who it is for.
    Audience,
    /// Accessibility features of a location.
    Accessibility,
    /// Why a GP refers someone.
    ReferralReason,
}

impl Vocabulary {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Vocabulary::Category => "category",
            Vocabulary::Audience => "audience",
            Vocabulary::Accessibility => "accessibility",
            Vocabulary::ReferralReason => "referral_reason",
        }
    }
}

/// One term of a vocabulary.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = taxonomy_terms)]
pub struct Term {
    /// Stable id (UUID v5 of vocabulary and slug).
    pub id: String,
    /// Which vocabulary.
    pub vocabulary: String,
    /// URL-safe name, used in filters.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Parent category, for child categories.
    pub parent_id: Option<String>,
    /// Display order.
    pub position: i32,
}

/// Every vocabulary, loaded.
#[derive(Debug, Clone, Default)]
pub struct Taxonomy {
    terms: Vec<Term>,
}

impl Taxonomy {
    /// Loads all terms in display order.
    pub fn load(conn: &mut DbConnection) -> QueryResult<Self> {
        let terms = taxonomy_terms::table
            .order((taxonomy_terms::vocabulary, taxonomy_terms::position))
            .select(Term::as_select())
            .load(conn)?;
        Ok(Self { terms })
    }

    /// Terms of one vocabulary in display order.
    pub fn terms(&self, vocabulary: Vocabulary) -> impl Iterator<Item = &Term> {
        self.terms.iter().filter(move |t| t.vocabulary == vocabulary.as_str())
    }

    /// A term by id.
    pub fn by_id(&self, id: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.id == id)
    }

    /// A term by vocabulary and slug.
    pub fn by_slug(&self, vocabulary: Vocabulary, slug: &str) -> Option<&Term> {
        self.terms(vocabulary).find(|t| t.slug == slug)
    }

    /// The parent of a child category.
    pub fn parent(&self, term: &Term) -> Option<&Term> {
        term.parent_id.as_deref().and_then(|id| self.by_id(id))
    }

    /// Top-level categories.
    pub fn top_categories(&self) -> impl Iterator<Item = &Term> {
        self.terms(Vocabulary::Category).filter(|t| t.parent_id.is_none())
    }

    /// Children of a category.
    pub fn children<'a>(&'a self, parent: &'a Term) -> impl Iterator<Item = &'a Term> {
        self.terms(Vocabulary::Category).filter(move |t| t.parent_id.as_deref() == Some(parent.id.as_str()))
    }

    /// True when nothing is loaded yet (before the first seed).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// The stable id of a term.
pub fn term_id(vocabulary: Vocabulary, slug: &str) -> String {
    crate::ids::stable_id(&format!("taxonomy/{}/{slug}", vocabulary.as_str()))
}
