//! The reader against what pandas makes of the same files. The fixtures and their JSON
//! descriptions (dtype, Evidently type and values per column, as `pandas.read_parquet` gives
//! them) are written by `tests/data/make_fixtures.py`; no Python runs here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_data::{CsvOptions, DataError, MISSING_CODE, Table, Values, read_csv};
use riskops_parquet::{ParquetTable, Typing, is_parquet, read_parquet, read_parquet_with};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn read(name: &str) -> ParquetTable {
    match read_parquet(&data(name), None, &|_| {}) {
        Ok(t) => t,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn description(parquet: &str) -> Value {
    let path = data(parquet).with_extension("json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// What the reader must give for a column that pandas reads as `dtype`.
#[derive(Debug, PartialEq)]
enum Expected {
    Int,
    Float,
    Bool,
    /// `object` of `str`, pandas `string`, or `category`.
    Str,
    /// `object` of Python bools with gaps: "True"/"False" strings.
    BoolText,
    Skipped,
}

fn expected_kind(column: &Value) -> Expected {
    let dtype = str_of(column, "pandas_dtype");
    let evidently = str_of(column, "evidently_type");
    let python = column["python_kind"].as_str().unwrap_or("");
    // Evidently leaves out its Unknown and Datetime columns; an object column of bools is
    // Unknown too, but the reader keeps it as text for the drift engine to recognise.
    if dtype == "object" && python == "bool" {
        return Expected::BoolText;
    }
    if evidently == "unknown" || evidently == "datetime" {
        return Expected::Skipped;
    }
    match dtype {
        d if d.starts_with("int") => Expected::Int,
        d if d.starts_with("float") => Expected::Float,
        "bool" => Expected::Bool,
        "object" | "string" | "category" => Expected::Str,
        other => panic!("no rule for pandas dtype {other}"),
    }
}

fn json_f64(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) if s == "nan" => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        other => panic!("not a float: {other}"),
    }
}

fn same_f64(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// The text pandas shows for a JSON cell of a text column (bools as Python prints them).
fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Value::String(s) => Some(s.clone()),
        other => panic!("not text: {other}"),
    }
}

fn text_at(values: &Values, row: usize) -> Option<&str> {
    match values {
        Values::Str(s) => s.get(row),
        other => panic!("expected text, got {}", other.dtype()),
    }
}

/// Checks one read column against pandas' first values in `expected`.
fn check_values(name: &str, values: &Values, expected: &[Value]) {
    for (row, want) in expected.iter().enumerate() {
        let ok = match values {
            Values::Int(v) => want.as_i64() == Some(v[row]),
            Values::Float(v) => same_f64(v[row], json_f64(want)),
            Values::Bool(v) => want.as_bool() == Some(v[row]),
            Values::Str(_) => text_at(values, row).map(str::to_string) == json_text(want),
        };
        assert!(ok, "{name} row {row}: pandas has {want}, we have {:?}", describe_cell(values, row));
    }
}

fn describe_cell(values: &Values, row: usize) -> String {
    match values {
        Values::Int(v) => v[row].to_string(),
        Values::Float(v) => v[row].to_string(),
        Values::Bool(v) => v[row].to_string(),
        Values::Str(s) => format!("{:?}", s.get(row)),
    }
}

/// Checks a whole file against its JSON: which columns are read or skipped, in what order,
/// as what type, and with which values (or, for big files, summaries).
fn check_against_pandas(name: &str) -> ParquetTable {
    let read = read(name);
    let json = description(name);
    let table = &read.table;
    assert_eq!(table.rows as u64, json["rows"].as_u64().unwrap_or(0), "{name}: rows");
    let index: Vec<&str> = json["index_columns"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
    for column in index.iter() {
        assert!(read.skipped.iter().any(|(n, r)| n == column && r.contains("index")), "{name}: index {column}");
    }
    let columns = json["columns"].as_array().cloned().unwrap_or_default();
    let mut read_names = Vec::new();
    let mut skipped_names = Vec::new();
    for column in &columns {
        let col_name = str_of(column, "name");
        let expected = expected_kind(column);
        if expected == Expected::Skipped {
            skipped_names.push(col_name);
            assert!(table.column(col_name).is_none(), "{name}: {col_name} should be left out");
            let reason = read.skipped.iter().find(|(n, _)| n == col_name).map(|(_, r)| r.as_str());
            assert!(
                reason.is_some_and(|r| r.contains("Evidently") || r.contains("not supported")),
                "{name}: {col_name} should be reported as skipped with a reason, got {reason:?}"
            );
            continue;
        }
        read_names.push(col_name);
        let Some(ours) = table.column(col_name) else { panic!("{name}: {col_name} not read: {:?}", read.skipped) };
        let kind_ok = match (&expected, &ours.values) {
            (Expected::Int, Values::Int(_))
            | (Expected::Float, Values::Float(_))
            | (Expected::Bool, Values::Bool(_)) => true,
            (Expected::Str, Values::Str(_)) => true,
            (Expected::BoolText, Values::Str(s)) => s.dictionary.iter().all(|v| v == "True" || v == "False"),
            _ => false,
        };
        assert!(kind_ok, "{name}: {col_name} is pandas {} but we read {}", column["pandas_dtype"], ours.values.dtype());
        assert_eq!(ours.values.len(), table.rows, "{name}: {col_name} length");
        let expected_values = column["values"].as_array().cloned().unwrap_or_default();
        check_values(&format!("{name}: {col_name}"), &ours.values, &expected_values);
        if let Some(summary) = column.get("summary") {
            check_summary(&format!("{name}: {col_name}"), &ours.values, summary);
        } else {
            assert_eq!(expected_values.len(), table.rows, "{name}: {col_name} has every value in the JSON");
        }
    }
    // File order is kept, and nothing is both read and skipped or neither.
    assert_eq!(table.names().collect::<Vec<_>>(), read_names, "{name}: columns read");
    let ours_skipped: Vec<&str> = read.skipped.iter().map(|(n, _)| n.as_str()).filter(|n| !index.contains(n)).collect();
    assert_eq!(ours_skipped, skipped_names, "{name}: columns skipped");
    read
}

fn check_summary(name: &str, values: &Values, summary: &Value) {
    let count = summary["count"].as_u64().unwrap_or(u64::MAX) as usize;
    assert_eq!(values.len() - values.missing(), count, "{name}: non-missing count");
    if let Some(sum) = summary.get("sum").and_then(Value::as_f64) {
        let ours: f64 = match values {
            Values::Int(v) => v.iter().map(|&i| i as f64).sum(),
            Values::Float(v) => v.iter().filter(|x| !x.is_nan()).sum(),
            other => panic!("{name}: a sum for {}", other.dtype()),
        };
        assert!((ours - sum).abs() <= 1e-9 * sum.abs().max(1.0), "{name}: sum {ours} vs pandas {sum}");
    }
    if let Some(counts) = summary.get("value_counts").and_then(Value::as_object) {
        let mut ours: BTreeMap<String, u64> = BTreeMap::new();
        for row in 0..values.len() {
            let key = match values {
                Values::Bool(v) => Some(if v[row] { "True".to_string() } else { "False".to_string() }),
                Values::Str(s) => s.get(row).map(str::to_string),
                other => panic!("{name}: value counts for {}", other.dtype()),
            };
            if let Some(key) = key {
                *ours.entry(key).or_default() += 1;
            }
        }
        let theirs: BTreeMap<String, u64> = counts.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect();
        assert_eq!(ours, theirs, "{name}: value counts");
    }
}

#[test]
fn every_type_is_read_or_skipped_as_pandas_and_evidently_would() {
    // ints with and without nulls, unsigned ints, float16/32/64 with NaN, null and ±inf, bools
    // with and without nulls, plain, large and dictionary-encoded strings, timestamps, dates,
    // decimals, binary, list, struct and null columns; three row groups, snappy.
    let read = check_against_pandas("types.parquet");
    let t = &read.table;
    let reason = |c: &str| read.skipped.iter().find(|(n, _)| n == c).map(|(_, r)| r.clone()).unwrap_or_default();
    assert!(reason("ts").starts_with("timestamp column: not compared"), "{}", reason("ts"));
    assert!(reason("ts_tz").contains("datetime"));
    assert!(reason("u64").contains("uint64"), "{}", reason("u64"));
    assert!(reason("dec").contains("decimal"));
    // Missing values as the drift engine expects them.
    assert_eq!(t.column("i32_null").map(|c| c.values.missing()), Some(3));
    assert_eq!(t.column("i64_all_null").map(|c| c.values.missing()), Some(20));
    let Some(Values::Float(f64s)) = t.column("f64").map(|c| &c.values) else { panic!("f64 not float") };
    assert!(f64s[1].is_nan() && f64s[3].is_nan(), "NaN and null both missing");
    assert_eq!((f64s[5], f64s[6]), (f64::INFINITY, f64::NEG_INFINITY));
    // Dictionary-encoded and plain strings give the same codes: first appearance order.
    assert_eq!(t.column("s_dict").map(|c| &c.values), t.column("s").map(|c| &c.values));
    assert_eq!(t.column("s_large").map(|c| &c.values), t.column("s").map(|c| &c.values));
    let Some(Values::Str(s)) = t.column("s").map(|c| &c.values) else { panic!("s not text") };
    assert_eq!(s.dictionary, ["red", "green", "blue", "black", "ünïcode", ""]);
    assert_eq!(s.codes[4], MISSING_CODE);
    let Some(Values::Str(b)) = t.column("b_null").map(|c| &c.values) else { panic!("b_null not text") };
    assert_eq!(b.dictionary, ["True", "False"]);
}

#[test]
fn stored_typing_reads_unsigned_integers_timestamps_and_nullable_dtypes() {
    let read = read_parquet_with(&data("types.parquet"), None, Typing::Stored, &|_| {}).unwrap();
    let pandas = read_parquet(&data("types.parquet"), None, &|_| {}).unwrap();
    let column = |name: &str| read.table.column(name).map(|c| c.values.clone());
    for name in ["u8", "u16", "u32"] {
        assert_eq!(column(name), Some(Values::Int((0..20).collect())), "{name}");
    }
    // 2024-01-01T00:00:00Z, one row per hour; microseconds without a zone and milliseconds in UTC alike.
    let hours = Some(Values::Int((0..20).map(|h| 1_704_067_200 + 3600 * h).collect()));
    assert_eq!((column("ts"), column("ts_tz")), (hours.clone(), hours));
    // The fixture's uint64 values are all above i64::MAX: left out, not rounded.
    let reason = read.skipped.iter().find(|(n, _)| n == "u64").map(|(_, r)| r.as_str()).unwrap_or_default();
    assert!(reason.contains("18446744073709551615") && reason.contains("int64"), "{reason}");
    // Everything pandas typing reads is read the same.
    for c in &pandas.table.columns {
        assert!(column(&c.name).is_some_and(|v| same_values(&v, &c.values)), "{}", c.name);
    }
    let skipped: Vec<&str> = read.skipped.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(skipped, ["u64", "date", "dec", "bin", "list", "struct", "nulls"]);

    // pandas' nullable dtypes by their Arrow type; the index is still not a column.
    let read = read_parquet_with(&data("pandas.parquet"), None, Typing::Stored, &|_| {}).unwrap();
    let column = |name: &str| read.table.column(name).map(|c| c.values.clone());
    assert_eq!(column("Int64_full"), Some(Values::Int(vec![1, 2, 3, 4, 5, 6])));
    assert_eq!(column("uint8"), Some(Values::Int(vec![1, 2, 3, 4, 5, 6])));
    let Some(Values::Float(with_null)) = column("Int64") else { panic!("Int64 with a null is float64") };
    assert!(with_null[1].is_nan() && with_null[2] == 3.0);
    assert!(matches!(column("boolean"), Some(Values::Str(_))) && matches!(column("Float64"), Some(Values::Float(_))));
    assert_eq!(read.skipped.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["key"]);
}

#[test]
fn pandas_metadata_restores_nullable_dtypes_and_the_index() {
    // Written by DataFrame.to_parquet: Int64/boolean/Float64 come back as pandas nullable
    // dtypes (Evidently leaves them out), "key" becomes the index, uint8 stays uint8.
    let read = check_against_pandas("pandas.parquet");
    let skipped: Vec<&str> = read.skipped.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(skipped, ["Int64", "Int64_full", "boolean", "Float64", "uint8", "key"]);
    assert_eq!(read.table.names().collect::<Vec<_>>(), ["int", "string", "category", "object", "float", "bool"]);
}

#[test]
fn many_rows_over_row_groups_and_batches_zstd() {
    // 20 000 rows in 4 row groups (zstd), read in several batches; the dictionary column's
    // dictionary differs between row groups.
    let file = std::fs::File::open(data("numbers_zstd.parquet")).unwrap();
    let meta = parquet::file::reader::FileReader::metadata(
        &parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap(),
    )
    .clone();
    assert!(meta.num_row_groups() >= 3);
    assert!(matches!(meta.row_group(0).column(0).compression(), parquet::basic::Compression::ZSTD(_)));
    // "cat" reaches the reader as an Arrow dictionary (pyarrow's schema hint), so the
    // dictionary path, not the plain string one, is what this checks.
    let file = std::fs::File::open(data("numbers_zstd.parquet")).unwrap();
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let cat = builder.schema().field_with_name("cat").map(|f| f.data_type().clone()).ok();
    assert!(matches!(cat, Some(arrow_schema::DataType::Dictionary(_, _))), "{cat:?}");
    check_against_pandas("numbers_zstd.parquet");
}

#[test]
fn progress_grows_to_the_file_size() {
    let path = data("numbers_zstd.parquet");
    let calls = RefCell::new(Vec::new());
    read_parquet(&path, None, &|bytes| calls.borrow_mut().push(bytes)).unwrap();
    let calls = calls.into_inner();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(calls.len() >= 3, "one call per batch: {calls:?}");
    assert!(calls.windows(2).all(|w| w[0] <= w[1]), "{calls:?}");
    assert_eq!(calls.last(), Some(&size));
    assert!(calls[0] > 0 && calls[0] < size, "{calls:?}");
}

#[test]
fn every_codec_gives_the_same_table() {
    let tables: Vec<ParquetTable> = ["snappy", "gzip", "lz4", "none"]
        .iter()
        .map(|c| check_against_pandas(&format!("numbers_{c}.parquet")))
        .collect();
    for t in &tables[1..] {
        assert_eq!(t.table.names().collect::<Vec<_>>(), tables[0].table.names().collect::<Vec<_>>());
        for (a, b) in t.table.columns.iter().zip(&tables[0].table.columns) {
            assert!(same_values(&a.values, &b.values), "{}", a.name);
        }
    }
    // The first 40 rows of the zstd file are the same data.
    let big = read("numbers_zstd.parquet").table;
    let small = &tables[0].table;
    for column in &small.columns {
        let Some(other) = big.column(&column.name) else { panic!("{} missing", column.name) };
        for row in 0..small.rows {
            assert_eq!(describe_cell(&column.values, row), describe_cell(&other.values, row), "{}", column.name);
        }
    }
}

#[test]
fn a_column_subset_is_read_in_file_order() {
    let wanted = ["s".to_string(), "i8".into(), "ts".into(), "s".into()];
    let read = read_parquet(&data("types.parquet"), Some(&wanted), &|_| {}).unwrap();
    assert_eq!(read.table.names().collect::<Vec<_>>(), ["i8", "s"]);
    assert_eq!(read.table.rows, 20);
    assert_eq!(read.skipped.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["ts"]);
    // Only skipped columns: the rows are still known.
    let read = read_parquet(&data("types.parquet"), Some(&["ts".to_string()]), &|_| {}).unwrap();
    assert_eq!((read.table.columns.len(), read.table.rows), (0, 20));

    let err = read_parquet(&data("types.parquet"), Some(&["i8".to_string(), "nope".into()]), &|_| {});
    match err {
        Err(DataError::UnknownColumn { name, available, .. }) => {
            assert_eq!(name, "nope");
            assert!(available.starts_with("i8, i16"), "{available}");
        }
        other => panic!("expected UnknownColumn, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_parquet_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("looks.parquet");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    assert!(!is_parquet(&csv));
    match read_parquet(&csv, None, &|_| {}) {
        Err(e @ DataError::Malformed { .. }) => {
            let message = e.to_string();
            assert!(message.contains("looks.parquet") && message.contains("not a Parquet file"), "{message}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }

    // Starts like Parquet but is cut short: no footer.
    let bytes = std::fs::read(data("types.parquet")).unwrap();
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(is_parquet(&cut));
    match read_parquet(&cut, None, &|_| {}) {
        Err(e @ DataError::Malformed { .. }) => assert!(e.to_string().contains("cut.parquet"), "{e}"),
        other => panic!("expected Malformed, got {other:?}"),
    }

    // The magic decides, not the extension.
    let renamed = dir.path().join("data.csv");
    std::fs::write(&renamed, &bytes).unwrap();
    assert!(is_parquet(&renamed));
    assert_eq!(read_parquet(&renamed, None, &|_| {}).map(|t| t.table.rows).ok(), Some(20));

    match read_parquet(&dir.path().join("missing.parquet"), None, &|_| {}) {
        Err(DataError::Io { .. }) => {}
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn a_file_without_rows_is_empty() {
    match read_parquet(&data("empty.parquet"), None, &|_| {}) {
        Err(DataError::Empty { path }) => assert!(path.ends_with("empty.parquet")),
        other => panic!("expected Empty, got {other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("zero.parquet");
    std::fs::write(&zero, b"").unwrap();
    assert!(matches!(read_parquet(&zero, None, &|_| {}), Err(DataError::Empty { .. })));
}

/// NaN-aware equality of two columns' values.
fn same_values(a: &Values, b: &Values) -> bool {
    match (a, b) {
        (Values::Float(x), Values::Float(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_f64(*p, *q)),
        _ => a == b,
    }
}

#[test]
fn csv_and_parquet_of_the_same_data_agree() {
    let csv: Table =
        read_csv(&data("same.csv"), &CsvOptions::default(), &|_| {}).unwrap_or_else(|e| panic!("same.csv: {e}"));
    let parquet = read("same.parquet");
    assert!(parquet.skipped.is_empty());
    assert_eq!(csv.rows, parquet.table.rows);
    assert_eq!(csv.names().collect::<Vec<_>>(), parquet.table.names().collect::<Vec<_>>());
    let dtypes: Vec<&str> = parquet.table.columns.iter().map(|c| c.values.dtype()).collect();
    // count: int; gappy: int with gaps → float; amount: float; city: text; ok: bool; ok_gap:
    // bool with a gap → text.
    assert_eq!(dtypes, ["int64", "float64", "float64", "object", "bool", "object"]);
    for (c, p) in csv.columns.iter().zip(&parquet.table.columns) {
        assert!(same_values(&c.values, &p.values), "{}: csv {:?} vs parquet {:?}", c.name, c.values, p.values);
    }
}

/// Arrow data handed over in memory (the Python package's path: a pyarrow Table or a polars
/// DataFrame through the C stream interface) is typed as the same data read from a file: every
/// fixture's record batches, with the file's schema and `pandas` metadata, give the same table.
#[test]
fn record_batches_are_typed_as_the_file_they_came_from() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut checked = 0;
    for entry in std::fs::read_dir(data("")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "parquet") || path.file_name().is_some_and(|n| n == "empty.parquet") {
            continue;
        }
        let from_file = read_parquet(&path, None, &|_| {}).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
        let schema = builder.schema().clone();
        // Small batches, so columns are assembled from many of them.
        let reader = builder.with_batch_size(1000).build().unwrap();
        let from_batches = riskops_parquet::read_batches(&schema, reader, Typing::Pandas)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Compared as text: NaN (a missing float) is not equal to itself.
        assert_eq!(format!("{from_batches:?}"), format!("{from_file:?}"), "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} fixtures");
}

#[test]
fn record_batches_without_rows_or_with_a_repeated_name_are_refused() {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
    let empty = RecordBatch::new_empty(schema.clone());
    let error = riskops_parquet::read_batches(&schema, std::iter::once(Ok(empty)), Typing::Pandas).unwrap_err();
    assert!(error.contains("no rows"), "{error}");

    let twice = Schema::new(vec![Field::new("a", DataType::Int64, false), Field::new("a", DataType::Int64, false)]);
    let error = riskops_parquet::read_batches(&twice, std::iter::empty(), Typing::Pandas).unwrap_err();
    assert!(error.contains("more than once"), "{error}");

    let column: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
    let batch = RecordBatch::try_new(schema.clone(), vec![column]).unwrap();
    let table = riskops_parquet::read_batches(&schema, std::iter::once(Ok(batch)), Typing::Pandas).unwrap();
    assert_eq!(table.table.rows, 3);
    assert_eq!(table.table.columns[0].values, Values::Int(vec![1, 2, 3]));
}
