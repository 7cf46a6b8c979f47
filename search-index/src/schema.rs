//! The tantivy schema, built in one place, with a typed handle for every field.

use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STRING};

/// Bumped whenever the schema or the text analysis changes; an index of another version is
/// rebuilt from the database at start.
pub const SCHEMA_VERSION: u32 = 7;

/// Name of the analyzer used for every free-text field (English stemming, stop words removed).
pub(crate) const TEXT_ANALYZER: &str = "cg_english";

/// Name of the analyzer for the spelling field: words as written, lower-cased, not stemmed.
pub(crate) const PLAIN_ANALYZER: &str = "cg_plain";

/// Handles to every field of the index.
///
/// Text is indexed twice: everything together in `all_text` (what a query must match, with BM25
/// over the whole listing) and the name alone (boosted). Keywords and vocabulary names are also
/// indexed as `tags` (boosted). Nothing is stored: the database holds the text, the index holds
/// what finds and ranks it (ids come from a fast column), so a search never touches the
/// document store. Fewer indexed fields means fewer scorers per query word, which is most of
/// the query cost.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    /// The service's id (UUID text), the unit of upsert and delete.
    pub id: Field,
    /// The id's UUID as two u64 fast columns: read back for every hit without touching a
    /// dictionary.
    pub id_hi: Field,
    /// Low half of the id.
    pub id_lo: Field,
    /// Name, indexed on its own to boost it.
    pub name: Field,
    /// Name, summary, description, keywords, organisation and vocabulary names, indexed together.
    pub all_text: Field,
    /// Keywords and vocabulary names (categories, audiences, accessibility).
    pub tags: Field,
    /// Every word as written (not stemmed): the dictionary that spelling suggestions and
    /// prefix completion use.
    pub spell: Field,
    /// Facet terms such as `category/gardening`, `day/TU`: filter terms and counting column.
    pub facet: Field,
    /// Lower-cased name: the sort key for "sort by name".
    pub name_sort: Field,
    /// Every location packed into a u64 (see `GeoPoint::pack`).
    pub points: Field,
    /// Grid cell terms of every location, for picking geographic candidates.
    pub geo_cell: Field,
    /// When a person last confirmed the listing is accurate (seconds since the epoch).
    pub last_verified: Field,
    /// Ranking multiplier for capacity and status, in thousandths (1000 = no penalty).
    pub availability: Field,
    /// 1 when the public may see the listing (approved, active or temporarily closed).
    pub public: Field,
}

/// Builds the schema and its field handles.
pub(crate) fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = |option: IndexRecordOption, tokenizer: &str| {
        TextOptions::default()
            .set_indexing_options(TextFieldIndexing::default().set_tokenizer(tokenizer).set_index_option(option))
    };
    let fields = Fields {
        id: builder.add_text_field("id", STRING),
        id_hi: builder.add_u64_field("id_hi", FAST),
        id_lo: builder.add_u64_field("id_lo", FAST),
        name: builder.add_text_field("name", text(IndexRecordOption::WithFreqsAndPositions, TEXT_ANALYZER)),
        all_text: builder.add_text_field("all_text", text(IndexRecordOption::WithFreqsAndPositions, TEXT_ANALYZER)),
        tags: builder.add_text_field("tags", text(IndexRecordOption::WithFreqs, TEXT_ANALYZER)),
        spell: builder.add_text_field("spell", text(IndexRecordOption::Basic, PLAIN_ANALYZER)),
        facet: builder.add_text_field("facet", STRING | FAST),
        name_sort: builder.add_text_field("name_sort", STRING | FAST),
        points: builder.add_u64_field("points", FAST),
        geo_cell: builder.add_text_field("geo_cell", STRING),
        last_verified: builder.add_i64_field("last_verified", FAST | INDEXED),
        availability: builder.add_u64_field("availability", FAST),
        public: builder.add_u64_field("public", FAST),
    };
    (builder.build(), fields)
}
