//! The console bench's seeding and timing code at a tiny scale, so it keeps working: no
//! timing is asserted here (`cargo bench -p riskops-server --bench console` measures).

use super::console_seed::{self, Scale};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_bench_seeds_windows_and_times_every_page() {
    let scale = Scale { models: 3, days: 2, incident_models: 1, requests: 2 };
    let seeded = console_seed::seed(scale).await;
    assert_eq!(seeded.windows, 3 * 48 - 3, "two days of hourly windows per model, the last hours of one from traffic");
    let timings = console_seed::time_pages(&seeded, scale).await;
    let pages: Vec<&str> = timings.iter().map(|t| t.path.as_str()).collect();
    assert_eq!(pages.len(), console_seed::pages(scale).len(), "{pages:?}");
    assert!(timings.iter().all(|t| t.median_ms > 0.0 && t.bytes > 0));
    let table = console_seed::table(&timings);
    assert!(table.contains("portfolio") && table.contains("audit"), "{table}");

    // The seeded windows are on the model page: one point per window of the last 24 hours
    // (23 closed ones start in it, 24 when the clock is on the hour).
    let http = super::http().build().unwrap();
    let page = http
        .get(format!("{}/projects/p00/models/m001?days=1", seeded.base))
        .header("cookie", "riskops_session=0.bench-admin-token-0123456789")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-windows=\"23\"") || page.contains("data-windows=\"24\""), "{page}");
    // Longer ranges are daily means of the stored chart values, and say so.
    let month = http
        .get(format!("{}/projects/p00/models/m001?days=30", seeded.base))
        .header("cookie", "riskops_session=0.bench-admin-token-0123456789")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(month.contains("Daily means") && month.contains("Monitoring: 48 window(s)"), "{month}");
    let days = ["data-windows=\"2\"", "data-windows=\"3\""];
    assert!(days.iter().any(|d| month.contains(d)), "two days of windows span two or three dates: {month}");
    let incidents = http
        .get(format!("{}/incidents", seeded.base))
        .header("cookie", "riskops_session=0.bench-admin-token-0123456789")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(incidents.contains("m000"), "the drifted hour opened an incident: {incidents}");
    // The monitors' evaluation stored the chart values of the windows it judged: the
    // drifted traffic's hours of m000 (which opened the incident) have theirs.
    let store = riskops_store::open(None, seeded.dir.path()).await.unwrap();
    let hour = riskops_core::clock::Clock::now(&riskops_core::clock::SystemClock).unix_timestamp() / 3600 * 3600;
    // (A range of five hours: the test may run across the top of an hour.)
    let rows = store.series("m000", hour - 5 * 3600, hour).await.unwrap();
    let judged = rows.iter().filter(|r| r.point.as_deref().is_some_and(|p| p.contains("\"drift_share\""))).count();
    assert!(judged >= 3, "{rows:?}");
    let _ = seeded.stop.send(());
    seeded.running.finished().await.unwrap();
}
