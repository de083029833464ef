//! The window's attributions against the reference's: mean |SHAP| per feature over the
//! window's explanation sample, each feature's share of the total, and how that share moved
//! from the share on the version's validation (reference) data.
//!
//! Shares, not raw mean |SHAP|, are what monitors compare: they sum to 1 whatever the scale of
//! the model's output and however the traffic's mix moves the total, so "the model now relies
//! on PAY_0 for 60% of its decisions instead of 30%" reads the same on every model.

/// One feature's attribution in the window and in the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureAttribution {
    pub feature: String,
    /// Mean |SHAP| over the window's sample, in the model's margin space.
    pub mean_abs_shap: f64,
    /// `mean_abs_shap` over the sum of every feature's (0 when that sum is 0).
    pub share: f64,
    pub reference_mean_abs_shap: f64,
    pub reference_share: f64,
    /// `share − reference_share`: positive when the model leans on the feature more.
    pub change: f64,
}

/// The `explain` section of a window report.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Records of the window explained (its sample).
    pub sampled: u64,
    /// Rows of the reference explained.
    pub reference_rows: u64,
    /// How the values were computed (method, background), for people.
    pub method: String,
    /// The space SHAP values are in: `log_odds`, `probability` or `raw`.
    pub output_space: String,
    /// Largest window share first.
    pub features: Vec<FeatureAttribution>,
    /// Total variation between the two share distributions, ½ Σ |change| in [0, 1]: how much
    /// of the model's reliance moved between features, whichever they are.
    pub shift: f64,
    /// Of the logged outputs' distance from the base value, the share the model's
    /// attributions of the logged features do not account for, in [0, 1] (0 on the
    /// reference, whose outputs are the model's): rises when the traffic's outputs stop
    /// following from its features as the model maps them. `None` without logged outputs.
    /// Computed by the caller, which runs the model.
    pub unexplained: Option<f64>,
}

impl Explanation {
    /// The section from mean |SHAP| per feature in the window and in the reference. A
    /// feature only one side has counts as 0 on the other.
    pub fn from_means(
        window: &[(String, f64)],
        reference: &[(String, f64)],
        sampled: u64,
        reference_rows: u64,
        method: String,
        output_space: String,
    ) -> Explanation {
        let window_shares = shares(window);
        let reference_shares = shares(reference);
        let mut names: Vec<&String> = window.iter().map(|(n, _)| n).collect();
        names.extend(reference.iter().map(|(n, _)| n).filter(|n| !window.iter().any(|(w, _)| w == *n)));
        let find = |list: &[(String, f64)], name: &str| list.iter().find(|(n, _)| n == name).map_or(0.0, |(_, x)| *x);
        let mut features: Vec<FeatureAttribution> = names
            .into_iter()
            .map(|name| {
                let share = find(&window_shares, name);
                let reference_share = find(&reference_shares, name);
                FeatureAttribution {
                    feature: name.clone(),
                    mean_abs_shap: find(window, name),
                    share,
                    reference_mean_abs_shap: find(reference, name),
                    reference_share,
                    change: share - reference_share,
                }
            })
            .collect();
        features.sort_by(|a, b| b.share.total_cmp(&a.share).then_with(|| a.feature.cmp(&b.feature)));
        let shift = 0.5 * features.iter().map(|f| f.change.abs()).sum::<f64>();
        Explanation { sampled, reference_rows, method, output_space, features, shift, unexplained: None }
    }
}

/// Each value over their sum; all 0 when the sum is 0 (a model whose output never moves
/// relies on nothing). Non-finite values count as 0.
fn shares(values: &[(String, f64)]) -> Vec<(String, f64)> {
    let clean = |x: f64| if x.is_finite() { x.abs() } else { 0.0 };
    let total: f64 = values.iter().map(|(_, x)| clean(*x)).sum();
    values.iter().map(|(n, x)| (n.clone(), if total > 0.0 { clean(*x) / total } else { 0.0 })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(values: &[(&str, f64)]) -> Vec<(String, f64)> {
        values.iter().map(|(n, x)| (n.to_string(), *x)).collect()
    }

    #[test]
    fn shares_sum_to_one_and_changes_are_share_differences() {
        let reference = named(&[("a", 0.6), ("b", 0.3), ("c", 0.1)]);
        // The window's output scale doubled and `a` lost its grip to `b`.
        let window = named(&[("a", 0.2), ("b", 1.4), ("c", 0.4)]);
        let e = Explanation::from_means(&window, &reference, 50, 400, "m".into(), "log_odds".into());
        let by = |n: &str| e.features.iter().find(|f| f.feature == n).unwrap().clone();
        let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
        assert!(close(e.features.iter().map(|f| f.share).sum(), 1.0));
        assert!(close(by("a").share, 0.1) && close(by("a").reference_share, 0.6) && close(by("a").change, -0.5));
        assert!(close(by("b").share, 0.7) && close(by("b").change, 0.4));
        assert!(close(by("c").share, 0.2) && close(by("c").change, 0.1));
        assert!(close(e.shift, 0.5));
        assert_eq!(e.features[0].feature, "b", "largest window share first");
        assert!(close(by("b").mean_abs_shap, 1.4) && close(by("b").reference_mean_abs_shap, 0.3));
    }

    #[test]
    fn the_same_reliance_at_another_scale_does_not_move() {
        let reference = named(&[("a", 0.5), ("b", 0.25)]);
        let window = named(&[("a", 5.0), ("b", 2.5)]);
        let e = Explanation::from_means(&window, &reference, 10, 10, String::new(), String::new());
        assert!(e.features.iter().all(|f| f.change.abs() < 1e-12));
        assert!(e.shift.abs() < 1e-12);
    }

    #[test]
    fn a_model_that_relies_on_nothing_has_zero_shares_and_a_missing_feature_counts_as_zero() {
        let e = Explanation::from_means(
            &named(&[("a", 0.0)]),
            &named(&[("a", 1.0), ("b", 1.0)]),
            3,
            3,
            String::new(),
            String::new(),
        );
        let b = e.features.iter().find(|f| f.feature == "b").unwrap();
        assert_eq!((b.share, b.reference_share, b.change), (0.0, 0.5, -0.5));
        assert_eq!(e.features.iter().map(|f| f.share).sum::<f64>(), 0.0);
        assert!((e.shift - 0.5).abs() < 1e-12);
    }
}
