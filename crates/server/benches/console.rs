//! The console's page times at portfolio scale: 200 models with a year of hourly windows
//! each (1.75 million windows), incidents, promotions and risk entries; every page's server
//! time over several requests against the targets (portfolio < 500 ms, every other page
//! < 300 ms). `cargo bench -p riskops-server --bench console`; smaller with
//! `RISKOPS_BENCH_MODELS` and `RISKOPS_BENCH_DAYS`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "console/seed.rs"]
mod seed;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it as a test: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let scale = seed::Scale {
        models: env_or("RISKOPS_BENCH_MODELS", 200),
        days: env_or("RISKOPS_BENCH_DAYS", 365) as i64,
        incident_models: 12,
        requests: env_or("RISKOPS_BENCH_REQUESTS", 10),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let seeded = seed::seed(scale).await;
        println!(
            "seeded {} models, {} hourly windows, in {:.0} s",
            scale.models,
            seeded.windows,
            seeded.seed_time.as_secs_f64()
        );
        let timings = seed::time_pages(&seeded, scale).await;
        print!("{}", seed::table(&timings));
        let _ = seeded.stop.send(());
        seeded.running.finished().await.unwrap();
    });
}
