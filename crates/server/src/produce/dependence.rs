//! Dependence summaries: how a feature's SHAP values move with its values (the numbers behind
//! shap's dependence plot), small enough for a report. Few distinct values get a bin each;
//! more get ten bins at quantiles of the explained rows; text values a bin per category
//! (the most frequent twelve); missing values a bin of their own.

use riskops_api::explain::{Dependence, DependenceBin};
use riskops_model::{Column, ColumnValues};
use std::collections::HashMap;

/// Distinct numbers up to this many get one bin each.
const DISTINCT_BINS: usize = 12;
/// Otherwise, bins at these many quantiles.
const QUANTILE_BINS: usize = 10;
/// Categories shown (the most frequent).
const CATEGORY_BINS: usize = 12;

/// A feature's values in the explained rows.
pub(super) enum FeatureValues {
    /// NaN is missing.
    Numbers(Vec<f64>),
    Texts(Vec<Option<String>>),
}

impl FeatureValues {
    /// A model input column's values (none: an empty column).
    pub(super) fn of(column: Option<&Column>) -> FeatureValues {
        match column.map(|c| &c.values) {
            Some(ColumnValues::Float(v)) => FeatureValues::Numbers(v.clone()),
            Some(ColumnValues::Int(v)) => FeatureValues::Numbers(v.iter().map(|&x| x as f64).collect()),
            Some(ColumnValues::Bool(v)) => FeatureValues::Numbers(v.iter().map(|&b| f64::from(u8::from(b))).collect()),
            Some(ColumnValues::Str(v)) => FeatureValues::Texts(v.clone()),
            None => FeatureValues::Numbers(Vec::new()),
        }
    }
}

/// The feature's bins, in value order (numbers) or by frequency (text), missing last.
pub(super) fn summarise(feature: &str, values: &FeatureValues, shap: &[f64]) -> Dependence {
    let mut bins = match values {
        FeatureValues::Numbers(v) => numeric_bins(v, shap),
        FeatureValues::Texts(v) => category_bins(v, shap),
    };
    let missing: Vec<usize> = match values {
        FeatureValues::Numbers(v) => (0..v.len()).filter(|&i| v[i].is_nan()).collect(),
        FeatureValues::Texts(v) => (0..v.len()).filter(|&i| v[i].is_none()).collect(),
    };
    if !missing.is_empty() {
        bins.push(bin("missing".into(), &missing, None, shap));
    }
    Dependence { feature: feature.to_string(), bins }
}

fn numeric_bins(values: &[f64], shap: &[f64]) -> Vec<DependenceBin> {
    let mut present: Vec<usize> = (0..values.len().min(shap.len())).filter(|&i| !values[i].is_nan()).collect();
    present.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut distinct: Vec<f64> = present.iter().map(|&i| values[i]).collect();
    distinct.dedup();
    // Bin edges as positions in the sorted rows: at each distinct value, or at quantiles
    // moved to the end of their run of equal values so equal values share a bin.
    let mut ends: Vec<usize> = Vec::new();
    if distinct.len() <= DISTINCT_BINS {
        for (k, &i) in present.iter().enumerate() {
            if k + 1 == present.len() || values[present[k + 1]] != values[i] {
                ends.push(k + 1);
            }
        }
    } else {
        for q in 1..=QUANTILE_BINS {
            let mut end = (present.len() * q).div_ceil(QUANTILE_BINS);
            while end > 0 && end < present.len() && values[present[end]] == values[present[end - 1]] {
                end += 1;
            }
            if ends.last().is_none_or(|&last| end > last) {
                ends.push(end);
            }
        }
    }
    let mut start = 0;
    ends.into_iter()
        .map(|end| {
            let rows = &present[start..end];
            start = end;
            let (low, high) = (values[rows[0]], values[rows[rows.len() - 1]]);
            let label = if low == high { number(low) } else { format!("[{}, {}]", number(low), number(high)) };
            let mean_value = rows.iter().map(|&i| values[i]).sum::<f64>() / rows.len() as f64;
            bin(label, rows, Some(mean_value), shap)
        })
        .collect()
}

fn category_bins(values: &[Option<String>], shap: &[f64]) -> Vec<DependenceBin> {
    let mut by_category: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, v) in values.iter().enumerate().take(shap.len()) {
        if let Some(v) = v {
            by_category.entry(v.as_str()).or_default().push(i);
        }
    }
    let mut categories: Vec<(&str, Vec<usize>)> = by_category.into_iter().collect();
    categories.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    categories.truncate(CATEGORY_BINS);
    categories.into_iter().map(|(c, rows)| bin(c.to_string(), &rows, None, shap)).collect()
}

fn bin(label: String, rows: &[usize], mean_value: Option<f64>, shap: &[f64]) -> DependenceBin {
    let values = rows.iter().map(|&i| shap[i]);
    DependenceBin {
        label,
        rows: rows.len() as u64,
        mean_value,
        mean_shap: values.clone().sum::<f64>() / rows.len().max(1) as f64,
        min_shap: values.clone().fold(f64::INFINITY, f64::min),
        max_shap: values.fold(f64::NEG_INFINITY, f64::max),
    }
}

/// A value as a person reads it: integers without a fraction, others to four significant digits.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{:.4}", x) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_a_bin_each_with_their_mean_shap() {
        let values = FeatureValues::Numbers(vec![1.0, 0.0, 1.0, f64::NAN, 0.0]);
        let d = summarise("x", &values, &[0.5, -1.0, 0.7, 0.1, -0.8]);
        let labels: Vec<&str> = d.bins.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["0", "1", "missing"]);
        assert_eq!(d.bins.iter().map(|b| b.rows).collect::<Vec<_>>(), [2, 2, 1]);
        assert!((d.bins[0].mean_shap + 0.9).abs() < 1e-12 && (d.bins[1].mean_shap - 0.6).abs() < 1e-12);
        assert_eq!((d.bins[1].min_shap, d.bins[1].max_shap), (0.5, 0.7));
    }

    #[test]
    fn many_values_get_quantile_bins_that_never_split_equal_values() {
        let mut v: Vec<f64> = (0..100).map(f64::from).collect();
        v[10..30].fill(5.0);
        let shap: Vec<f64> = v.iter().map(|x| x / 10.0).collect();
        let d = summarise("x", &FeatureValues::Numbers(v.clone()), &shap);
        assert!(d.bins.len() <= QUANTILE_BINS && d.bins.len() > 3, "{:?}", d.bins);
        assert_eq!(d.bins.iter().map(|b| b.rows).sum::<u64>(), 100);
        let with_five = d.bins.iter().filter(|b| b.label.contains('5') && b.rows >= 20).count();
        assert!(with_five >= 1, "the twenty 5s share a bin: {:?}", d.bins);
        let means: Vec<f64> = d.bins.iter().map(|b| b.mean_shap).collect();
        assert!(means.windows(2).all(|w| w[0] <= w[1]), "in value order: {means:?}");
    }

    #[test]
    fn text_values_are_binned_by_category_most_frequent_first() {
        let v = vec![Some("b".to_string()), Some("a".into()), Some("b".into()), None];
        let d = summarise("c", &FeatureValues::Texts(v), &[1.0, 2.0, 3.0, 4.0]);
        let labels: Vec<(&str, u64)> = d.bins.iter().map(|b| (b.label.as_str(), b.rows)).collect();
        assert_eq!(labels, [("b", 2), ("a", 1), ("missing", 1)]);
        assert_eq!(d.bins[0].mean_shap, 2.0);
    }
}
