//! `GET /api/v1/taxonomy`: the vocabularies.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::state::AppState;

#[derive(Serialize)]
struct TermOut {
    slug: String,
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    children: Vec<TermOut>,
}

#[derive(Serialize)]
struct TaxonomyOut {
    categories: Vec<TermOut>,
    audiences: Vec<TermOut>,
    accessibility: Vec<TermOut>,
    referral_reasons: Vec<TermOut>,
}

fn flat(taxonomy: &Taxonomy, vocabulary: Vocabulary) -> Vec<TermOut> {
    taxonomy
        .terms(vocabulary)
        .map(|t| TermOut { slug: t.slug.clone(), name: t.name.clone(), children: Vec::new() })
        .collect()
}

/// Every vocabulary; categories as a tree.
pub async fn get_taxonomy(state: web::Data<AppState>) -> HttpResponse {
    let taxonomy = state.taxonomy();
    let categories = taxonomy
        .top_categories()
        .map(|top| TermOut {
            slug: top.slug.clone(),
            name: top.name.clone(),
            children: taxonomy
                .children(top)
                .map(|c| TermOut { slug: c.slug.clone(), name: c.name.clone(), children: Vec::new() })
                .collect(),
        })
        .collect();
    HttpResponse::Ok().json(TaxonomyOut {
        categories,
        audiences: flat(&taxonomy, Vocabulary::Audience),
        accessibility: flat(&taxonomy, Vocabulary::Accessibility),
        referral_reasons: flat(&taxonomy, Vocabulary::ReferralReason),
    })
}
