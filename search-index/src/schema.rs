//! The tantivy schema, built in one place, with a typed handle for every field.

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};

/// Bumped whenever the schema or the text analysis changes; an index of another version is
/// rebuilt from the database at start.
pub const SCHEMA_VERSION: u32 = 3;

/// Name of the analyzer used for every free-text field (English stemming, stop words removed).
pub(crate) const TEXT_ANALYZER: &str = "cg_english";

/// Name of the analyzer for the spelling field: words as written, lower-cased, not stemmed.
pub(crate) const PLAIN_ANALYZER: &str = "cg_plain";

/// Handles to every field of the index.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    /// The service's id (UUID text), the unit of upsert and delete.
    pub id: Field,
    /// Name: the most important text, boosted at query time.
    pub name: Field,
    pub summary: Field,
    pub description: Field,
    pub keywords: Field,
    pub organisation: Field,
    /// Category, audience and accessibility names, so "gardening" finds the Gardening category.
    pub taxonomy_text: Field,
    /// Every word as written (not stemmed): the dictionary that spelling suggestions come from.
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
    /// `public`, `hidden` (pending, inactive): public searches see only `public`.
    pub visibility: Field,
}

/// Builds the schema and its field handles.
pub(crate) fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = |stored: bool| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(TEXT_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let options = TextOptions::default().set_indexing_options(indexing);
        if stored {
            options.set_stored()
        } else {
            options
        }
    };
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED),
        name: builder.add_text_field("name", text(true)),
        summary: builder.add_text_field("summary", text(true)),
        description: builder.add_text_field("description", text(true)),
        keywords: builder.add_text_field("keywords", text(false)),
        organisation: builder.add_text_field("organisation", text(false)),
        taxonomy_text: builder.add_text_field("taxonomy_text", text(false)),
        spell: builder.add_text_field(
            "spell",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(PLAIN_ANALYZER)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
        facet: builder.add_text_field("facet", STRING | FAST),
        name_sort: builder.add_text_field("name_sort", STRING | FAST),
        points: builder.add_u64_field("points", FAST),
        geo_cell: builder.add_text_field("geo_cell", STRING),
        last_verified: builder.add_i64_field("last_verified", FAST | INDEXED),
        availability: builder.add_u64_field("availability", FAST),
        visibility: builder.add_text_field("visibility", STRING),
    };
    (builder.build(), fields)
}
