//! A window's performance estimated without labels (CBPE) and its reconstruction error, as
//! `riskops monitor show` prints them: a cell each in the windows' table, and lines in the
//! newest window's detail, realized values beside the estimates once labels exist.

use riskops_api::window::{EstimatedMetric, WindowEstimated, WindowMultivariate, WindowReport};

/// The estimated ROC AUC, `!` when it alerts; `-` when there is none.
pub(super) fn auc_cell(w: &WindowReport) -> String {
    match &w.estimated {
        Some(WindowEstimated::Computed(e)) => value_cell(e.roc_auc.value, e.roc_auc.alert),
        _ => "-".into(),
    }
}

/// The reconstruction error, `!` when it alerts; `-` when there is none.
pub(super) fn reconstruction_cell(w: &WindowReport) -> String {
    match &w.multivariate {
        Some(WindowMultivariate::Computed(m)) => value_cell(m.reconstruction_error.value, m.reconstruction_error.alert),
        _ => "-".into(),
    }
}

fn value_cell(x: Option<f64>, alert: bool) -> String {
    x.map_or("-".into(), |x| format!("{x:.3}{}", if alert { "!" } else { "" }))
}

/// The detail lines of both sections.
pub(super) fn detail_lines(w: &WindowReport) -> Vec<String> {
    let mut out = Vec::new();
    match &w.estimated {
        None => out.push("  estimated    - (an older server)".to_string()),
        Some(WindowEstimated::Skipped { skipped }) => out.push(format!("  estimated    - ({skipped})")),
        Some(WindowEstimated::Computed(e)) => {
            out.push(format!(
                "  estimated    CBPE from {} records (thresholds from reference chunks of {} rows{})",
                e.records,
                e.chunk_size,
                if e.calibrated { ", scores calibrated" } else { "" }
            ));
            let metrics = [
                ("roc_auc", &e.roc_auc),
                ("f1", &e.f1),
                ("precision", &e.precision),
                ("recall", &e.recall),
                ("accuracy", &e.accuracy),
            ];
            for (name, m) in metrics {
                out.push(format!("               {name} {}", metric_text(m)));
            }
        }
    }
    match &w.multivariate {
        None => out.push("  multivariate - (an older server)".to_string()),
        Some(WindowMultivariate::Skipped { skipped }) => out.push(format!("  multivariate - ({skipped})")),
        Some(WindowMultivariate::Computed(m)) => {
            let r = &m.reconstruction_error;
            out.push(format!(
                "  multivariate reconstruction error {} (thresholds {} to {}){}",
                fixed(r.value),
                fixed(r.lower_threshold),
                fixed(r.upper_threshold),
                if r.alert { " ALERT" } else { "" }
            ));
        }
    }
    out
}

fn metric_text(m: &EstimatedMetric) -> String {
    let realized = m.realized.map_or(String::new(), |x| format!(", realized {x:.3}"));
    format!(
        "{} [{}, {}] (thresholds {} to {}{realized}){}",
        fixed(m.value),
        fixed(m.lower),
        fixed(m.upper),
        fixed(m.lower_threshold),
        fixed(m.upper_threshold),
        if m.alert { " ALERT" } else { "" }
    )
}

fn fixed(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |x| format!("{x:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_show_bands_thresholds_alerts_and_realized_values() {
        let m = EstimatedMetric {
            value: Some(0.71),
            sampling_error: Some(0.01),
            lower: Some(0.68),
            upper: Some(0.74),
            lower_threshold: Some(0.75),
            upper_threshold: Some(0.9),
            alert: true,
            realized: Some(0.7),
        };
        assert_eq!(metric_text(&m), "0.710 [0.680, 0.740] (thresholds 0.750 to 0.900, realized 0.700) ALERT");
        let quiet = EstimatedMetric { alert: false, realized: None, lower_threshold: None, ..m };
        assert_eq!(metric_text(&quiet), "0.710 [0.680, 0.740] (thresholds - to 0.900)");
        assert_eq!(value_cell(Some(0.71), true), "0.710!");
    }
}
