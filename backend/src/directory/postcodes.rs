//! Postcode coordinates: loading Ordnance Survey Code-Point Open files (British National Grid,
//! converted to WGS84 with OSTN15 by `lonlat_bng`) and the seed region's converted file.
//!
//! Contains OS data © Crown copyright and database right (Open Government Licence v3.0).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::upsert::excluded;
use flate2::read::GzDecoder;

use crate::db::schema::postcodes;
use crate::db::{self, DbConnection};
use crate::domain::Postcode;

/// Rows written per statement: 4 parameters a row stays far below both engines' limits.
const BATCH: usize = 2_000;

/// One postcode with its coordinates.
#[derive(Debug, Clone, Insertable, PartialEq)]
#[diesel(table_name = postcodes)]
pub struct PostcodeRow {
    /// Canonical postcode, `GL5 1HE`.
    pub postcode: String,
    /// Outward code, `GL5`.
    pub outward: String,
    /// WGS84 latitude.
    pub latitude: f64,
    /// WGS84 longitude.
    pub longitude: f64,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Files read.
    pub files: usize,
    /// Rows stored.
    pub loaded: u64,
    /// Rows skipped: no coordinates (positional quality 90), malformed, or out of range.
    pub skipped: u64,
}

/// Why an import failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The path could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// No CSV files at the path.
    #[error("{0}: no .csv or .csv.gz files found")]
    NoFiles(PathBuf),
    /// The database refused the rows.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
}

/// Converts British National Grid metres to WGS84 (lat, lon), or `None` when outside the grid.
pub fn bng_to_wgs84(easting: f64, northing: f64) -> Option<(f64, f64)> {
    let (lon, lat) = lonlat_bng::convert_osgb36_to_ll(easting, northing).ok()?;
    (lat.is_finite() && lon.is_finite()).then_some((lat, lon))
}

/// Parses one Code-Point Open row: `postcode,positional_quality,easting,northing` (further
/// columns of the full product are ignored). `None` means skip it.
pub fn parse_codepoint_row(line: &str) -> Option<PostcodeRow> {
    let mut cols = line.split(',').map(|c| c.trim().trim_matches('"'));
    let postcode = Postcode::parse(cols.next()?).ok()?;
    let quality: u32 = cols.next()?.parse().ok()?;
    let easting: f64 = cols.next()?.parse().ok()?;
    let northing: f64 = cols.next()?.parse().ok()?;
    if quality >= 90 || (easting == 0.0 && northing == 0.0) {
        return None;
    }
    let (latitude, longitude) = bng_to_wgs84(easting, northing)?;
    Some(PostcodeRow { outward: postcode.outward().to_string(), postcode: postcode.to_string(), latitude, longitude })
}

/// Parses one converted row: `postcode,lat,lon`.
pub fn parse_converted_row(line: &str) -> Option<PostcodeRow> {
    let mut cols = line.split(',');
    let postcode = Postcode::parse(cols.next()?).ok()?;
    let latitude: f64 = cols.next()?.trim().parse().ok()?;
    let longitude: f64 = cols.next()?.trim().parse().ok()?;
    crate::domain::GeoPoint::new(latitude, longitude).ok()?;
    Some(PostcodeRow { outward: postcode.outward().to_string(), postcode: postcode.to_string(), latitude, longitude })
}

/// The CSV files at `path`: the file itself, or every `.csv` / `.csv.gz` in the folder.
pub fn csv_files(path: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let io = |source| ImportError::Io { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
            name.ends_with(".csv") || name.ends_with(".csv.gz")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ImportError::NoFiles(path.to_path_buf()));
    }
    Ok(files)
}

fn open_lines(path: &Path) -> Result<Box<dyn BufRead>, ImportError> {
    let file = File::open(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz")) {
        Box::new(GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, reader)))
}

/// Stores rows, replacing any with the same postcode.
pub fn upsert(conn: &mut DbConnection, rows: &[PostcodeRow]) -> QueryResult<usize> {
    let mut written = 0;
    for chunk in rows.chunks(BATCH) {
        written += match conn {
            DbConnection::Sqlite(c) => diesel::replace_into(postcodes::table).values(chunk).execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(postcodes::table)
                .values(chunk)
                .on_conflict(postcodes::postcode)
                .do_update()
                .set((
                    postcodes::outward.eq(excluded(postcodes::outward)),
                    postcodes::latitude.eq(excluded(postcodes::latitude)),
                    postcodes::longitude.eq(excluded(postcodes::longitude)),
                ))
                .execute(c)?,
        };
    }
    Ok(written)
}

/// Imports Code-Point Open CSV (plain or gzipped) from a file or folder, in one transaction per
/// file, printing progress to `progress`.
pub fn import_codepoint(
    conn: &mut DbConnection,
    path: &Path,
    progress: &mut dyn Write,
) -> Result<ImportSummary, ImportError> {
    let files = csv_files(path)?;
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut summary = ImportSummary { files: files.len(), ..Default::default() };
    for (n, file) in files.iter().enumerate() {
        let lines = open_lines(file)?;
        let mut batch = Vec::with_capacity(BATCH);
        db::write(conn, |conn| -> Result<(), ImportError> {
            for line in lines.lines() {
                let line = line.map_err(|source| ImportError::Io { path: file.clone(), source })?;
                match parse_codepoint_row(&line) {
                    Some(row) => batch.push(row),
                    None => summary.skipped += 1,
                }
                if batch.len() == BATCH {
                    summary.loaded += upsert(conn, &batch)? as u64;
                    batch.clear();
                }
            }
            summary.loaded += upsert(conn, &batch)? as u64;
            Ok(())
        })?;
        if last_report.elapsed() > Duration::from_millis(500) || n + 1 == files.len() {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            // Progress is for the person at the terminal; a closed pipe must not stop the import.
            let _ = writeln!(
                progress,
                "  [{}/{}] {} — {} loaded, {} skipped ({:.0} rows/s)",
                n + 1,
                files.len(),
                file.file_name().and_then(|f| f.to_str()).unwrap_or("?"),
                summary.loaded,
                summary.skipped,
                summary.loaded as f64 / secs
            );
            last_report = Instant::now();
        }
    }
    Ok(summary)
}

/// Converts Code-Point Open files to the seed format (`postcode,lat,lon`), for building
/// `seed-data/postcodes.csv.gz` from the areas of a region.
pub fn write_converted(path: &Path, out: &mut dyn Write) -> Result<ImportSummary, ImportError> {
    let files = csv_files(path)?;
    let mut summary = ImportSummary { files: files.len(), ..Default::default() };
    let io = |source| ImportError::Io { path: path.to_path_buf(), source };
    for file in &files {
        for line in open_lines(file)?.lines() {
            let line = line.map_err(io)?;
            match parse_codepoint_row(&line) {
                Some(row) => {
                    writeln!(out, "{},{:.6},{:.6}", row.postcode, row.latitude, row.longitude).map_err(io)?;
                    summary.loaded += 1;
                }
                None => summary.skipped += 1,
            }
        }
    }
    Ok(summary)
}

/// Loads converted rows (`postcode,lat,lon`) from text, e.g. the embedded seed region file.
pub fn load_converted(conn: &mut DbConnection, text: &str) -> QueryResult<ImportSummary> {
    let mut summary = ImportSummary { files: 1, ..Default::default() };
    let mut rows = Vec::with_capacity(BATCH);
    for line in text.lines() {
        match parse_converted_row(line) {
            Some(row) => rows.push(row),
            None => summary.skipped += 1,
        }
        if rows.len() == BATCH {
            summary.loaded += upsert(conn, &rows)? as u64;
            rows.clear();
        }
    }
    summary.loaded += upsert(conn, &rows)? as u64;
    Ok(summary)
}

/// Number of postcodes stored.
pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    postcodes::table.count().get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_stroud_from_the_national_grid() {
        // GL5 1HE = 385817,205005, about 51.7436 N 2.2068 W (Code-Point Open README).
        let row = parse_codepoint_row("GL5 1HE,10,385817,205005").unwrap();
        assert_eq!(row.postcode, "GL5 1HE");
        assert_eq!(row.outward, "GL5");
        assert!((row.latitude - 51.7436).abs() < 0.001, "{}", row.latitude);
        assert!((row.longitude + 2.2068).abs() < 0.001, "{}", row.longitude);
    }

    #[test]
    fn skips_rows_without_coordinates_or_malformed() {
        assert!(parse_codepoint_row("GL5 1ZZ,90,0,0").is_none());
        assert!(parse_codepoint_row("postcode,quality,easting,northing").is_none());
        assert!(parse_codepoint_row("NOT A POSTCODE,10,385817,205005").is_none());
        assert!(parse_codepoint_row("GL5 1HE,10,abc,205005").is_none());
        assert!(parse_codepoint_row("").is_none());
        assert!(parse_converted_row("GL5 1HE,95.0,-2.2").is_none());
        assert!(parse_converted_row("GL5 1HE,51.7436,-2.2068").is_some());
    }
}
