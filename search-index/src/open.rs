//! Opening the index on disk, deciding when it must be rebuilt, and swapping in a rebuilt one.
//!
//! The index is derived from the database, so any doubt about it is answered by rebuilding:
//! a file whose checksum does not match, a file missing, or a panic inside tantivy while
//! reading it. A rebuild while serving is written to a folder beside the live one and renamed
//! into place when complete; searches keep using the old index until the swap.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use tantivy::collector::Count;
use tantivy::directory::Directory;
use tantivy::query::AllQuery;
use tantivy::{Index, IndexWriter, ReloadPolicy, SegmentComponent, TantivyDocument, Warmer};

use crate::concepts::Concepts;
use crate::error::{Result, SearchError};
use crate::facts::FactsCache;
use crate::index::{IndexWriterHandle, OpenOutcome, Opened, SearchIndex};
use crate::schema::{self, Fields, PLAIN_ANALYZER, SCHEMA_VERSION, TEXT_ANALYZER};
use crate::synonyms::Synonyms;
use crate::text::{english_analyzer, plain_analyzer};

const VERSION_FILE: &str = "schema_version";

/// Runs `work`, turning a panic (tantivy panics on some damaged files) into
/// [`SearchError::Damaged`].
pub(crate) fn guarded<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(SearchError::Damaged(format!("panic while reading the index: {what}")))
        }
    }
}

/// A rebuild in progress, in a folder beside the live index: fill it through [`Self::writer`],
/// commit, then hand it to [`SearchIndex::finish_rebuild`].
pub struct Rebuild {
    writer: IndexWriterHandle,
    dir: PathBuf,
}

impl Rebuild {
    /// The writer of the new index.
    pub fn writer(&mut self) -> &mut IndexWriterHandle {
        &mut self.writer
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, or creates an empty one when it is missing, unreadable,
    /// damaged, of another schema version, or was never committed; the outcome says which.
    pub fn open_or_create(dir: &Path) -> Result<(Self, OpenOutcome)> {
        // Leftovers of a rebuild interrupted by a crash.
        let _ = fs::remove_dir_all(sibling(dir, "old"));
        let _ = fs::remove_dir_all(sibling(dir, "rebuild"));
        match open_existing(dir) {
            Ok((opened, payload)) => Ok((Self::with(opened, dir), OpenOutcome::Opened { payload })),
            Err(problem) => {
                let reason = problem.to_string();
                // A first start has no index yet: nothing is wrong, so no warning.
                if dir.join("meta.json").exists() {
                    tracing::warn!(index.dir = %dir.display(), reason = %reason, "search index will be rebuilt");
                } else {
                    tracing::info!(index.dir = %dir.display(), "no search index yet; building one");
                }
                let opened = create_empty(dir)?;
                Ok((Self::with(opened, dir), OpenOutcome::Created { reason }))
            }
        }
    }

    fn with(opened: Opened, dir: &Path) -> Self {
        let mut analyzer = english_analyzer();
        let synonyms = Synonyms::load(&mut analyzer);
        let concepts = Concepts::load(&mut analyzer);
        let (_, fields) = schema::build();
        Self {
            current: RwLock::new(Arc::new(opened)),
            fields,
            synonyms,
            concepts,
            // Each search copies this one: kept with an empty stem cache, since copying the
            // stems of every synonym and concept (hundreds of strings) cost more per search
            // than stemming its few words.
            analyzer: english_analyzer(),
            dir: dir.to_path_buf(),
            damaged: AtomicBool::new(false),
        }
    }

    /// Records damage found while serving (logged once) and answers the error to give.
    pub(crate) fn report_damage(&self, what: String) -> SearchError {
        if !self.damaged.swap(true, Ordering::AcqRel) {
            tracing::warn!(index.dir = %self.dir.display(), problem = %what, "search index damaged; it will be rebuilt");
        }
        SearchError::Damaged(what)
    }

    /// Whether a search met damage since the last rebuild: the indexer should rebuild.
    pub fn damage_reported(&self) -> bool {
        self.damaged.load(Ordering::Acquire)
    }

    /// Withdraws a report of damage that a check of the files did not confirm.
    pub fn clear_damage(&self) {
        self.damaged.store(false, Ordering::Release);
    }

    /// Checks every file of the searchable index against its checksum (reads it all).
    pub fn verify(&self) -> Result<()> {
        check_files(&self.opened().index).map_err(SearchError::Damaged)
    }

    /// Starts a rebuild in a new folder beside the live index. Searches keep using the live
    /// one. The live index's writer should be dropped first.
    pub fn start_rebuild(&self, heap_bytes: usize) -> Result<Rebuild> {
        let dir = sibling(&self.dir, "rebuild");
        let opened = create_empty(&dir)?;
        let writer = opened.writer(self.fields, 1, heap_bytes)?;
        Ok(Rebuild { writer, dir })
    }

    /// Puts a committed rebuild in place of the live index (folder and searches), and clears
    /// the damage flag. Take a new [`Self::writer`] afterwards.
    pub fn finish_rebuild(&self, rebuild: Rebuild) -> Result<()> {
        let Rebuild { writer, dir: built } = rebuild;
        writer.finish()?;
        // The new index must open before it replaces the old one: a rebuild that failed half
        // way leaves the index that was there, not a broken one.
        drop(open_existing(&built)?);
        let old = sibling(&self.dir, "old");
        let _ = fs::remove_dir_all(&old);
        // The old files stay readable by searches in flight (open files and maps survive).
        let had_old = fs::symlink_metadata(&self.dir).is_ok();
        if had_old {
            fs::rename(&self.dir, &old)?;
        }
        let swapped = fs::rename(&built, &self.dir).map_err(SearchError::from).and_then(|()| open_existing(&self.dir));
        let (opened, _) = match swapped {
            Ok(opened) => opened,
            Err(e) => {
                // Put the old index back where it was, so the next start still finds it.
                if fs::symlink_metadata(&self.dir).is_ok() {
                    let _ = fs::rename(&self.dir, &built);
                }
                if had_old {
                    let _ = fs::rename(&old, &self.dir);
                }
                return Err(e);
            }
        };
        match self.current.write() {
            Ok(mut current) => *current = Arc::new(opened),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(opened),
        }
        self.damaged.store(false, Ordering::Release);
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }
}

impl Opened {
    /// A writer of this index.
    pub(crate) fn writer(&self, fields: Fields, threads: usize, heap_bytes: usize) -> Result<IndexWriterHandle> {
        let writer: IndexWriter<TantivyDocument> = self.index.writer_with_num_threads(threads.max(1), heap_bytes)?;
        Ok(IndexWriterHandle { writer, fields, reader: self.reader.clone() })
    }
}

/// `index.old` or `index.rebuild` beside `index`.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

fn open_existing(dir: &Path) -> Result<(Opened, String)> {
    let version =
        fs::read_to_string(dir.join(VERSION_FILE)).map_err(|_| SearchError::NeedsRebuild("no index found".into()))?;
    if version.trim() != SCHEMA_VERSION.to_string() {
        return Err(SearchError::NeedsRebuild(format!(
            "index has schema version {}, this build uses {SCHEMA_VERSION}",
            version.trim()
        )));
    }
    let index = Index::open_in_dir(dir).map_err(|e| SearchError::NeedsRebuild(format!("index unreadable: {e}")))?;
    let (expected, _) = schema::build();
    if index.schema() != expected {
        return Err(SearchError::NeedsRebuild("index schema differs".into()));
    }
    let payload = index
        .load_metas()
        .map_err(|e| SearchError::NeedsRebuild(format!("index metadata unreadable: {e}")))?
        .payload
        .ok_or_else(|| SearchError::NeedsRebuild("index was never completed".into()))?;
    check_files(&index).map_err(|e| SearchError::NeedsRebuild(format!("index damaged: {e}")))?;
    // Reading the segments (the reader's warmer decodes every listing's facts) may still panic
    // on damage the checksums cannot see, such as a file written whole but wrong.
    let opened = guarded(|| {
        let opened = reader_for(index)?;
        // Touch every segment once so a corrupt file is found now, not by a user's search.
        let searcher = opened.reader.searcher();
        searcher.search(&AllQuery, &Count)?;
        for segment in searcher.segment_readers() {
            segment.fast_fields().u64("points")?;
        }
        Ok(opened)
    })
    .map_err(|e| SearchError::NeedsRebuild(format!("index corrupt: {e}")))?;
    Ok((opened, payload))
}

/// Every file of every searchable segment is present and matches its checksum.
fn check_files(index: &Index) -> std::result::Result<(), String> {
    let metas = index.searchable_segment_metas().map_err(|e| e.to_string())?;
    let dir = index.directory();
    for meta in &metas {
        for component in SegmentComponent::iterator() {
            let unused = match component {
                SegmentComponent::TempStore => true,
                SegmentComponent::Delete => !meta.has_deletes(),
                _ => false,
            };
            let file = meta.relative_path(*component);
            if !unused && !dir.exists(&file).map_err(|e| e.to_string())? {
                return Err(format!("{} is missing", file.display()));
            }
        }
    }
    let damaged = guarded(|| Ok(index.validate_checksum()?)).map_err(|e| e.to_string())?;
    if damaged.is_empty() {
        Ok(())
    } else {
        let mut names: Vec<String> = damaged.iter().map(|p| p.display().to_string()).collect();
        names.sort();
        Err(format!("checksum mismatch in {}", names.join(", ")))
    }
}

fn create_empty(dir: &Path) -> Result<Opened> {
    if fs::symlink_metadata(dir).is_ok() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    let (schema, _) = schema::build();
    let index = Index::create_in_dir(dir, schema)?;
    fs::write(dir.join(VERSION_FILE), SCHEMA_VERSION.to_string())?;
    reader_for(index)
}

fn reader_for(index: Index) -> Result<Opened> {
    index.tokenizers().register(TEXT_ANALYZER, english_analyzer());
    index.tokenizers().register(PLAIN_ANALYZER, plain_analyzer());
    let facts = Arc::new(FactsCache::default());
    let warmer: Arc<dyn Warmer> = facts.clone();
    let reader =
        index.reader_builder().reload_policy(ReloadPolicy::Manual).warmers(vec![Arc::downgrade(&warmer)]).try_into()?;
    Ok(Opened { index, reader, facts })
}
