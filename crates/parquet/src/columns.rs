//! Growing columns: each record batch is appended to plain vectors, so that only one batch of
//! Arrow data is alive at a time. Strings are interned (one allocation per distinct value,
//! none per row); Arrow dictionaries are mapped index → code once per dictionary.

use crate::typing::Source;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, DictionaryArray, GenericStringArray, OffsetSizeTrait,
    PrimitiveArray, StringViewArray,
};
use arrow_schema::{DataType, TimeUnit};
use riskops_data::{MISSING_CODE, StrColumn, Values};
use std::sync::Arc;

/// A code not assigned yet, in a dictionary's index → code map. Never a real code: the
/// interner stops before it.
const UNMAPPED: u32 = u32::MAX - 1;

/// One column being read.
pub(crate) struct ColumnBuilder {
    source: Source,
    values: Sink,
    saw_null: bool,
    /// The last Arrow dictionary seen and its index → code map (lazily filled). The Parquet
    /// reader hands the same dictionary to every batch of a column chunk, so the map is built
    /// once per row group, not once per batch.
    dictionary: Option<(ArrayRef, Vec<u32>)>,
    /// Why the column is left out after all, found while reading (a uint64 too large for
    /// `Int`); nothing more is collected once set.
    left_out: Option<String>,
}

enum Sink {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Str(Interner),
}

/// What a finished column is: values, or a reason it is left out.
pub(crate) enum Finished {
    Values(Values),
    Skipped(String),
}

impl ColumnBuilder {
    pub fn new(source: Source, capacity: usize) -> ColumnBuilder {
        let values = match source {
            Source::Signed | Source::UnsignedAsInt | Source::UnixSeconds => Sink::Int(Vec::with_capacity(capacity)),
            // Read as float: with no null the column is left out anyway, and with one pandas
            // makes float64 of it.
            Source::Unsigned(_) | Source::Float => Sink::Float(Vec::with_capacity(capacity)),
            Source::Bool => Sink::Bool(Vec::with_capacity(capacity)),
            Source::Text | Source::Dictionary => {
                Sink::Str(Interner { codes: Vec::with_capacity(capacity), ..Interner::default() })
            }
        };
        ColumnBuilder { source, values, saw_null: false, dictionary: None, left_out: None }
    }

    /// Appends one batch of this column. The error is a message about the column.
    pub fn push(&mut self, array: &ArrayRef) -> Result<(), String> {
        let mismatch = || format!("unexpected Arrow type {} in the data", array.data_type());
        if self.left_out.is_some() {
            return Ok(());
        }
        if array.null_count() > 0 {
            self.saw_null = true;
        }
        let as_int = self.source == Source::UnsignedAsInt;
        match array.data_type() {
            DataType::Int8 => self.push_signed(array.as_primitive_opt::<Int8Type>().ok_or_else(mismatch)?),
            DataType::Int16 => self.push_signed(array.as_primitive_opt::<Int16Type>().ok_or_else(mismatch)?),
            DataType::Int32 => self.push_signed(array.as_primitive_opt::<Int32Type>().ok_or_else(mismatch)?),
            DataType::Int64 => self.push_signed(array.as_primitive_opt::<Int64Type>().ok_or_else(mismatch)?),
            DataType::UInt8 if as_int => self.push_signed(array.as_primitive_opt::<UInt8Type>().ok_or_else(mismatch)?),
            DataType::UInt16 if as_int => {
                self.push_signed(array.as_primitive_opt::<UInt16Type>().ok_or_else(mismatch)?)
            }
            DataType::UInt32 if as_int => {
                self.push_signed(array.as_primitive_opt::<UInt32Type>().ok_or_else(mismatch)?)
            }
            DataType::UInt64 if as_int => {
                let array = array.as_primitive_opt::<UInt64Type>().ok_or_else(mismatch)?;
                self.push_converted(array, |v| {
                    i64::try_from(v).map_err(|_| {
                        format!("uint64 column with {v}, above the largest int64 (it would be rounded as a float)")
                    })
                })
            }
            DataType::Timestamp(unit, _) => {
                let per_second = match unit {
                    TimeUnit::Second => 1,
                    TimeUnit::Millisecond => 1_000,
                    TimeUnit::Microsecond => 1_000_000,
                    TimeUnit::Nanosecond => 1_000_000_000,
                };
                let seconds = |v: i64| Ok(v.div_euclid(per_second));
                match unit {
                    TimeUnit::Second => self
                        .push_converted(array.as_primitive_opt::<TimestampSecondType>().ok_or_else(mismatch)?, seconds),
                    TimeUnit::Millisecond => self.push_converted(
                        array.as_primitive_opt::<TimestampMillisecondType>().ok_or_else(mismatch)?,
                        seconds,
                    ),
                    TimeUnit::Microsecond => self.push_converted(
                        array.as_primitive_opt::<TimestampMicrosecondType>().ok_or_else(mismatch)?,
                        seconds,
                    ),
                    TimeUnit::Nanosecond => self.push_converted(
                        array.as_primitive_opt::<TimestampNanosecondType>().ok_or_else(mismatch)?,
                        seconds,
                    ),
                }
            }
            DataType::UInt8 => self.push_float(array.as_primitive_opt::<UInt8Type>().ok_or_else(mismatch)?, f64::from),
            DataType::UInt16 => {
                self.push_float(array.as_primitive_opt::<UInt16Type>().ok_or_else(mismatch)?, f64::from)
            }
            DataType::UInt32 => {
                self.push_float(array.as_primitive_opt::<UInt32Type>().ok_or_else(mismatch)?, f64::from)
            }
            // As pandas does: uint64 with a null becomes float64, rounding above 2^53.
            DataType::UInt64 => {
                self.push_float(array.as_primitive_opt::<UInt64Type>().ok_or_else(mismatch)?, |v| v as f64)
            }
            DataType::Float16 => {
                self.push_float(array.as_primitive_opt::<Float16Type>().ok_or_else(mismatch)?, |v| v.to_f64())
            }
            DataType::Float32 => {
                self.push_float(array.as_primitive_opt::<Float32Type>().ok_or_else(mismatch)?, f64::from)
            }
            DataType::Float64 => self.push_float(array.as_primitive_opt::<Float64Type>().ok_or_else(mismatch)?, |v| v),
            DataType::Boolean => self.push_bool(array.as_boolean_opt().ok_or_else(mismatch)?),
            DataType::Utf8 => self.push_strings(array.as_string_opt::<i32>().ok_or_else(mismatch)?.iter()),
            DataType::LargeUtf8 => self.push_strings(array.as_string_opt::<i64>().ok_or_else(mismatch)?.iter()),
            DataType::Utf8View => self.push_strings(array.as_string_view_opt().ok_or_else(mismatch)?.iter()),
            DataType::Dictionary(key, _) => match key.as_ref() {
                DataType::Int8 => self.push_dictionary::<Int8Type>(array),
                DataType::Int16 => self.push_dictionary::<Int16Type>(array),
                DataType::Int32 => self.push_dictionary::<Int32Type>(array),
                DataType::Int64 => self.push_dictionary::<Int64Type>(array),
                DataType::UInt8 => self.push_dictionary::<UInt8Type>(array),
                DataType::UInt16 => self.push_dictionary::<UInt16Type>(array),
                DataType::UInt32 => self.push_dictionary::<UInt32Type>(array),
                DataType::UInt64 => self.push_dictionary::<UInt64Type>(array),
                _ => Err(mismatch()),
            },
            _ => Err(mismatch()),
        }
    }

    fn push_signed<T>(&mut self, array: &PrimitiveArray<T>) -> Result<(), String>
    where
        T: ArrowPrimitiveType,
        T::Native: Into<i64>,
    {
        if array.null_count() > 0
            && let Sink::Int(ints) = &mut self.values
        {
            // pandas makes float64 of an integer column with a missing value.
            self.values = Sink::Float(ints.iter().map(|&i| i as f64).collect());
        }
        match &mut self.values {
            Sink::Int(out) => out.extend(array.values().iter().map(|&v| v.into())),
            Sink::Float(out) if array.null_count() == 0 => out.extend(array.values().iter().map(|&v| v.into() as f64)),
            Sink::Float(out) => out.extend(array.iter().map(|v| v.map_or(f64::NAN, |v| v.into() as f64))),
            Sink::Bool(_) | Sink::Str(_) => return Err("integers in a non-integer column".into()),
        }
        Ok(())
    }

    /// Integers that need converting (`convert` may refuse a value: the column is then left
    /// out with its message); a null makes the column float64, as in `push_signed`.
    fn push_converted<T: ArrowPrimitiveType>(
        &mut self,
        array: &PrimitiveArray<T>,
        convert: impl Fn(T::Native) -> Result<i64, String>,
    ) -> Result<(), String> {
        if array.null_count() > 0
            && let Sink::Int(ints) = &mut self.values
        {
            self.values = Sink::Float(ints.iter().map(|&i| i as f64).collect());
        }
        let converted: Result<(), String> = match &mut self.values {
            Sink::Int(out) => array.values().iter().try_for_each(|&v| convert(v).map(|i| out.push(i))),
            Sink::Float(out) => array.iter().try_for_each(|v| {
                out.push(match v {
                    Some(v) => convert(v)? as f64,
                    None => f64::NAN,
                });
                Ok(())
            }),
            Sink::Bool(_) | Sink::Str(_) => return Err("integers in a non-integer column".into()),
        };
        if let Err(reason) = converted {
            self.left_out = Some(reason);
            self.values = Sink::Int(Vec::new());
        }
        Ok(())
    }

    fn push_float<T: ArrowPrimitiveType>(
        &mut self,
        array: &PrimitiveArray<T>,
        to_f64: impl Fn(T::Native) -> f64,
    ) -> Result<(), String> {
        let Sink::Float(out) = &mut self.values else { return Err("numbers in a non-numeric column".into()) };
        if array.null_count() == 0 {
            out.extend(array.values().iter().map(|&v| to_f64(v)));
        } else {
            out.extend(array.iter().map(|v| v.map_or(f64::NAN, &to_f64)));
        }
        Ok(())
    }

    fn push_bool(&mut self, array: &BooleanArray) -> Result<(), String> {
        if array.null_count() > 0
            && let Sink::Bool(bools) = &mut self.values
        {
            // pandas makes an object column of Python bools (and None): keep it as the text
            // the CSV reader gives for the same column, "True"/"False" with gaps.
            let mut strings = Interner { codes: Vec::with_capacity(bools.capacity()), ..Interner::default() };
            for &b in bools.iter() {
                strings.push(Some(bool_text(b)))?;
            }
            self.values = Sink::Str(strings);
        }
        match &mut self.values {
            Sink::Bool(out) => out.extend(array.values().iter()),
            Sink::Str(out) => {
                for v in array.iter() {
                    out.push(v.map(bool_text))?;
                }
            }
            Sink::Int(_) | Sink::Float(_) => return Err("booleans in a numeric column".into()),
        }
        Ok(())
    }

    fn push_strings<'a>(&mut self, values: impl Iterator<Item = Option<&'a str>>) -> Result<(), String> {
        let Sink::Str(out) = &mut self.values else { return Err("strings in a non-text column".into()) };
        for v in values {
            out.push(v)?;
        }
        Ok(())
    }

    fn push_dictionary<K: ArrowDictionaryKeyType>(&mut self, array: &ArrayRef) -> Result<(), String> {
        let dictionary: &DictionaryArray<K> =
            array.as_dictionary_opt::<K>().ok_or_else(|| format!("unexpected Arrow type {}", array.data_type()))?;
        let Sink::Str(out) = &mut self.values else { return Err("strings in a non-text column".into()) };
        let values = dictionary.values();
        let strings = StringValues::of(values.as_ref())?;
        let same = self.dictionary.as_ref().is_some_and(|(seen, _)| Arc::ptr_eq(seen, values));
        if !same {
            self.dictionary = Some((Arc::clone(values), vec![UNMAPPED; values.len()]));
        }
        let Some((_, map)) = self.dictionary.as_mut() else { return Err("dictionary map lost".into()) };
        out.codes.reserve(dictionary.len());
        for row in 0..dictionary.len() {
            let Some(index) = dictionary.key(row) else {
                out.codes.push(MISSING_CODE);
                continue;
            };
            let Some(slot) = map.get_mut(index) else {
                return Err(format!("dictionary index {index} out of range ({} values)", values.len()));
            };
            if *slot == UNMAPPED {
                // A null in the dictionary itself is a missing value too.
                *slot = match strings.get(index) {
                    Some(text) => out.intern(text)?,
                    None => MISSING_CODE,
                };
            }
            out.codes.push(*slot);
        }
        Ok(())
    }

    pub fn finish(self) -> Finished {
        if let Some(reason) = self.left_out {
            return Finished::Skipped(reason);
        }
        match (self.source, self.values) {
            (Source::Unsigned(dtype), _) if !self.saw_null => Finished::Skipped(format!(
                "{dtype} column: pandas keeps it as {dtype}, which Evidently leaves out \
                 (it compares int*, float*, bool, text and category columns only)"
            )),
            (_, Sink::Int(v)) => Finished::Values(Values::Int(v)),
            (_, Sink::Float(v)) => Finished::Values(Values::Float(v)),
            (_, Sink::Bool(v)) => Finished::Values(Values::Bool(v)),
            (_, Sink::Str(s)) => Finished::Values(Values::Str(StrColumn { codes: s.codes, dictionary: s.dictionary })),
        }
    }
}

/// How pandas prints a Python bool, which is what the CSV reader keeps for the same column.
fn bool_text(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// The values of an Arrow dictionary, whatever the string layout.
enum StringValues<'a> {
    Small(&'a GenericStringArray<i32>),
    Large(&'a GenericStringArray<i64>),
    View(&'a StringViewArray),
}

impl<'a> StringValues<'a> {
    fn of(array: &'a dyn Array) -> Result<StringValues<'a>, String> {
        let unexpected = || format!("dictionary of {} where strings were expected", array.data_type());
        Ok(match array.data_type() {
            DataType::Utf8 => StringValues::Small(array.as_string_opt::<i32>().ok_or_else(unexpected)?),
            DataType::LargeUtf8 => StringValues::Large(array.as_string_opt::<i64>().ok_or_else(unexpected)?),
            DataType::Utf8View => StringValues::View(array.as_string_view_opt().ok_or_else(unexpected)?),
            _ => return Err(unexpected()),
        })
    }

    fn get(&self, index: usize) -> Option<&'a str> {
        fn at<O: OffsetSizeTrait>(a: &GenericStringArray<O>, i: usize) -> Option<&str> {
            (i < a.len() && a.is_valid(i)).then(|| a.value(i))
        }
        match self {
            StringValues::Small(a) => at(a, index),
            StringValues::Large(a) => at(a, index),
            StringValues::View(a) => (index < a.len() && a.is_valid(index)).then(|| a.value(index)),
        }
    }
}

/// Dictionary encoding of a text column, codes in order of first appearance (as the CSV
/// reader assigns them, so that the same data read from either format compares equal).
#[derive(Default)]
struct Interner {
    codes: Vec<u32>,
    dictionary: Vec<String>,
    // Fx: one hash per value read, the CSV reader's hasher (SipHash cost a tenth of a
    // segment's decoding).
    index: riskops_data::fxhash::FxHashMap<String, u32>,
}

impl Interner {
    fn push(&mut self, value: Option<&str>) -> Result<(), String> {
        let code = match value {
            None => MISSING_CODE,
            Some(v) => self.intern(v)?,
        };
        self.codes.push(code);
        Ok(())
    }

    fn intern(&mut self, value: &str) -> Result<u32, String> {
        if let Some(&code) = self.index.get(value) {
            return Ok(code);
        }
        let code = u32::try_from(self.dictionary.len())
            .ok()
            .filter(|&c| c < UNMAPPED)
            .ok_or_else(|| format!("more than {UNMAPPED} distinct values"))?;
        self.dictionary.push(value.to_string());
        self.index.insert(value.to_string(), code);
        Ok(code)
    }
}
