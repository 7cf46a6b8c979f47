//! What the backend gives the index for one service.

use tantivy::TantivyDocument;

use crate::geo_cells::GeoPoint;
use crate::schema::Fields;

/// Whether a listing may appear in public searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Approved and active (or temporarily closed): shown to the public, subject to freshness.
    Public,
    /// Pending approval, inactive or defunct: only staff searches see it.
    Hidden,
}

/// One community asset as the index sees it. Facet values are slugs; categories should list
/// both the child and its parent so either filter finds it.
#[derive(Debug, Clone)]
pub struct ServiceDocument {
    /// The service id: a UUID (refused otherwise).
    pub id: String,
    /// Service name.
    pub name: String,
    /// One-sentence summary.
    pub summary: String,
    /// Full description.
    pub description: String,
    /// Words a person might type that are not in the text.
    pub keywords: Vec<String>,
    /// The organisation that runs it.
    pub organisation: String,
    /// Category slugs (children and their parents).
    pub categories: Vec<String>,
    /// Names of the categories, audiences and accessibility features, searched as text.
    pub taxonomy_names: Vec<String>,
    /// Audience slugs.
    pub audiences: Vec<String>,
    /// Accessibility feature slugs over all locations.
    pub accessibility: Vec<String>,
    /// Days with a session: `MO`..`SU`.
    pub days: Vec<String>,
    /// True when at least one way to take part is free.
    pub free: bool,
    /// `in_person`, `online`, `phone` or `hybrid`.
    pub attendance: String,
    /// `accepting`, `waitlist`, `full` or `paused`.
    pub capacity: String,
    /// `active`, `inactive`, `defunct` or `temporarily closed`.
    pub status: String,
    /// Whether the public may see it at all.
    pub visibility: Visibility,
    /// Every location's coordinates (masked locations included: their postcode centre is fine).
    pub locations: Vec<GeoPoint>,
    /// When someone last confirmed it accurate, seconds since the Unix epoch.
    pub last_verified: i64,
    /// Areas it is offered in besides its locations, as facet values (`outward-gl5`,
    /// `county-gloucestershire`, `online`, `national`, `listing-<id>` for home visits): the
    /// backend's search asks for those that cover a place.
    pub areas: Vec<String>,
}

impl ServiceDocument {
    /// Facet terms of the document, e.g. `category/gardening`.
    pub(crate) fn facet_terms(&self) -> Vec<String> {
        let mut terms = Vec::new();
        terms.extend(self.categories.iter().map(|c| format!("category/{c}")));
        terms.extend(self.audiences.iter().map(|a| format!("audience/{a}")));
        terms.extend(self.accessibility.iter().map(|a| format!("accessibility/{a}")));
        terms.extend(self.days.iter().map(|d| format!("day/{d}")));
        terms.push(format!("cost/{}", if self.free { "free" } else { "paid" }));
        terms.push(format!("attendance/{}", self.attendance));
        terms.push(format!("capacity/{}", self.capacity));
        terms.push(format!("status/{}", self.status.replace(' ', "_")));
        terms.extend(self.areas.iter().map(|a| format!("area/{a}")));
        terms.sort();
        terms.dedup();
        terms
    }

    /// Ranking multiplier (thousandths) for capacity and status: full or paused listings and
    /// temporarily closed ones sink below those a person can join now.
    fn availability(&self) -> u64 {
        let capacity = match self.capacity.as_str() {
            "accepting" => 1000,
            "waitlist" => 850,
            _ => 500,
        };
        let status = if self.status == "active" { 1000 } else { 500 };
        capacity * status / 1000
    }

    pub(crate) fn to_tantivy(&self, f: &Fields) -> crate::error::Result<TantivyDocument> {
        let uuid = uuid::Uuid::parse_str(&self.id).map_err(|_| crate::SearchError::InvalidId(self.id.clone()))?;
        let (hi, lo) = uuid.as_u64_pair();
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, uuid.to_string());
        doc.add_u64(f.id_hi, hi);
        doc.add_u64(f.id_lo, lo);
        doc.add_text(f.name, &self.name);
        for text in [&self.name, &self.summary, &self.description, &self.organisation] {
            doc.add_text(f.all_text, text);
            doc.add_text(f.spell, text);
        }
        for tag in &self.keywords {
            doc.add_text(f.all_text, tag);
            doc.add_text(f.tags, tag);
            doc.add_text(f.spell, tag);
        }
        // A category's or audience's name says what the category holds, not what each listing
        // in it is ("Social groups and lunch clubs" is no lunch club's keyword): searched as
        // text, and the categories the words name count through `data/concepts.txt`.
        for name in &self.taxonomy_names {
            doc.add_text(f.all_text, name);
            doc.add_text(f.spell, name);
        }
        for term in self.facet_terms() {
            doc.add_text(f.facet, &term);
        }
        doc.add_text(f.name_sort, self.name.to_lowercase());
        for point in &self.locations {
            doc.add_u64(f.points, point.pack());
            for cell in point.cell_terms() {
                doc.add_text(f.geo_cell, &cell);
            }
        }
        doc.add_i64(f.last_verified, self.last_verified);
        doc.add_u64(f.availability, self.availability());
        doc.add_u64(f.public, u64::from(self.visibility == Visibility::Public));
        Ok(doc)
    }
}
