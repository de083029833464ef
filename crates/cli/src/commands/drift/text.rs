//! The readable form: a verdict line, then a table with the drifted columns first.

use super::{fmt_num, verdict};
use riskops_drift::DriftReport;
use std::fmt::Write;

pub fn render(report: &DriftReport) -> String {
    let mut out = String::new();
    let headline = if report.drifted { "DATASET DRIFT" } else { "no dataset drift" };
    let _ = writeln!(out, "{headline}: {}", verdict(report));
    let _ = writeln!(out, "reference {} rows, current {} rows\n", report.n_reference, report.n_current);
    let mut columns: Vec<_> = report.columns.iter().collect();
    columns.sort_by_key(|c| !c.drifted);
    let rows: Vec<[String; 7]> = columns
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.column_type.name().to_string(),
                c.method.name().to_string(),
                fmt_num(c.statistic),
                c.p_value.map(fmt_num).unwrap_or_else(|| "–".into()),
                fmt_num(c.threshold),
                if c.drifted { "DRIFT".into() } else { "ok".into() },
            ]
        })
        .collect();
    let headers = ["COLUMN", "TYPE", "METHOD", "STATISTIC", "P-VALUE", "THRESHOLD", "VERDICT"];
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(&headers.map(String::from));
    for row in &rows {
        line(row);
    }
    for s in &report.skipped {
        let _ = writeln!(out, "skipped {}: {}", s.name, s.reason);
    }
    out
}
