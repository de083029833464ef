//! Exact verdicts: a closed window's drift is computed from its raw records and equals
//! riskops-drift's `detect_drift` (what `riskops drift` runs) on the same rows; an open
//! window's comes from sketches and says so; a day rolled up from hours is exact on the
//! day's rows; after the segments expire the last exact result is kept and says so.

use super::*;
use riskops_data::{CsvOptions, Table, read_csv};
use riskops_drift::{DriftOptions, DriftReport, detect_drift};

/// Hour of the test clock's start (2026-10-01T00:00:00Z).
pub(super) const T0: i64 = 1_790_812_800;

/// A skewed amount (like PAY_AMT5) and a grade, from a fixed sequence, as decimal text so the
/// CSV and the JSON records hold the same numbers.
pub(super) fn row(i: usize, scale: f64) -> (String, &'static str) {
    let u = ((i as u64).wrapping_mul(2_654_435_761) % 1_000_003) as f64 / 1_000_003.0;
    let v = ((i as u64).wrapping_mul(40_503) % 9_973) as f64 / 9_973.0;
    let amount = (4.0 * u).exp() * 100.0 * scale + 50.0 * v;
    (format!("{amount:.2}"), ["a", "b", "c", "b"][i % 4])
}

pub(super) fn reference_csv(rows: usize) -> Vec<u8> {
    let mut out = String::from("pay,grade\n");
    for i in 0..rows {
        let (pay, grade) = row(i, 1.0);
        out.push_str(&format!("{pay},{grade}\n"));
    }
    out.into_bytes()
}

/// Window records `ids` at `timestamp(i)`, and the same rows as a CSV of their features.
fn window(ids: std::ops::Range<usize>, scale: f64, timestamp: impl Fn(usize) -> i64) -> (Vec<Value>, String) {
    let mut records = Vec::new();
    let mut csv = String::new();
    for i in ids {
        let (pay, grade) = row(i * 7 + 3, scale);
        let amount: f64 = pay.parse().unwrap();
        records.push(json!({
            "id": format!("w{i}"), "timestamp": timestamp(i), "version": "1",
            "features": {"pay": amount, "grade": grade}, "prediction": (i % 2) as u8,
        }));
        csv.push_str(&format!("{pay},{grade}\n"));
    }
    (records, csv)
}

pub(super) fn table(csv: &str) -> Table {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, csv).unwrap();
    read_csv(&path, &CsvOptions::default(), &|_| {}).unwrap()
}

/// What `riskops drift reference.csv window.csv` computes.
pub(super) fn expected(reference: &[u8], rows: &[&str]) -> DriftReport {
    let current = format!("pay,grade\n{}", rows.concat());
    let reference = table(std::str::from_utf8(reference).unwrap());
    detect_drift(reference, table(&current), &DriftOptions::default(), &|_, _| {}).unwrap()
}

impl TestServer {
    pub(super) async fn log(&self, model: &str, records: &[Value]) {
        for chunk in records.chunks(400) {
            let body: String = chunk.iter().map(|r| format!("{r}\n")).collect();
            let path = format!("/api/v1/projects/default/models/{model}/predictions");
            let req = self.http.post(self.url(&path)).bearer_auth(TOKEN).header("content-type", "application/x-ndjson");
            let (status, answer) = read(req.body(body).send().await.unwrap()).await;
            assert_eq!((status, answer["accepted"].as_u64()), (StatusCode::OK, Some(chunk.len() as u64)), "{answer}");
        }
    }

    pub(super) async fn windows(&self, model: &str, granularity: &str) -> Vec<Value> {
        let path = format!(
            "/api/v1/projects/default/models/{model}/monitoring?from={}&to={}{granularity}",
            T0 - 86_400,
            T0 + 86_400
        );
        let (status, body) = self.get(&path, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["windows"].as_array().unwrap().clone()
    }
}

fn feature<'a>(window: &'a Value, name: &str) -> &'a Value {
    window["drift"]["features"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap()
}

/// Every compared feature of `window` equals the exact report's: method, statistic and
/// p-value within 1e-9, verdict.
fn assert_exact(window: &Value, exact: &DriftReport) {
    assert_eq!(window["drift"]["exact"], true, "{window}");
    assert_eq!(window["drift"]["features"].as_array().unwrap().len(), exact.columns.len(), "{window}");
    for c in &exact.columns {
        let f = feature(window, &c.name);
        assert_eq!(f["method"], c.method.name(), "{f}");
        let close = |got: &Value, want: f64| (got.as_f64().unwrap() - want).abs() <= 1e-9;
        assert!(close(&f["statistic"], c.statistic), "{}: {} vs exact {}", c.name, f["statistic"], c.statistic);
        if let Some(p) = c.p_value {
            assert!(close(&f["p_value"], p), "{}: p {} vs exact {p}", c.name, f["p_value"]);
        }
        assert_eq!(f["drifted"], c.drifted, "{f}");
        assert_eq!((f["exact"].as_bool(), f["n_current"].as_u64()), (Some(true), Some(c.n_current as u64)), "{f}");
    }
    assert_eq!(window["drift"]["drifted"], exact.drifted, "{window}");
}

#[tokio::test]
async fn closed_windows_report_the_exact_drift_of_their_records_and_open_ones_say_they_are_approximate() {
    for (s, clock) in servers_clocked().await {
        // Wasserstein: a 5,000-row reference (its profile's sketch is not exact past 800).
        let reference = reference_csv(5_000);
        let (status, d) = s.upload("/api/v1/datasets/loans/versions", json!({}), reference.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/credit/versions", json!({"training_data": "loans@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let (status, c) = s
            .call("PUT", "/api/v1/projects/default/models/credit/monitor", TOKEN, Some(json!({"retention_days": 2})))
            .await;
        assert_eq!(status, StatusCode::OK, "{c}");

        // Three hours of the day: 500, 300 and 400 records; the first hour is now.
        let (h0, h0_csv) = window(0..500, 1.1, |i| T0 + (i as i64 * 7) % 3600);
        let (h1, h1_csv) = window(500..800, 1.0, |i| T0 + 3600 + i as i64);
        let (h2, h2_csv) = window(800..1200, 0.8, |i| T0 + 7200 + i as i64);
        for records in [&h0, &h1, &h2] {
            s.log("credit", records).await;
        }
        let exact_h0 = expected(&reference, &[&h0_csv]);

        // Open: from the sketches, marked, and here not what the records give.
        let open = s.windows("credit", "").await;
        assert_eq!(open.len(), 3, "{open:?}");
        assert_eq!(open[0]["drift"]["exact"], false, "{}", open[0]);
        assert!(open[0]["drift"]["note"].as_str().unwrap().contains("open"), "{}", open[0]);
        let sketched = feature(&open[0], "pay");
        assert_eq!(sketched["exact"], false, "{sketched}");
        assert!(sketched["approx_error"].as_f64().unwrap() > 0.0, "{sketched}");
        let pay = exact_h0.columns.iter().find(|c| c.name == "pay").unwrap();
        assert_eq!(pay.method.name(), "wasserstein");
        assert!(
            (sketched["statistic"].as_f64().unwrap() - pay.statistic).abs() > 1e-6,
            "the sketches must differ from the exact value for this test to mean anything: {sketched} vs {}",
            pay.statistic
        );

        // Closed (the hours have ended): exact, equal to riskops drift on the same rows.
        clock.advance(time::Duration::hours(3));
        let closed = s.windows("credit", "").await;
        assert_exact(&closed[0], &exact_h0);
        assert_exact(&closed[1], &expected(&reference, &[&h1_csv]));
        assert_exact(&closed[2], &expected(&reference, &[&h2_csv]));
        assert!(closed[0]["drift"]["computed_at"].is_string(), "{}", closed[0]);

        // The day is still open; once it has ended it is exact on all the day's rows.
        let day = s.windows("credit", "&granularity=day").await;
        assert_eq!((day.len(), day[0]["drift"]["exact"].as_bool()), (1, Some(false)), "{day:?}");
        clock.advance(time::Duration::hours(22));
        let day = s.windows("credit", "&granularity=day").await;
        let exact_day = expected(&reference, &[&h0_csv, &h1_csv, &h2_csv]);
        assert_eq!(day[0]["records"], 1200);
        assert_exact(&day[0], &exact_day);

        // Past the retention the segments go; the windows keep their exact results and say so.
        clock.advance(time::Duration::days(2));
        let mut left = usize::MAX;
        for _ in 0..100 {
            let (_, list) = s.get("/api/v1/projects/default/models/credit/segments", Some(TOKEN)).await;
            left = list["segments"].as_array().unwrap().len();
            if left == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(left, 0, "expired segments are dropped");
        let kept = s.windows("credit", "").await;
        assert_exact(&kept[0], &exact_h0);
        assert!(kept[0]["drift"]["note"].as_str().unwrap().contains("expired"), "{}", kept[0]);
        let day = s.windows("credit", "&granularity=day").await;
        assert_exact(&day[0], &exact_day);

        // KS: a 600-row reference and a window of 4,000 records (its sketch compacts).
        let small = reference_csv(600);
        let (status, d) = s.upload("/api/v1/datasets/small/versions", json!({}), small.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/scorer/versions", json!({"training_data": "small@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let now = T0 + 3 * 86_400 + 3600;
        let hour = now - now.rem_euclid(3600);
        let (big, big_csv) = window(2_000..6_000, 1.04, |i| hour + (i as i64 % 3000));
        s.log("scorer", &big).await;
        let path = format!("/api/v1/projects/default/models/scorer/monitoring?from={hour}&to={}", hour + 3600);
        let (_, open) = s.get(&path, Some(TOKEN)).await;
        assert_eq!(open["windows"][0]["drift"]["exact"], false, "{open}");
        clock.advance(time::Duration::hours(2));
        let (_, closed) = s.get(&path, Some(TOKEN)).await;
        let exact_ks = expected(&small, &[&big_csv]);
        assert_eq!(exact_ks.columns.iter().find(|c| c.name == "pay").unwrap().method.name(), "ks");
        assert_exact(&closed["windows"][0], &exact_ks);
        s.stop().await;
    }
}
