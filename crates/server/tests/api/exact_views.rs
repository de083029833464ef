//! Exact everywhere a closed window is shown: its prediction drift (against the version's
//! first window) and its console drift page equal riskops-drift's `detect_drift` on the same
//! rows; while the window is open both come from sketches and say so.

use super::console::{page, sign_in};
use super::exact::{T0, expected, reference_csv, row, table};
use super::*;
use riskops_core::drift_html::fmt_num;
use riskops_drift::{ColumnDrift, DriftOptions, DriftReport, detect_drift};

/// A model's output for record `i`, skewed by `power`, as decimal text (the CSV and the JSON
/// records hold the same number).
fn output(i: usize, power: f64) -> String {
    let u = ((i as u64).wrapping_mul(2_246_822_519) % 1_000_003) as f64 / 1_000_003.0;
    format!("{:.4}", u.powf(power))
}

/// Records `ids` in the hour starting at `hour`; the features as a CSV and the predictions
/// as a CSV.
fn hour_of(ids: std::ops::Range<usize>, hour: i64, power: f64) -> (Vec<Value>, String, String) {
    let (mut records, mut features, mut predictions) = (Vec::new(), String::new(), String::new());
    for i in ids {
        let (pay, grade) = row(i * 7 + 3, 1.0 + power / 10.0);
        let prediction = output(i, power);
        records.push(json!({
            "id": format!("p{i}"), "timestamp": hour + (i as i64 * 13) % 3600, "version": "1",
            "features": {"pay": pay.parse::<f64>().unwrap(), "grade": grade},
            "prediction": prediction.parse::<f64>().unwrap(),
        }));
        features.push_str(&format!("{pay},{grade}\n"));
        predictions.push_str(&format!("{prediction}\n"));
    }
    (records, features, predictions)
}

/// What `riskops drift first.csv window.csv` says of two files of predictions.
fn prediction_expected(first: &str, window: &str) -> ColumnDrift {
    let (reference, current) = (table(&format!("prediction\n{first}")), table(&format!("prediction\n{window}")));
    let report = detect_drift(reference, current, &DriftOptions::default(), &|_, _| {}).unwrap();
    report.columns.into_iter().next().unwrap()
}

/// The console's overview row of a column: type, method, statistic, p-value, threshold.
fn overview_row(html: &str, name: &str) -> String {
    let at = html.find(&format!("<tr><td><a href=\"#col-{name}\">")).unwrap_or_else(|| panic!("no row {name}: {html}"));
    html[at..].split("</tr>").next().unwrap().to_string()
}

fn expected_row(c: &ColumnDrift) -> String {
    let p = c.p_value.map(fmt_num).unwrap_or_else(|| "–".into());
    format!(
        "<td>{}</td><td>{}</td><td>{}</td><td>{p}</td><td>{}</td>",
        c.column_type.name(),
        c.method.name(),
        fmt_num(c.statistic),
        fmt_num(c.threshold)
    )
}

/// The page shows each of the exact report's columns with its statistics and verdict, and
/// the exact dataset verdict.
fn assert_page_exact(html: &str, exact: &DriftReport) {
    assert!(html.contains("data-exact=\"true\"") && html.contains("Exact: statistics"), "{html}");
    for c in &exact.columns {
        let shown = overview_row(html, &c.name);
        assert!(shown.contains(&expected_row(c)), "{}: {shown} vs exact {}", c.name, expected_row(c));
        let verdict = if c.drifted { "drift" } else { "no drift" };
        assert!(shown.contains(&format!(">{verdict}</span>")), "{}: {shown}", c.name);
    }
    let headline = if exact.drifted { "Dataset drift detected" } else { "No dataset drift" };
    assert!(html.contains(headline), "{html}");
}

#[tokio::test]
async fn closed_windows_prediction_drift_and_console_page_are_exact() {
    for (s, clock) in servers_clocked().await {
        let reference = reference_csv(5_000);
        let (status, d) = s.upload("/api/v1/datasets/loans/versions", json!({}), reference.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/credit/versions", json!({"training_data": "loans@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let config = json!({"task": "regression", "retention_days": 30});
        let (status, c) = s.call("PUT", "/api/v1/projects/default/models/credit/monitor", TOKEN, Some(config)).await;
        assert_eq!(status, StatusCode::OK, "{c}");

        // The first hour is the predictions' baseline; the second's outputs are skewed.
        // The second is past its sketch's exact size (it compacts), so the distance is estimated.
        let (h0, _, h0_predictions) = hour_of(0..1_200, T0, 1.0);
        let (h1, h1_features, h1_predictions) = hour_of(1_200..5_200, T0 + 3600, 1.15);
        s.log("credit", &h0).await;
        s.log("credit", &h1).await;
        let exact_prediction = prediction_expected(&h0_predictions, &h1_predictions);
        let exact_features = expected(&reference, &[&h1_features]);
        let (cookie, _) = sign_in(&s, &[("token", TOKEN)]).await;
        let href = format!("/projects/default/models/credit/windows/{}/drift?version=1", T0 + 3600);

        // Open: from sketches, marked, and the page says so.
        let open = s.windows("credit", "").await;
        assert_eq!(open.len(), 2, "{open:?}");
        let sketched = &open[1]["prediction_drift"];
        assert_eq!((sketched["method"].as_str(), sketched["exact"].as_bool()), (Some("wasserstein"), Some(false)));
        assert!(
            (sketched["statistic"].as_f64().unwrap() - exact_prediction.statistic).abs() > 1e-6,
            "the sketches must differ from the exact value for this test to mean anything: {sketched} vs {}",
            exact_prediction.statistic
        );
        let (status, _, html) = page(&s, &href, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("data-exact=\"false\"") && html.contains("the window is open"), "{html}");
        let pay = exact_features.columns.iter().find(|c| c.name == "pay").unwrap();
        assert!(!overview_row(&html, "pay").contains(&expected_row(pay)), "sketched page shows the exact value?");

        // Closed: the prediction drift equals riskops drift on the two hours' predictions.
        clock.advance(time::Duration::hours(3));
        for _ in 0..2 {
            // Computed, then read back from the stored result.
            let closed = s.windows("credit", "").await;
            assert!(closed[0]["prediction_drift"]["skipped"].as_str().unwrap().contains("first window"));
            let p = &closed[1]["prediction_drift"];
            assert_eq!(p["method"], exact_prediction.method.name(), "{p}");
            let statistic = p["statistic"].as_f64().unwrap();
            assert!(
                (statistic - exact_prediction.statistic).abs() <= 1e-9,
                "{statistic} vs {}",
                exact_prediction.statistic
            );
            assert_eq!((p["drifted"].as_bool(), p["exact"].as_bool()), (Some(exact_prediction.drifted), Some(true)));
            assert_eq!(
                (p["n_reference"].as_u64(), p["n_current"].as_u64()),
                (Some(exact_prediction.n_reference as u64), Some(exact_prediction.n_current as u64)),
                "{p}"
            );
        }

        // The console page of the closed window: the exact statistics and verdicts, said so.
        let (status, _, html) = page(&s, &href, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_page_exact(&html, &exact_features);
        assert_eq!(html.matches("<svg class=\"chart").count(), 2, "the charts stay: {html}");
        s.stop().await;
    }
}
