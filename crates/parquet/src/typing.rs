//! Which columns are read, and as what: the dtype `pandas.read_parquet` (pyarrow engine,
//! pandas 2.x defaults) gives each Arrow type, and whether Evidently's `infer_column_type`
//! (evidently 0.7.23, `core/datasets.py`) keeps a column of that dtype. Columns that Evidently
//! leaves out (its `Unknown` and `Datetime` types) are not read at all, and are reported with
//! the reason instead, so that the drift report can say why a column is missing.
//!
//! [`Typing::Stored`] (records for monitoring, not columns to compare) relaxes three of these
//! rules: unsigned integers and timestamps are read, and pandas' nullable dtypes are read by
//! their Arrow type.

use crate::Typing;
use arrow_schema::DataType;
use std::collections::HashMap;

/// How a column's Arrow arrays are turned into [`riskops_data::Values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// int8..int64: pandas `int*` → `Int`; with a null pandas makes float64 → `Float`.
    Signed,
    /// uint8..uint64 (the pandas dtype name, for the reason if the column is left out).
    /// Without a null pandas keeps `uint*`, which Evidently cannot type (its integer rule
    /// matches dtype names starting with "int"): left out. With a null, float64 → `Float`.
    Unsigned(&'static str),
    /// float16/32/64: pandas `float*` → `Float`, null → NaN.
    Float,
    /// Without a null pandas `bool` → `Bool`; with one, an `object` column of Python bools,
    /// which Evidently cannot type: `Str` of "True"/"False", which the drift engine
    /// recognises and leaves out, as it does for the same column read from CSV.
    Bool,
    /// utf8 / large_utf8 / utf8_view: pandas `object` of `str` → `Str`.
    Text,
    /// Dictionary-encoded strings: pandas `category` → `Str`. Evidently types a `category`
    /// column as categorical whatever its number of distinct values, where a `Str` column
    /// with mostly distinct values is free text to the drift engine; `Values` has no way to
    /// say "category", so that difference remains.
    Dictionary,
    /// Stored typing only: uint8..uint64 → `Int` (float64 with a null, as for `Signed`). A
    /// uint64 column with a value above `i64::MAX` is left out rather than rounded.
    UnsignedAsInt,
    /// Stored typing only: a timestamp of any unit → `Int` unix seconds, rounded down
    /// (float64 with a null). A time zone does not change the value: Arrow stores UTC.
    UnixSeconds,
}

/// What to do with one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    Read(Source),
    Skip(String),
}

/// The parts of the `pandas` key-value metadata (written by `DataFrame.to_parquet`) that
/// change what `read_parquet` gives back.
#[derive(Debug, Default)]
pub(crate) struct PandasMetadata {
    /// Columns that `read_parquet` turns back into the DataFrame's index.
    pub index_columns: Vec<String>,
    /// Column (field) name → the pandas dtype it had when written (`numpy_type`), which
    /// `read_parquet` restores when it is a pandas extension dtype.
    pub dtypes: HashMap<String, String>,
}

impl PandasMetadata {
    /// Parses the JSON of the `pandas` key. Anything unexpected in it is ignored: pyarrow
    /// ignores what it does not understand too, and the Arrow types still apply.
    pub fn parse(json: &str) -> PandasMetadata {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else { return PandasMetadata::default() };
        let index_columns = value
            .get("index_columns")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let dtypes = value
            .get("columns")
            .and_then(|v| v.as_array())
            .map(|columns| {
                columns
                    .iter()
                    .filter_map(|c| {
                        let field = c.get("field_name").or_else(|| c.get("name"))?.as_str()?;
                        let numpy_type = c.get("numpy_type")?.as_str()?;
                        Some((field.to_string(), numpy_type.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        PandasMetadata { index_columns, dtypes }
    }
}

/// The plan for a column named `name` of Arrow type `data_type`.
pub(crate) fn plan(name: &str, data_type: &DataType, pandas: &PandasMetadata, typing: Typing) -> Plan {
    // Not data in either typing: the rows' labels, which pandas wrote next to the columns.
    if pandas.index_columns.iter().any(|c| c == name) {
        return Plan::Skip("pandas index: pandas.read_parquet makes it the DataFrame's index, not a column".into());
    }
    if typing == Typing::Stored {
        match data_type {
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                return Plan::Read(Source::UnsignedAsInt);
            }
            DataType::Timestamp(_, _) => return Plan::Read(Source::UnixSeconds),
            _ => {}
        }
    }
    if typing == Typing::Pandas
        && let Some(dtype) = pandas.dtypes.get(name)
        && is_nullable_extension_dtype(dtype)
    {
        return Plan::Skip(format!(
            "pandas {dtype} column: pandas.read_parquet restores the nullable {dtype} dtype, which Evidently leaves out"
        ));
    }
    use DataType::*;
    let skip = |what: &str, pandas_gives: &str| {
        Plan::Skip(format!("{what} column: pandas reads it as {pandas_gives}, which Evidently leaves out"))
    };
    match data_type {
        Int8 | Int16 | Int32 | Int64 => Plan::Read(Source::Signed),
        UInt8 => Plan::Read(Source::Unsigned("uint8")),
        UInt16 => Plan::Read(Source::Unsigned("uint16")),
        UInt32 => Plan::Read(Source::Unsigned("uint32")),
        UInt64 => Plan::Read(Source::Unsigned("uint64")),
        Float16 | Float32 | Float64 => Plan::Read(Source::Float),
        Boolean => Plan::Read(Source::Bool),
        Utf8 | LargeUtf8 | Utf8View => Plan::Read(Source::Text),
        Dictionary(_, values) if matches!(values.as_ref(), Utf8 | LargeUtf8 | Utf8View) => {
            Plan::Read(Source::Dictionary)
        }
        Dictionary(_, values) => {
            Plan::Skip(format!("dictionary-encoded {values} column: not supported (only dictionaries of strings are)"))
        }
        // pandas gives datetime64, which Evidently types as Datetime and does not compare.
        Timestamp(_, _) => Plan::Skip("timestamp column: not compared (Evidently leaves datetime columns out)".into()),
        Date32 | Date64 => skip("date", "Python dates (object)"),
        Time32(_) | Time64(_) => skip("time-of-day", "Python times (object)"),
        Duration(_) => skip("duration", "timedelta64"),
        Interval(_) => skip("interval", "Python objects"),
        Decimal32(_, _) | Decimal64(_, _) | Decimal128(_, _) | Decimal256(_, _) => {
            skip("decimal", "Python Decimal objects (object)")
        }
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => skip("binary", "Python bytes (object)"),
        Null => skip("all-null (untyped)", "an object column of None"),
        List(_) | LargeList(_) | ListView(_) | LargeListView(_) | FixedSizeList(_, _) => {
            skip("list", "NumPy arrays (object)")
        }
        Struct(_) => skip("struct", "Python dicts (object)"),
        Map(_, _) => skip("map", "lists of tuples (object)"),
        other => Plan::Skip(format!("{other} column: not supported (Evidently leaves out columns it cannot type)")),
    }
}

/// pandas' nullable dtypes (`Int64`, `UInt8`, `Float64`, `boolean`...): `read_parquet`
/// restores them from the metadata, and Evidently's type inference knows none of them
/// (it tests dtype names for "int"/"float" in lower case). pandas' `string` dtype is not one:
/// Evidently treats it as text.
fn is_nullable_extension_dtype(dtype: &str) -> bool {
    dtype == "boolean"
        || ["Int", "UInt", "Float"]
            .iter()
            .any(|prefix| dtype.strip_prefix(prefix).is_some_and(|bits| bits.parse::<u8>().is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_extension_dtypes_are_recognised() {
        for d in ["Int8", "Int64", "UInt32", "Float32", "Float64", "boolean"] {
            assert!(is_nullable_extension_dtype(d), "{d}");
        }
        for d in ["int64", "float64", "bool", "object", "string", "category", "Interval", "datetime64[ns]"] {
            assert!(!is_nullable_extension_dtype(d), "{d}");
        }
    }

    #[test]
    fn pandas_metadata_is_parsed_leniently() {
        let m = PandasMetadata::parse(
            r#"{"index_columns": ["__index_level_0__", {"kind": "range"}],
                "columns": [{"name": "a", "field_name": "a", "numpy_type": "Int64"}, {"name": "b"}]}"#,
        );
        assert_eq!(m.index_columns, ["__index_level_0__"]);
        assert_eq!(m.dtypes.get("a").map(String::as_str), Some("Int64"));
        assert!(!m.dtypes.contains_key("b"));
        assert!(PandasMetadata::parse("not json").dtypes.is_empty());
    }
}
