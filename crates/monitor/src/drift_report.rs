//! A window's drift as riskops-drift's [`DriftReport`], with a chart per feature drawn from
//! the sketches on both sides, so the window can be shown as `riskops drift --format html`
//! shows two files (riskops-drift's `html` module).

use crate::drift::{FeatureDrift, column_drift};
use crate::window::{ColumnState, WindowState};
use riskops_data::profile::{ColumnProfile, Dtype, TableProfile};
use riskops_drift::{ColumnDrift, ColumnType, DriftReport, Plot, Skipped};
use riskops_stats::QuantileSketch;

/// Equal-width bins of a numeric feature's histogram.
const BINS: usize = 20;
/// Categories drawn; the rest are summed as "other".
const TOP_CATEGORIES: usize = 12;

/// The window's drift per feature against the reference profile; the dataset drifts when at
/// least `drift_share` of the compared features do.
pub fn drift_report(state: &WindowState, reference: &TableProfile, drift_share: f64) -> DriftReport {
    drift_of_columns(&state.features, state.records, reference, drift_share).0
}

/// Drift between two profiles (a dataset's and another's, or the merged profiles of a Spark
/// job's partitions), computed from their sketches as a window's is: the current profile's
/// columns are taken as a window's. Beside the report, each compared column's
/// [`FeatureDrift`], which says whether its statistic is exact and, if not, the bound on its
/// error (`approx_error`) and whether the verdict is near the threshold.
pub fn profile_drift(reference: &TableProfile, current: &TableProfile, drift_share: f64) -> ProfileDrift {
    let columns: Vec<ColumnState> = current.columns.iter().map(ColumnState::from_profile).collect();
    let (report, features) = drift_of_columns(&columns, current.rows, reference, drift_share);
    ProfileDrift { report, features }
}

/// [`profile_drift`]'s answer.
#[derive(Debug, Clone)]
pub struct ProfileDrift {
    pub report: DriftReport,
    /// The compared columns, in the report's order, with their exactness and error bounds.
    pub features: Vec<FeatureDrift>,
}

fn drift_of_columns(
    features: &[ColumnState],
    records: u64,
    reference: &TableProfile,
    drift_share: f64,
) -> (DriftReport, Vec<FeatureDrift>) {
    let mut columns = Vec::new();
    let mut compared = Vec::new();
    let mut skipped = Vec::new();
    for current in features {
        let Some(profile) = reference.columns.iter().find(|c| c.name == current.name) else {
            skipped.push(Skipped { name: current.name.clone(), reason: "not in the reference profile".into() });
            continue;
        };
        match column_drift(profile, current) {
            Err(reason) => skipped.push(Skipped { name: current.name.clone(), reason }),
            Ok(d) => {
                compared.push(d.clone());
                let (n_values, plot) = match d.column_type {
                    ColumnType::Numerical => (profile.distinct.estimate() as usize, histogram(profile, current)),
                    ColumnType::Categorical => bars(profile, current),
                };
                columns.push(ColumnDrift {
                    name: d.name,
                    column_type: d.column_type,
                    method: d.method,
                    statistic: d.statistic,
                    p_value: d.p_value,
                    threshold: d.threshold,
                    drifted: d.drifted,
                    n_reference: d.n_reference as usize,
                    n_current: d.n_current as usize,
                    n_values,
                    plot,
                });
            }
        }
    }
    let n_drifted = columns.iter().filter(|c| c.drifted).count();
    let share = if columns.is_empty() { 0.0 } else { n_drifted as f64 / columns.len() as f64 };
    let report = DriftReport {
        n_reference: reference.rows as usize,
        n_current: records as usize,
        drifted: !columns.is_empty() && share >= drift_share,
        columns,
        skipped,
        n_drifted,
        drift_share: share,
        drift_share_threshold: drift_share,
    };
    (report, compared)
}

/// Shares of both sketches over equal-width bins spanning both samples.
fn histogram(reference: &ColumnProfile, current: &ColumnState) -> Plot {
    let (a, b) = (&reference.quantiles, &current.quantiles);
    let lo = a.min().into_iter().chain(b.min()).fold(f64::INFINITY, f64::min);
    let hi = a.max().into_iter().chain(b.max()).fold(f64::NEG_INFINITY, f64::max);
    let bins = if hi > lo { BINS } else { 1 };
    let width = if hi > lo { (hi - lo) / bins as f64 } else { 1.0 };
    let mut edges: Vec<f64> = (0..=bins).map(|i| lo + i as f64 * width).collect();
    edges[bins] = if hi > lo { hi } else { lo + 1.0 };
    Plot::Histogram { reference: shares(a, &edges), current: shares(b, &edges), edges }
}

/// The share of the sketch in each bin `[edges[i], edges[i+1])`, the last bin closed.
fn shares(sketch: &QuantileSketch, edges: &[f64]) -> Vec<f64> {
    let bins = edges.len() - 1;
    // Below each inner edge: rank of the largest value under it (values are "≤ split").
    let inner: Vec<f64> = edges[1..bins].iter().map(|e| e.next_down()).collect();
    let mut cumulative = sketch.cdf(&inner).unwrap_or_else(|_| vec![0.0; inner.len()]);
    cumulative.insert(0, 0.0);
    cumulative.push(if sketch.count() > 0 { 1.0 } else { 0.0 });
    cumulative.windows(2).map(|w| (w[1] - w[0]).max(0.0)).collect()
}

/// Shares per category, the most frequent over both sides first, the rest as "other".
fn bars(reference: &ColumnProfile, current: &ColumnState) -> (usize, Plot) {
    let (rf, cf) = (&reference.frequencies, &current.frequencies);
    let (r_total, c_total) = (rf.total().max(1) as f64, cf.total().max(1) as f64);
    let mut keys: Vec<&str> = rf.iter().chain(cf.iter()).map(|p| p.0).collect();
    keys.sort_unstable();
    keys.dedup();
    let n_values = keys.len();
    let weight = |k: &str| rf.get(k) as f64 / r_total + cf.get(k) as f64 / c_total;
    keys.sort_by(|a, b| weight(b).total_cmp(&weight(a)).then_with(|| a.cmp(b)));
    let (shown, rest) = keys.split_at(keys.len().min(TOP_CATEGORIES));
    let mut shown: Vec<&str> = shown.to_vec();
    if reference.dtype == Dtype::Int64 {
        shown.sort_by(|a, b| number(a).total_cmp(&number(b)).then_with(|| a.cmp(b)));
    }
    let pooled = |total: f64, of: &dyn Fn(&str) -> u64, other: u64| {
        (rest.iter().map(|k| of(k)).sum::<u64>() + other) as f64 / total
    };
    let other_r = pooled(r_total, &|k| rf.get(k), rf.other());
    let other_c = pooled(c_total, &|k| cf.get(k), cf.other());
    let plot = Plot::Bars {
        labels: shown.iter().map(|k| k.to_string()).collect(),
        reference: shown.iter().map(|k| rf.get(k) as f64 / r_total).collect(),
        current: shown.iter().map(|k| cf.get(k) as f64 / c_total).collect(),
        other: (other_r > 0.0 || other_c > 0.0).then_some((other_r, other_c)),
    };
    (n_values, plot)
}

fn number(s: &str) -> f64 {
    s.parse::<f64>().unwrap_or(f64::INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_shares_sum_to_one_and_show_a_shift() {
        let mut a = QuantileSketch::new();
        let mut b = QuantileSketch::new();
        for i in 0..1000 {
            a.add(f64::from(i % 100));
            b.add(f64::from(i % 100) + 50.0);
        }
        let edges: Vec<f64> = (0..=15).map(|i| f64::from(i) * 10.0).collect();
        let (ra, rb) = (shares(&a, &edges), shares(&b, &edges));
        assert!((ra.iter().sum::<f64>() - 1.0).abs() < 1e-9 && (rb.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!((ra[0] - 0.1).abs() < 1e-9, "{ra:?}");
        assert_eq!(rb[0], 0.0, "{rb:?}");
        assert!((rb[14] - 0.1).abs() < 1e-9, "the shifted sample fills the top bins: {rb:?}");
    }
}
