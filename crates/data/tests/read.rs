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
