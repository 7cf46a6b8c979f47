//! The search crate's own errors; the backend maps them to HTTP answers.

/// Everything that can go wrong inside the search index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// tantivy failed (I/O, a corrupt segment, a writer that went away).
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The index folder could not be read or written.
    #[error("search index folder: {0}")]
    Io(#[from] std::io::Error),
    /// The index on disk cannot be opened (missing, corrupt, or of another schema version).
    #[error("search index needs a rebuild: {0}")]
    NeedsRebuild(String),
    /// The index turned out damaged while serving (an error or a panic inside tantivy); the
    /// answer cannot be trusted and a rebuild has been asked for.
    #[error("search index damaged: {0}")]
    Damaged(String),
    /// A document id that is not a UUID.
    #[error("listing id {0:?} is not a UUID")]
    InvalidId(String),
    /// A coordinate outside the valid range was given.
    #[error("invalid coordinate: {0}")]
    InvalidCoordinate(String),
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, SearchError>;
