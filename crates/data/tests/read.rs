//! Reading CSV into typed columns, as pandas types them. One test binary for the crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_data::{CsvOptions, DataError, MISSING_CODE, Values, read_csv, read_csv_from, sniff_delimiter};
use std::path::Path;

fn parse(text: &str) -> riskops_data::Table {
    let delimiter = sniff_delimiter(text.as_bytes());
    read_csv_from(Path::new("test.csv"), text.as_bytes(), delimiter, None, &|_| {}).unwrap()
}

fn values<'a>(table: &'a riskops_data::Table, name: &str) -> &'a Values {
    &table.column(name).unwrap().values
}

#[test]
fn columns_are_typed_as_pandas_types_them() {
    let t = parse("i,f,b,s,i_missing,mixed,all_missing\n1,1.5,True,a,1,1,\n2,2,False,b,,x,NA\n3,-inf,true,a,3,2.50,\n");
    assert_eq!(t.rows, 3);
    assert_eq!(values(&t, "i"), &Values::Int(vec![1, 2, 3]));
    assert_eq!(values(&t, "f"), &Values::Float(vec![1.5, 2.0, f64::NEG_INFINITY]));
    assert_eq!(values(&t, "b"), &Values::Bool(vec![true, false, true]));
    let Values::Str(s) = values(&t, "s") else { panic!() };
    assert_eq!(s.dictionary, ["a", "b"]);
    assert_eq!(s.codes, [0, 1, 0]);
    // An integer column with a missing value is float64 in pandas.
    let Values::Float(f) = values(&t, "i_missing") else { panic!("{:?}", values(&t, "i_missing")) };
    assert_eq!((f[0], f[1].is_nan(), f[2]), (1.0, true, 3.0));
    // Mixed numbers and text is text; the numbers read after the switch keep their spelling.
    let Values::Str(m) = values(&t, "mixed") else { panic!() };
    assert_eq!((0..3).map(|r| m.get(r).unwrap()).collect::<Vec<_>>(), ["1", "x", "2.50"]);
    let Values::Float(a) = values(&t, "all_missing") else { panic!() };
    assert!(a.iter().all(|x| x.is_nan()) && a.len() == 3);
}

#[test]
fn pandas_missing_tokens_are_missing_and_others_are_not() {
    let t = parse("s\nNA\nnull\nN/A\n?\nnone\n");
    let Values::Str(s) = values(&t, "s") else { panic!() };
    assert_eq!(&s.codes[..3], [MISSING_CODE; 3]);
    assert_eq!(s.get(3), Some("?"));
    assert_eq!(s.get(4), Some("none"));
    assert_eq!(values(&t, "s").missing(), 3);
}

#[test]
fn a_boolean_column_with_a_missing_value_is_text() {
    // (A blank line is skipped by pandas and by us, so the missing value needs a second column.)
    let t = parse("b,i\nTrue,1\n,2\nFalse,3\n");
    let Values::Str(s) = values(&t, "b") else { panic!() };
    assert_eq!((s.get(0), s.codes[1], s.get(2)), (Some("True"), MISSING_CODE, Some("False")));
}

#[test]
fn numbers_tolerate_padding_but_text_keeps_it() {
    // adult.data writes ", " between fields.
    let t = parse("age, workclass\n39, State-gov\n50, Self-emp\n");
    assert_eq!(values(&t, " workclass").len(), 2);
    assert_eq!(values(&t, "age"), &Values::Int(vec![39, 50]));
    let Values::Str(s) = values(&t, " workclass") else { panic!() };
    assert_eq!(s.get(0), Some(" State-gov"));
}

#[test]
fn words_that_rust_would_parse_as_numbers_stay_words() {
    let t = parse("w\ninfinity\nNaN\n");
    // "NaN" is pandas-missing; "infinity" is text for pandas.
    let Values::Str(s) = values(&t, "w") else { panic!("{:?}", values(&t, "w")) };
    assert_eq!((s.get(0), s.codes[1]), (Some("infinity"), MISSING_CODE));
}

/// The fast path (no quotes) and the csv crate read the same bytes the same way: across
/// block boundaries, with CRLF, blank lines, a BOM, no final newline, and a quote that
/// appears only late in the file.
#[test]
fn the_fast_path_reads_exactly_what_the_csv_crate_reads() {
    let mut text = String::from("\u{feff}id,value,label\r\n");
    for i in 0..300_000 {
        text.push_str(&format!("{i},{},{}\r\n", i as f64 / 7.0, ["x", "y", ""][i % 3]));
        if i % 50_000 == 0 {
            text.push_str("\r\n");
        }
    }
    text.push_str("300000,1.5,\"quoted, with comma\"\n300001,2.5,last");
    let fast = read_csv_from(Path::new("t.csv"), text.as_bytes(), b',', None, &|_| {}).unwrap();
    assert_eq!(fast.names().collect::<Vec<_>>(), ["id", "value", "label"]);
    assert_eq!(fast.rows, 300_002);
    let mut reference = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let records: Vec<csv::StringRecord> = reference.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 300_002);
    let Values::Str(labels) = values(&fast, "label") else { panic!() };
    let Values::Float(v) = values(&fast, "value") else { panic!() };
    for (row, record) in records.iter().enumerate().step_by(997).chain(records.iter().enumerate().skip(299_990)) {
        assert_eq!(labels.get(row).unwrap_or(""), &record[2], "row {row}");
        assert_eq!(v[row], record[1].parse::<f64>().unwrap(), "row {row}");
    }
    assert_eq!(labels.get(300_000), Some("quoted, with comma"));

    // A ragged line after the switch to the csv crate is reported at its line in the file.
    let ragged = "a,b,c\n1,2,3\n\n\"q\",1,2\n5,6\n";
    let err = read_csv_from(Path::new("r.csv"), ragged.as_bytes(), b',', None, &|_| {}).unwrap_err().to_string();
    assert!(err.contains("line 5 has 2 fields"), "{err}"); // line 3 is blank
}

#[test]
fn delimiters_are_sniffed() {
    assert_eq!(sniff_delimiter(b"a;b;c\n1;2;3\n4;5;6\n"), b';');
    assert_eq!(sniff_delimiter(b"a b c\n1 2 3\n"), b' ');
    assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n"), b'\t');
    assert_eq!(sniff_delimiter(b"a,b\n\"x;y\",2\n\"z;w\",3\n"), b',');
    assert_eq!(sniff_delimiter(b"single\n1\n2\n"), b',');
}

#[test]
fn bad_files_give_errors_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let err = read_csv(&missing, &CsvOptions::default(), &|_| {}).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }) && err.to_string().contains("nope.csv"), "{err}");

    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "a,b\n1,2\n3\n").unwrap();
    let err = read_csv(&ragged, &CsvOptions::default(), &|_| {}).unwrap_err().to_string();
    assert!(err.contains("ragged.csv") && err.contains("line 3"), "{err}");

    let header_only = dir.path().join("header.csv");
    std::fs::write(&header_only, "a,b\n").unwrap();
    assert!(matches!(read_csv(&header_only, &CsvOptions::default(), &|_| {}), Err(DataError::Empty { .. })));

    let dup = dir.path().join("dup.csv");
    std::fs::write(&dup, "a,a\n1,2\n").unwrap();
    assert!(matches!(read_csv(&dup, &CsvOptions::default(), &|_| {}), Err(DataError::DuplicateColumn { .. })));

    let ok = dir.path().join("ok.csv");
    std::fs::write(&ok, "a,b\n1,2\n").unwrap();
    let only = CsvOptions { delimiter: None, columns: Some(vec!["c".into()]) };
    let err = read_csv(&ok, &only, &|_| {}).unwrap_err().to_string();
    assert!(err.contains("\"c\"") && err.contains("a, b"), "{err}");
}

#[test]
fn a_subset_of_columns_is_read_and_progress_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let mut text = String::from("a;b;c\n");
    for i in 0..200_000 {
        text.push_str(&format!("{i};{};x{}\n", i as f64 / 3.0, i % 7));
    }
    std::fs::write(&path, &text).unwrap();
    let seen = std::sync::atomic::AtomicU64::new(0);
    let options = CsvOptions { delimiter: None, columns: Some(vec!["c".into(), "a".into()]) };
    let t = read_csv(&path, &options, &|n| seen.store(n, std::sync::atomic::Ordering::Relaxed)).unwrap();
    assert_eq!(t.names().collect::<Vec<_>>(), ["a", "c"]);
    assert_eq!(t.rows, 200_000);
    let Values::Str(c) = values(&t, "c") else { panic!() };
    assert_eq!(c.dictionary.len(), 7);
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), text.len() as u64);
}

#[test]
fn real_data_reads_with_the_expected_shape() {
    // testdata/german_credit: UCI Statlog German Credit, CC BY 4.0 (see its SOURCE.md).
    let german = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/german_credit/german.data");
    let t = read_csv(&german, &CsvOptions::default(), &|_| {}).unwrap();
    assert_eq!((t.rows, t.columns.len()), (1000, 21));
    assert_eq!(t.columns[0].name, "STATUS_ACCOUNT");
    assert_eq!(t.column("DURATION_MONTHS").unwrap().values.dtype(), "int64");
    let Values::Str(status) = &t.column("STATUS_ACCOUNT").unwrap().values else { panic!() };
    assert_eq!(status.dictionary.len(), 4);
}

// ---- profiles ---------------------------------------------------------------------------

mod profiles {
    use riskops_data::profile::{TableProfile, profile_csv};
    use riskops_data::{CsvOptions, Values, read_csv};
    use serde_json::Value;
    use std::path::Path;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn reference() -> Value {
        let text = std::fs::read_to_string(root().join("crates/data/tests/data/profile_reference.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn rel_close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300) || (a - b).abs() <= 1e-12
    }

    /// count, missing, distinct, min, max, mean and std (ddof 1) as pandas computes them;
    /// quantiles exact while the sketch is exact, else within its rank error.
    #[test]
    fn profiles_match_pandas_on_real_data() {
        let expected = reference();
        for (key, file) in expected["files"].as_object().unwrap() {
            let path = root().join(file["path"].as_str().unwrap());
            let profile = profile_csv(&path, None, &|_| {}).unwrap();
            assert_eq!(profile.rows, file["rows"].as_u64().unwrap(), "{key}");
            let table = read_csv(&path, &CsvOptions::default(), &|_| {}).unwrap();
            for want in file["columns"].as_array().unwrap() {
                let name = want["name"].as_str().unwrap();
                let got = profile.columns.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("{key}/{name}"));
                let at = format!("{key}/{name}");
                assert_eq!(got.dtype.name(), want["dtype"].as_str().unwrap(), "{at} dtype");
                assert_eq!(got.count(), want["count"].as_u64().unwrap(), "{at} count");
                assert_eq!(got.missing, want["missing"].as_u64().unwrap(), "{at} missing");
                assert_eq!(got.distinct.estimate(), want["distinct"].as_u64().unwrap(), "{at} distinct");
                let Some(min) = want["min"].as_f64() else { continue };
                let m = &got.moments;
                assert_eq!(m.min().unwrap(), min, "{at} min");
                assert_eq!(m.max().unwrap(), want["max"].as_f64().unwrap(), "{at} max");
                assert!(
                    rel_close(m.mean().unwrap(), want["mean"].as_f64().unwrap(), 1e-9),
                    "{at} mean {:?} vs {}",
                    m.mean(),
                    want["mean"]
                );
                if let Some(std) = want["std"].as_f64() {
                    assert!(rel_close(m.std(1).unwrap(), std, 1e-9), "{at} std {:?} vs {std}", m.std(1));
                }
                let qs = got.quantiles.quantiles(&riskops_data::profile::QUANTILES).unwrap();
                if want["exact_quantiles"] == true {
                    let exact: Vec<f64> =
                        want["quantiles"].as_array().unwrap().iter().map(|q| q.as_f64().unwrap()).collect();
                    assert_eq!(qs, exact, "{at} quantiles");
                } else {
                    // The rank of each reported quantile is within the sketch's error of q.
                    let mut sorted: Vec<f64> = match &table.column(name).unwrap().values {
                        Values::Int(v) => v.iter().map(|&i| i as f64).collect(),
                        Values::Float(v) => v.iter().copied().filter(|x| x.is_finite()).collect(),
                        _ => continue,
                    };
                    sorted.sort_by(f64::total_cmp);
                    let eps = got.quantiles.normalized_rank_error(false);
                    let n = sorted.len() as f64;
                    for (q, value) in riskops_data::profile::QUANTILES.iter().zip(&qs) {
                        let below = sorted.partition_point(|&x| x < *value) as f64 / n;
                        let at_or_below = sorted.partition_point(|&x| x <= *value) as f64 / n;
                        assert!(
                            below - eps <= *q && *q <= at_or_below + eps,
                            "{at} q{q}: {value} has rank {below}..{at_or_below}"
                        );
                    }
                }
            }
        }
    }

    /// Two halves profiled apart and merged equal the whole: exactly for counts, min, max
    /// and distinct counts (exact mode), within 1e-9 for mean and std, within the rank error
    /// for quantiles.
    #[test]
    fn profiles_of_two_halves_merge_into_the_whole() {
        let path = root().join("tools/evidently/pairs/adult_sex.reference.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (header, body) = (lines[0], &lines[1..]);
        let dir = tempfile::tempdir().unwrap();
        let half = |rows: &[&str], name: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
            profile_csv(&p, None, &|_| {}).unwrap()
        };
        let mid = body.len() / 2;
        let mut merged: TableProfile = half(&body[..mid], "a.csv");
        merged.merge(&half(&body[mid..], "b.csv")).unwrap();
        let whole = profile_csv(&path, None, &|_| {}).unwrap();
        assert_eq!(merged.rows, whole.rows);
        for (m, w) in merged.columns.iter().zip(&whole.columns) {
            assert_eq!((m.dtype, m.count(), m.missing), (w.dtype, w.count(), w.missing), "{}", m.name);
            assert_eq!(m.distinct.estimate(), w.distinct.estimate(), "{}", m.name);
            assert_eq!(
                m.frequencies.iter().collect::<Vec<_>>(),
                w.frequencies.iter().collect::<Vec<_>>(),
                "{}",
                m.name
            );
            if w.moments.count() > 0 {
                assert_eq!((m.moments.min(), m.moments.max()), (w.moments.min(), w.moments.max()));
                assert!(rel_close(m.moments.mean().unwrap(), w.moments.mean().unwrap(), 1e-9));
                assert!(rel_close(m.moments.std(1).unwrap(), w.moments.std(1).unwrap(), 1e-9));
                let eps = m.quantiles.normalized_rank_error(false) + w.quantiles.normalized_rank_error(false);
                let d = riskops_stats::sketch::ks_statistic(&m.quantiles, &w.quantiles).unwrap();
                assert!(d <= eps, "{}: merged and whole CDFs differ by {d} > {eps}", m.name);
            }
        }
        // The stored document carries the merged statistics.
        let doc = merged.to_json();
        assert_eq!(doc["rows"], whole.rows);
    }

    /// A stored profile reads back into the same sketches (monitoring compares production
    /// windows with it), and a damaged document names the column at fault.
    #[test]
    fn a_stored_profile_reads_back_into_the_same_sketches() {
        let path = root().join("tools/evidently/pairs/adult_sex.reference.csv");
        let profile = profile_csv(&path, None, &|_| {}).unwrap();
        let doc = profile.to_json();
        let back = TableProfile::from_json(&doc).unwrap();
        assert_eq!(back.to_json(), doc);
        let mut merged = back.clone();
        merged.merge(&back).unwrap();
        assert_eq!(merged.rows, 2 * profile.rows);
        let mut damaged = doc.clone();
        damaged["columns"][1]["sketches"]["quantiles"] = serde_json::json!("AAAA");
        let err = TableProfile::from_json(&damaged).unwrap_err();
        let name = doc["columns"][1]["name"].as_str().unwrap();
        assert!(err.contains(name) && err.contains("quantiles"), "{err}");
    }

    #[test]
    fn a_column_that_turns_to_text_is_profiled_as_text_throughout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixed.csv");
        std::fs::write(&path, "code,n\n1,1\n2,2\nA7,3\n1,4\n").unwrap();
        let p = profile_csv(&path, None, &|_| {}).unwrap();
        let code = &p.columns[0];
        assert_eq!(code.dtype.name(), "object");
        let freq: Vec<(&str, u64)> = code.frequencies.iter().collect();
        assert_eq!(freq, [("1", 2), ("2", 1), ("A7", 1)]);
        assert_eq!(p.columns[1].dtype.name(), "int64");
    }
}
