//! The rows' SHAP values of a filed explanation as a Parquet table, for pandas, DuckDB or
//! Spark: `row` (the row's position in the dataset), `output` (what the row's values add up
//! to with the base value) and one column per feature. Derived from the evidence's verified
//! JSON report on each request, so the table is exactly what was filed.

use riskops_api::explain::ExplanationReport;
use riskops_core::{Error, Result};
use riskops_parquet::{ColumnValues, write_columns};

/// The report's rows as Parquet (zstd), with the method, output space, base value, model and
/// data in the footer's key-value metadata.
pub(crate) fn attributions_parquet(report: &ExplanationReport) -> Result<Vec<u8>> {
    let rows = &report.rows;
    let mut columns: Vec<(String, ColumnValues<'_>)> = vec![
        ("row".into(), ColumnValues::Int64(rows.iter().map(|r| i64::try_from(r.row).ok()).collect())),
        ("output".into(), ColumnValues::Float64(rows.iter().map(|r| Some(r.output)).collect())),
    ];
    for (f, feature) in report.features.iter().enumerate() {
        // A feature called `row` or `output` keeps its values under a name that says so.
        let name = if feature == "row" || feature == "output" { format!("{feature} (shap)") } else { feature.clone() };
        let values = rows.iter().map(|r| r.contributions.get(f).copied()).collect();
        columns.push((name, ColumnValues::Float64(values)));
    }
    let metadata = [
        ("riskops.method", report.method.clone()),
        ("riskops.output", report.output.clone()),
        ("riskops.base_value", report.base_value.to_string()),
        ("riskops.model", report.model.clone()),
        ("riskops.data", report.data.clone()),
    ];
    let mut out = Vec::new();
    write_columns(&mut out, columns, &metadata)
        .map_err(|e| Error::internal(format!("writing the attributions: {e}")))?;
    Ok(out)
}
