//! Files read for exact drift (core's `RecordTables`): a dataset version's file as
//! `riskops drift` reads it, and a window's records from its segments.
//!
//! A segment stores a feature as numbers when every value of its batch was a number, else
//! as text (see `segments`), so one feature may be numbers in one segment and text in
//! another. Each column is therefore typed against the reference's dtype, as a CSV of the
//! window's records would be typed by pandas, and as the window counted them: for a numeric
//! reference column, numbers (a value that is not one — a type violation — is missing),
//! whole numbers with none missing as int64; for a text one, text; for booleans, booleans
//! (with a missing value, "True"/"False" text, as pandas reads them).

use riskops_core::service::{RecordTables, WindowOutputs};
use riskops_core::{Error, Result};
use riskops_data::profile::Dtype;
use riskops_data::{Column, CsvOptions, MISSING_CODE, StrColumn, Table, Values, read_csv};
use riskops_monitor::estimation::{classes, scores};
use riskops_monitor::{RecordColumn, Task};
use riskops_parquet::{Typing, parquet_shape, read_parquet, read_parquet_with};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct FileRecordTables;

impl RecordTables for FileRecordTables {
    fn dataset(&self, file: &Path, columns: &[String]) -> Result<Table> {
        let unreadable = |e: riskops_data::DataError| Error::internal(format!("reading reference data: {e}"));
        if riskops_data::profile::is_profile_document(file) {
            return Err(Error::invalid(
                "dataset",
                "the reference dataset version is a profile, without rows to compare",
            ));
        }
        if riskops_parquet::is_parquet(file) {
            return Ok(read_parquet(file, Some(columns), &|_| {}).map_err(unreadable)?.table);
        }
        let options = CsvOptions { delimiter: None, columns: Some(columns.to_vec()) };
        read_csv(file, &options, &|_| {}).map_err(unreadable)
    }

    fn records(
        &self,
        files: &[PathBuf],
        version: u32,
        from: i64,
        to: i64,
        columns: &[(String, Dtype)],
    ) -> Result<Table> {
        // Segments are decoded on every core, then joined in file order.
        let read = read_all(files, columns, version, from, to)?;
        let mut builders: Vec<Builder> = columns.iter().map(|(_, dtype)| Builder::new(*dtype)).collect();
        let mut rows = 0;
        for (table, keep) in read {
            let n = keep.iter().filter(|k| **k).count();
            if n == 0 {
                continue;
            }
            rows += n;
            for ((name, _), builder) in columns.iter().zip(&mut builders) {
                match table.column(name) {
                    Some(c) => builder.extend(&c.values, &keep),
                    None => builder.missing(n),
                }
            }
        }
        let columns =
            columns.iter().zip(builders).map(|((name, _), b)| Column { name: name.clone(), values: b.finish() });
        Ok(Table { columns: columns.collect(), rows })
    }

    fn outputs(&self, files: &[PathBuf], version: u32, from: i64, to: i64, task: &Task) -> Result<WindowOutputs> {
        let positive = match task {
            Task::Binary { positive } => positive.as_str(),
            Task::Regression => "",
        };
        let proba = RecordColumn::Probability(positive.to_string()).name().into_owned();
        // The dtypes are not used to read: each segment's columns come as stored.
        let wanted: Vec<(String, Dtype)> = [("prediction", Dtype::Object), ("score", Dtype::Float64)]
            .into_iter()
            .map(|(n, d)| (n.to_string(), d))
            .chain(std::iter::once((proba.clone(), Dtype::Float64)))
            .collect();
        let mut out = WindowOutputs::default();
        for (table, keep) in read_all(files, &wanted, version, from, to)? {
            let kept =
                |v: Vec<f64>| -> Vec<f64> { v.into_iter().zip(&keep).filter(|(_, k)| **k).map(|(x, _)| x).collect() };
            let n = keep.iter().filter(|k| **k).count();
            let numbers = |name: &str| {
                table.column(name).and_then(|c| scores(&c.values)).map(kept).unwrap_or_else(|| vec![f64::NAN; n])
            };
            // As `Record::positive_score`: the score, else the positive class's probability.
            let score = numbers("score");
            let probability = numbers(&proba);
            out.scores.extend(score.into_iter().zip(probability).map(|(s, p)| if s.is_nan() { p } else { s }));
            match table.column("prediction") {
                Some(c) => out
                    .predictions
                    .extend(classes(&c.values, task).into_iter().zip(&keep).filter(|(_, k)| **k).map(|(p, _)| p)),
                None => out.predictions.extend(std::iter::repeat_n(None, n)),
            }
        }
        Ok(out)
    }
}

/// A segment's wanted columns, and which of its rows are the window's.
type ReadSegment = (Table, Vec<bool>);

/// Each segment's wanted columns and which of its rows are the window's, read in parallel.
fn read_all(
    files: &[PathBuf],
    columns: &[(String, Dtype)],
    version: u32,
    from: i64,
    to: i64,
) -> Result<Vec<ReadSegment>> {
    let read_one = |file: &PathBuf| -> Result<ReadSegment> {
        let unreadable = |e: riskops_data::DataError| Error::internal(format!("reading a segment: {e}"));
        let (names, _) = parquet_shape(file).map_err(unreadable)?;
        let wanted: Vec<String> = ["timestamp", "version"]
            .into_iter()
            .map(String::from)
            .chain(columns.iter().map(|(n, _)| n.clone()))
            .filter(|n| names.contains(n))
            .collect();
        let table = read_parquet_with(file, Some(&wanted), Typing::Stored, &|_| {}).map_err(unreadable)?.table;
        let keep = rows_of(&table, version, from, to);
        Ok((table, keep))
    };
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<ReadSegment>>>> = files.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let answer = read_one(file);
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(answer);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| slot.into_inner().ok().flatten().unwrap_or_else(|| Err(Error::internal("a segment was not read"))))
        .collect()
}

/// Which rows of a segment are the version's, with a timestamp in `[from, to)`.
fn rows_of(table: &Table, version: u32, from: i64, to: i64) -> Vec<bool> {
    let in_range: Vec<bool> = match table.column("timestamp").map(|c| &c.values) {
        Some(Values::Int(t)) => t.iter().map(|&t| from <= t && t < to).collect(),
        Some(Values::Float(t)) => t.iter().map(|&t| from as f64 <= t && t < to as f64).collect(),
        _ => vec![false; table.rows],
    };
    let ours = |text: &str| text.trim().parse::<u32>().ok() == Some(version);
    match table.column("version").map(|c| &c.values) {
        Some(Values::Str(s)) => {
            let dictionary: Vec<bool> = s.dictionary.iter().map(|d| ours(d)).collect();
            s.codes
                .iter()
                .zip(in_range)
                .map(|(&c, t)| t && dictionary.get(c as usize).copied().unwrap_or(false))
                .collect()
        }
        Some(Values::Int(v)) => v.iter().zip(in_range).map(|(&v, t)| t && v == i64::from(version)).collect(),
        _ => vec![false; table.rows],
    }
}

/// One column of the window, gathered across segments.
enum Builder {
    /// Numbers (NaN missing); `integer`: an int64 reference.
    Numbers {
        values: Vec<f64>,
        integer: bool,
    },
    Booleans(Vec<Option<bool>>),
    Texts {
        codes: Vec<u32>,
        dictionary: Vec<String>,
        index: HashMap<String, u32>,
    },
}

impl Builder {
    fn new(dtype: Dtype) -> Builder {
        match dtype {
            Dtype::Float64 => Builder::Numbers { values: Vec::new(), integer: false },
            Dtype::Int64 => Builder::Numbers { values: Vec::new(), integer: true },
            Dtype::Bool => Builder::Booleans(Vec::new()),
            Dtype::Object => Builder::Texts { codes: Vec::new(), dictionary: Vec::new(), index: HashMap::new() },
        }
    }

    fn missing(&mut self, n: usize) {
        match self {
            Builder::Numbers { values, .. } => values.extend(std::iter::repeat_n(f64::NAN, n)),
            Builder::Booleans(v) => v.extend(std::iter::repeat_n(None, n)),
            Builder::Texts { codes, .. } => codes.extend(std::iter::repeat_n(MISSING_CODE, n)),
        }
    }

    fn extend(&mut self, values: &Values, keep: &[bool]) {
        let kept = |i: usize| keep.get(i).copied().unwrap_or(false);
        match self {
            Builder::Numbers { values: out, .. } => match values {
                Values::Float(v) if keep.iter().all(|k| *k) => out.extend_from_slice(v),
                Values::Float(v) => out.extend(v.iter().enumerate().filter(|(i, _)| kept(*i)).map(|(_, x)| *x)),
                Values::Int(v) => out.extend(v.iter().enumerate().filter(|(i, _)| kept(*i)).map(|(_, x)| *x as f64)),
                Values::Bool(v) => out.extend(v.iter().enumerate().filter(|(i, _)| kept(*i)).map(|_| f64::NAN)),
                Values::Str(s) => {
                    let parsed: Vec<f64> =
                        s.dictionary.iter().map(|d| d.trim().parse::<f64>().unwrap_or(f64::NAN)).collect();
                    out.extend(
                        s.codes
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| kept(*i))
                            .map(|(_, &c)| parsed.get(c as usize).copied().unwrap_or(f64::NAN)),
                    );
                }
            },
            Builder::Booleans(out) => match values {
                Values::Bool(v) => out.extend(v.iter().enumerate().filter(|(i, _)| kept(*i)).map(|(_, b)| Some(*b))),
                Values::Str(s) => {
                    let parsed: Vec<Option<bool>> = s
                        .dictionary
                        .iter()
                        .map(|d| match d.as_str() {
                            "True" | "true" => Some(true),
                            "False" | "false" => Some(false),
                            _ => None,
                        })
                        .collect();
                    out.extend(
                        s.codes
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| kept(*i))
                            .map(|(_, &c)| parsed.get(c as usize).copied().flatten()),
                    );
                }
                Values::Float(v) => out.extend(v.iter().enumerate().filter(|(i, _)| kept(*i)).map(|_| None)),
                Values::Int(v) => out.extend(v.iter().enumerate().filter(|(i, _)| kept(*i)).map(|_| None)),
            },
            Builder::Texts { codes, dictionary, index } => {
                let mut code_of = |text: String| -> u32 {
                    if let Some(&c) = index.get(&text) {
                        return c;
                    }
                    let c = dictionary.len() as u32;
                    index.insert(text.clone(), c);
                    dictionary.push(text);
                    c
                };
                match values {
                    Values::Str(s) => {
                        let mapped: Vec<u32> = s.dictionary.iter().map(|d| code_of(d.clone())).collect();
                        codes.extend(s.codes.iter().enumerate().filter(|(i, _)| kept(*i)).map(|(_, &c)| {
                            if c == MISSING_CODE {
                                MISSING_CODE
                            } else {
                                mapped.get(c as usize).copied().unwrap_or(MISSING_CODE)
                            }
                        }));
                    }
                    Values::Float(v) => {
                        for (_, x) in v.iter().enumerate().filter(|(i, _)| kept(*i)) {
                            codes.push(if x.is_nan() { MISSING_CODE } else { code_of(json_number(*x)) });
                        }
                    }
                    Values::Int(v) => {
                        for (_, x) in v.iter().enumerate().filter(|(i, _)| kept(*i)) {
                            codes.push(code_of(x.to_string()));
                        }
                    }
                    Values::Bool(v) => {
                        for (_, b) in v.iter().enumerate().filter(|(i, _)| kept(*i)) {
                            codes.push(code_of(if *b { "True" } else { "False" }.to_string()));
                        }
                    }
                }
            }
        }
    }

    fn finish(self) -> Values {
        match self {
            Builder::Numbers { values, integer } => {
                // pandas reads whole numbers with none missing as int64.
                if integer && values.iter().all(|x| x.fract() == 0.0 && x.abs() < 9.0e15) {
                    Values::Int(values.into_iter().map(|x| x as i64).collect())
                } else {
                    Values::Float(values)
                }
            }
            Builder::Booleans(v) => {
                if v.iter().all(Option::is_some) {
                    Values::Bool(v.into_iter().map(|b| b.unwrap_or(false)).collect())
                } else {
                    let codes = v.iter().map(|b| b.map_or(MISSING_CODE, u32::from)).collect();
                    Values::Str(StrColumn { codes, dictionary: vec!["False".into(), "True".into()] })
                }
            }
            Builder::Texts { codes, dictionary, .. } => Values::Str(StrColumn { codes, dictionary }),
        }
    }
}

/// A number as JSON writes it (how a segment writes a number in a text column).
fn json_number(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(|| x.to_string(), |n| n.to_string())
}
