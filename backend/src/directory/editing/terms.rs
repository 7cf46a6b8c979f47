//! The categories and audiences part of an edit: what the listing has, what the editor chose,
//! the slugs before and after for the version, and replacing them in the edit's transaction.

use diesel::prelude::*;

use super::edit::ListingEdit;
use crate::db::schema::{service_taxonomy, taxonomy_terms};
use crate::db::DbConnection;
use crate::directory::listing_input::resolve_terms;
use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::domain::FieldErrors;

/// The name of the edit field for a vocabulary's terms.
pub(super) fn terms_field(vocabulary: Vocabulary) -> &'static str {
    if vocabulary == Vocabulary::Category {
        "categories"
    } else {
        "audiences"
    }
}

/// A listing's categories and audiences before an edit, and the ones chosen (when given).
pub(super) struct ChosenTerms {
    /// (term id, vocabulary) now on the listing.
    current: Vec<(String, String)>,
    /// Per vocabulary the edit replaces: the term ids chosen.
    chosen: Vec<(Vocabulary, Vec<String>)>,
}

impl ChosenTerms {
    pub(super) fn read(
        conn: &mut DbConnection,
        id: &str,
        taxonomy: &Taxonomy,
        e: &ListingEdit,
        errors: &mut FieldErrors,
    ) -> QueryResult<Self> {
        let current: Vec<(String, String)> = service_taxonomy::table
            .inner_join(taxonomy_terms::table)
            .filter(service_taxonomy::service_id.eq(id))
            .select((taxonomy_terms::id, taxonomy_terms::vocabulary))
            .load(conn)?;
        let mut chosen = Vec::new();
        if let Some(categories) = &e.categories {
            if categories.is_empty() {
                errors.insert("categories".into(), "choose at least one category".into());
            }
            chosen.push((Vocabulary::Category, resolve_terms(taxonomy, categories, &[], errors)));
        }
        if let Some(audiences) = &e.audiences {
            chosen.push((Vocabulary::Audience, resolve_terms(taxonomy, &[], audiences, errors)));
        }
        Ok(ChosenTerms { current, chosen })
    }

    /// The slugs before and after, sorted, for the version's record of what changed.
    pub(super) fn slugs(&self, vocabulary: Vocabulary, taxonomy: &Taxonomy) -> (Vec<String>, Vec<String>) {
        let slug = |id: &String| taxonomy.by_id(id).map(|t| t.slug.clone()).unwrap_or_else(|| id.clone());
        let mut before: Vec<String> =
            self.current.iter().filter(|(_, v)| v == vocabulary.as_str()).map(|(id, _)| slug(id)).collect();
        before.sort();
        let after = match self.chosen.iter().find(|(v, _)| *v == vocabulary) {
            Some((_, ids)) => {
                let mut after: Vec<String> = ids.iter().map(slug).collect();
                after.sort();
                after
            }
            None => before.clone(),
        };
        (before, after)
    }

    /// Replaces the listing's terms of each vocabulary the edit chose.
    pub(super) fn write(&self, conn: &mut DbConnection, id: &str) -> QueryResult<()> {
        for (vocabulary, ids) in &self.chosen {
            let old: Vec<&String> =
                self.current.iter().filter(|(_, v)| v == vocabulary.as_str()).map(|(id, _)| id).collect();
            diesel::delete(
                service_taxonomy::table
                    .filter(service_taxonomy::service_id.eq(id))
                    .filter(service_taxonomy::term_id.eq_any(old)),
            )
            .execute(conn)?;
            for term in ids {
                diesel::insert_into(service_taxonomy::table)
                    .values((service_taxonomy::service_id.eq(id), service_taxonomy::term_id.eq(term)))
                    .execute(conn)?;
            }
        }
        Ok(())
    }
}
