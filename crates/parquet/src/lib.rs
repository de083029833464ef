//! Parquet files for riskops: read into the same [`Table`] the CSV reader of `riskops-data`
//! produces, so that `riskops drift` and dataset profiling accept Parquet too.
//!
//! This crate owns the Parquet format and the typing of Arrow columns. It is separate from
//! `riskops-data` because parquet/arrow take minutes to compile and only this reader needs
//! them.
//!
//! Columns are typed as `pandas.read_parquet` (pyarrow engine) types them, for the reason the
//! CSV reader types as `read_csv` does: the drift engine must decide column kinds exactly as
//! Evidently, which reads through pandas, does. Columns whose pandas dtype Evidently leaves
//! out (datetimes, unsigned integers, decimals, bytes, nested values, pandas' nullable
//! dtypes...) are not read but listed in [`ParquetTable::skipped`] with the reason; see
//! `typing.rs` for every rule.
//!
//! The file is streamed record batch by record batch, each appended to plain vectors, so at
//! most one batch of Arrow data is in memory besides the result; strings are interned, with
//! no allocation per value.

mod columns;
mod typing;
mod write;

pub use write::{ColumnValues, write_columns};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Schema};
use columns::{ColumnBuilder, Finished};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;
use riskops_data::{Column, DataError, Table};
use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use typing::{PandasMetadata, Plan};

/// Rows per record batch: big enough that per-batch work is negligible, small enough that a
/// batch of a wide file stays a few megabytes per hundred columns.
const BATCH_ROWS: usize = 8192;

/// A Parquet file read as pandas would, less the columns Evidently would leave out.
#[derive(Debug, Clone, PartialEq)]
pub struct ParquetTable {
    pub table: Table,
    /// Columns not read, in file order: `(column, reason)`, e.g. a timestamp column.
    pub skipped: Vec<(String, String)>,
}

/// Whether `path` starts with the Parquet magic `PAR1` (whatever its extension).
pub fn is_parquet(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && &magic == b"PAR1"
}

/// The column names and row count from the file's footer, without reading any values.
pub fn parquet_shape(path: &Path) -> Result<(Vec<String>, usize), DataError> {
    let malformed = |message: String| DataError::Malformed { path: path.to_path_buf(), message };
    if !is_parquet(path) {
        return Err(malformed("not a Parquet file (it does not start with PAR1)".into()));
    }
    let file = File::open(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| malformed(format!("not a readable Parquet file: {e}")))?;
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows())
        .map_err(|_| malformed("negative row count in the footer".into()))?;
    Ok((builder.schema().fields().iter().map(|f| f.name().clone()).collect(), rows))
}

/// How Arrow columns become [`riskops_data::Values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    /// As `pandas.read_parquet` types them, less the columns Evidently leaves out: for drift
    /// and profiles, which must agree with Evidently.
    Pandas,
    /// As the file stores them, for records to send rather than columns to compare (a
    /// prediction log's `id` may well be uint64, its `timestamp` an Arrow timestamp):
    /// unsigned integers → `Int` (a uint64 column with a value above `i64::MAX` is left out),
    /// timestamps → `Int` unix seconds rounded down, pandas' nullable dtypes (`Int64`,
    /// `boolean`…) by their Arrow type. Otherwise as `Pandas`: a null makes an integer column
    /// float64 and a bool column "True"/"False" text, the pandas index and the types without
    /// a scalar value (dates, decimals, binary, nested) are left out with the reason.
    Stored,
}

/// Reads `path`, keeping only `columns` (in file order) when given, typed as pandas would.
///
/// `progress` is called after each batch with a byte count on the scale of the file's size,
/// so a progress bar sized by `std::fs::metadata(path).len()` ends full: the share of the
/// compressed data of the read columns decoded so far, times the file size.
pub fn read_parquet(
    path: &Path,
    columns: Option<&[String]>,
    progress: &dyn Fn(u64),
) -> Result<ParquetTable, DataError> {
    read_parquet_with(path, columns, Typing::Pandas, progress)
}

/// [`read_parquet`] with the [`Typing`] chosen.
pub fn read_parquet_with(
    path: &Path,
    columns: Option<&[String]>,
    typing: Typing,
    progress: &dyn Fn(u64),
) -> Result<ParquetTable, DataError> {
    let malformed = |message: String| DataError::Malformed { path: path.to_path_buf(), message };
    let file = File::open(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let file_len = file.metadata().map_err(|source| DataError::Io { path: path.to_path_buf(), source })?.len();
    // No bytes, no rows: the CSV reader says the same of an empty file.
    if file_len == 0 {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    // Checked before the parquet crate sees the file, whose errors for a file that is not
    // Parquet at all ("invalid Parquet file. Corrupt footer") do not say so plainly.
    if !is_parquet(path) {
        return Err(malformed("not a Parquet file (it does not start with PAR1)".into()));
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| malformed(format!("not a readable Parquet file: {e}")))?;
    let metadata = builder.metadata().clone();
    let rows = usize::try_from(metadata.file_metadata().num_rows())
        .map_err(|_| malformed("negative row count in the footer".into()))?;
    if rows == 0 {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }

    let schema = builder.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut seen = HashSet::new();
    if let Some(name) = names.iter().find(|n| !seen.insert(**n)) {
        return Err(DataError::DuplicateColumn { path: path.to_path_buf(), name: (*name).to_string() });
    }
    let selected = select(path, &names, columns)?;
    let pandas = metadata
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == "pandas"))
        .and_then(|e| e.value.as_deref())
        .map(PandasMetadata::parse)
        .unwrap_or_default();

    let fields: Vec<(&str, &DataType)> = schema.fields().iter().map(|f| (f.name().as_str(), f.data_type())).collect();
    let mut builder_of_table = TableBuilder::new(&fields, &selected, &pandas, typing, rows);
    let read = builder_of_table.read_indices();

    let mut read_rows = rows;
    if !read.is_empty() {
        let weights = RowGroupWeights::new(&metadata, &read);
        let mask = ProjectionMask::roots(builder.parquet_schema(), read.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| malformed(format!("cannot read: {e}")))?;
        read_rows = 0;
        for batch in reader {
            let batch = batch.map_err(|e| malformed(format!("cannot decode row {read_rows} onwards: {e}")))?;
            // The projection keeps file order, as the builder does.
            builder_of_table.push(batch.columns().iter()).map_err(malformed)?;
            read_rows += batch.num_rows();
            progress(weights.bytes_at(read_rows, file_len));
        }
    }
    if read_rows != rows {
        return Err(malformed(format!("the footer says {rows} rows, but {read_rows} were read")));
    }
    progress(file_len);
    Ok(builder_of_table.finish(rows))
}

/// Arrow record batches from outside a file (a pyarrow Table, a polars DataFrame, handed over
/// through the Arrow C stream interface), typed as a Parquet file of the same schema and
/// `pandas` metadata would be, so a DataFrame compares as the file it was written to would.
/// The error says what is wrong with the data (an empty table, a duplicate column name...).
pub fn read_batches(
    schema: &Schema,
    batches: impl Iterator<Item = Result<RecordBatch, ArrowError>>,
    typing: Typing,
) -> Result<ParquetTable, String> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut seen = HashSet::new();
    if let Some(name) = names.iter().find(|n| !seen.insert(**n)) {
        return Err(format!("column {name:?} appears more than once"));
    }
    let pandas = schema.metadata().get("pandas").map(|json| PandasMetadata::parse(json)).unwrap_or_default();
    let fields: Vec<(&str, &DataType)> = schema.fields().iter().map(|f| (f.name().as_str(), f.data_type())).collect();
    let selected: Vec<usize> = (0..fields.len()).collect();
    let mut builder = TableBuilder::new(&fields, &selected, &pandas, typing, 0);
    let read = builder.read_indices();
    let mut rows = 0;
    for batch in batches {
        let batch = batch.map_err(|e| format!("cannot read row {rows} onwards: {e}"))?;
        if batch.num_columns() != fields.len() {
            return Err(format!("a record batch has {} columns, the schema {}", batch.num_columns(), fields.len()));
        }
        builder.push(read.iter().map(|&i| batch.column(i)))?;
        rows += batch.num_rows();
    }
    if rows == 0 {
        return Err("the table has no rows".into());
    }
    Ok(builder.finish(rows))
}

/// The columns of a table being read: for each selected column in schema order, its builder
/// or the reason it is left out. Batches bring the read columns only, in the same order.
struct TableBuilder {
    planned: Vec<(String, usize, Result<ColumnBuilder, String>)>,
}

impl TableBuilder {
    fn new(
        fields: &[(&str, &DataType)],
        selected: &[usize],
        pandas: &PandasMetadata,
        typing: Typing,
        capacity: usize,
    ) -> TableBuilder {
        let planned = selected
            .iter()
            .map(|&index| {
                let (name, data_type) = fields[index];
                let entry = match typing::plan(name, data_type, pandas, typing) {
                    Plan::Read(source) => Ok(ColumnBuilder::new(source, capacity)),
                    Plan::Skip(reason) => Err(reason),
                };
                (name.to_string(), index, entry)
            })
            .collect();
        TableBuilder { planned }
    }

    /// Schema indices of the columns that are read.
    fn read_indices(&self) -> Vec<usize> {
        self.planned.iter().filter(|p| p.2.is_ok()).map(|p| p.1).collect()
    }

    /// Appends one batch: `arrays` are the read columns, in order.
    fn push<'a>(&mut self, mut arrays: impl Iterator<Item = &'a ArrayRef>) -> Result<(), String> {
        for (name, _, entry) in self.planned.iter_mut() {
            let Ok(builder) = entry else { continue };
            let array = arrays.next().ok_or("a record batch lacks columns")?;
            builder.push(array).map_err(|m| format!("column {name:?}: {m}"))?;
        }
        Ok(())
    }

    fn finish(self, rows: usize) -> ParquetTable {
        let mut table = Table { columns: Vec::with_capacity(self.planned.len()), rows };
        let mut skipped = Vec::new();
        for (name, _, entry) in self.planned {
            match entry.map(ColumnBuilder::finish) {
                Ok(Finished::Values(values)) => table.columns.push(Column { name, values }),
                Ok(Finished::Skipped(reason)) | Err(reason) => skipped.push((name, reason)),
            }
        }
        ParquetTable { table, skipped }
    }
}

/// Indices of the columns to read, in file order, or an error naming an unknown one.
fn select(path: &Path, names: &[&str], keep: Option<&[String]>) -> Result<Vec<usize>, DataError> {
    let Some(keep) = keep else { return Ok((0..names.len()).collect()) };
    let mut indices = Vec::with_capacity(keep.len());
    for wanted in keep {
        let index = names.iter().position(|n| n == wanted).ok_or_else(|| DataError::UnknownColumn {
            path: path.to_path_buf(),
            name: wanted.clone(),
            available: names.join(", "),
        })?;
        indices.push(index);
    }
    indices.sort_unstable();
    indices.dedup();
    Ok(indices)
}

/// Progress in bytes: row groups are weighted by the compressed size of the columns read,
/// which is what decoding time follows, and rows within a group count evenly.
struct RowGroupWeights {
    /// `(rows, compressed bytes)` of each row group.
    groups: Vec<(usize, u64)>,
    total: u64,
}

impl RowGroupWeights {
    fn new(metadata: &ParquetMetaData, roots: &[usize]) -> RowGroupWeights {
        let schema = metadata.file_metadata().schema_descr();
        let leaves: Vec<usize> =
            (0..schema.num_columns()).filter(|&leaf| roots.contains(&schema.get_column_root_idx(leaf))).collect();
        let groups: Vec<(usize, u64)> = metadata
            .row_groups()
            .iter()
            .map(|rg| {
                let bytes = leaves
                    .iter()
                    .filter_map(|&leaf| rg.columns().get(leaf))
                    .map(|c| u64::try_from(c.compressed_size()).unwrap_or(0))
                    .sum();
                (usize::try_from(rg.num_rows()).unwrap_or(0), bytes)
            })
            .collect();
        let total = groups.iter().map(|g| g.1).sum();
        RowGroupWeights { groups, total }
    }

    /// The byte-equivalent of having read `rows` rows, scaled to `file_len`.
    fn bytes_at(&self, rows: usize, file_len: u64) -> u64 {
        let mut done = 0.0;
        let mut left = rows;
        for &(group_rows, bytes) in &self.groups {
            if left >= group_rows {
                done += bytes as f64;
                left -= group_rows;
            } else {
                done += bytes as f64 * left as f64 / group_rows.max(1) as f64;
                break;
            }
        }
        if self.total == 0 {
            return file_len;
        }
        ((done / self.total as f64) * file_len as f64).min(file_len as f64) as u64
    }
}
