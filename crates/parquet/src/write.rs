//! Writing small columnar tables (monitoring's raw-record segments) as Parquet with zstd,
//! so what riskops keeps can be read back by any Parquet reader (pandas, DuckDB, Spark).

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

/// One column's values; `None` is a null. Text may be borrowed from the caller's records,
/// so writing a segment copies each string once, into the Parquet page.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues<'a> {
    Int64(Vec<Option<i64>>),
    Float64(Vec<Option<f64>>),
    Utf8(Vec<Option<Cow<'a, str>>>),
    Bool(Vec<Option<bool>>),
}

impl ColumnValues<'_> {
    fn len(&self) -> usize {
        match self {
            ColumnValues::Int64(v) => v.len(),
            ColumnValues::Float64(v) => v.len(),
            ColumnValues::Utf8(v) => v.len(),
            ColumnValues::Bool(v) => v.len(),
        }
    }

    fn into_array(self) -> (DataType, ArrayRef) {
        match self {
            ColumnValues::Int64(v) => (DataType::Int64, Arc::new(Int64Array::from(v))),
            ColumnValues::Float64(v) => (DataType::Float64, Arc::new(Float64Array::from(v))),
            ColumnValues::Utf8(v) => (DataType::Utf8, Arc::new(StringArray::from_iter(v))),
            ColumnValues::Bool(v) => (DataType::Boolean, Arc::new(BooleanArray::from(v))),
        }
    }
}

/// Writes `columns` (all of one length) as one Parquet file with zstd (level 1: most of
/// the size gain for little CPU, as this runs inside an ingestion request), with
/// `metadata` as key-value pairs in the footer.
pub fn write_columns(
    out: impl Write + Send,
    columns: Vec<(String, ColumnValues<'_>)>,
    metadata: &[(&str, String)],
) -> Result<(), String> {
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    if let Some((name, _)) = columns.iter().find(|(_, c)| c.len() != rows) {
        return Err(format!("column {name} has a different length"));
    }
    let mut fields = Vec::with_capacity(columns.len());
    let mut arrays = Vec::with_capacity(columns.len());
    for (name, values) in columns {
        let (data_type, array) = values.into_array();
        fields.push(Field::new(name, data_type, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())?;
    let level = ZstdLevel::try_new(1).map_err(|e| e.to_string())?;
    let kv =
        metadata.iter().map(|(k, v)| parquet::file::metadata::KeyValue::new((*k).to_string(), v.clone())).collect();
    let props =
        WriterProperties::builder().set_compression(Compression::ZSTD(level)).set_key_value_metadata(Some(kv)).build();
    let mut writer = ArrowWriter::try_new(out, schema, Some(props)).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_table_reads_back_with_its_types_and_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segment.parquet");
        let columns = vec![
            ("id".to_string(), ColumnValues::Utf8(vec![Some("a".into()), Some("b".into()), Some("c".into())])),
            ("timestamp".to_string(), ColumnValues::Int64(vec![Some(1), Some(2), Some(3)])),
            ("income".to_string(), ColumnValues::Float64(vec![Some(1.5), None, Some(-2.0)])),
            ("member".to_string(), ColumnValues::Bool(vec![Some(true), Some(false), Some(true)])),
        ];
        write_columns(std::fs::File::create(&path).unwrap(), columns, &[("riskops.model", "churn".into())]).unwrap();
        assert!(crate::is_parquet(&path));
        let read = crate::read_parquet(&path, None, &|_| {}).unwrap();
        let names: Vec<&str> = read.table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "timestamp", "income", "member"]);
        assert_eq!(read.table.rows, 3);
        let bad =
            vec![("a".to_string(), ColumnValues::Int64(vec![Some(1)])), ("b".to_string(), ColumnValues::Int64(vec![]))];
        assert!(write_columns(Vec::new(), bad, &[]).is_err());
    }
}
