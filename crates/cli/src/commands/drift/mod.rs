//! `riskops drift REFERENCE CURRENT`: read both files, compare, print or write the result.

mod stream;
mod text;

use crate::cli::{DriftArgs, Format};
use crate::progress::Progress;
use anyhow::{Context, Result, anyhow, bail};
use riskops_core::drift_html as html;
use riskops_core::drift_json as json;
use riskops_data::{CsvOptions, Table, read_csv};
use riskops_drift::{DriftOptions, DriftReport, Method, detect_drift};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

pub fn run(args: DriftArgs, format: Format) -> Result<ExitCode> {
    if matches!(format, Format::Dot | Format::Openlineage | Format::Markdown | Format::Slack) {
        bail!("riskops drift prints --format text, json or html");
    }
    let options = options(&args)?;
    let csv = CsvOptions { delimiter: delimiter(args.delimiter.as_deref())?, columns: None };
    let budget = stream::memory_limit(args.memory_limit.as_deref())?;
    let (mut report, skipped) = match stream::plan(&args.reference, &args.current, &csv, &options, budget)? {
        Some(groups) => stream::detect(&args.reference, &args.current, &csv, &options, groups)?,
        None => in_memory(&args, &csv, &options)?,
    };
    // Parquet columns of types pandas cannot compare (timestamps, …) are said, not hidden.
    for (name, reason) in skipped {
        if !report.skipped.iter().any(|s| s.name == name) {
            report.skipped.push(riskops_drift::Skipped { name, reason });
        }
    }
    let names = (display(&args.reference), display(&args.current));
    let rendered = match format {
        Format::Text | Format::Dot | Format::Openlineage | Format::Markdown | Format::Slack => text::render(&report),
        Format::Json => json::render(&report),
        Format::Html => {
            let labels = html::Labels { reference: &names.0, current: &names.1, preface: "" };
            html::render(&report, labels, html::Stylesheet::Inline)
        }
    };
    match &args.output {
        Some(path) => write_atomically(path, rendered.as_bytes())?,
        None => print!("{rendered}"),
    }
    Ok(if report.drifted && args.fail_on_drift { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Both tables read whole, then compared.
fn in_memory(
    args: &DriftArgs,
    csv: &CsvOptions,
    options: &DriftOptions,
) -> Result<(DriftReport, Vec<(String, String)>)> {
    let ((reference, skipped_ref), (current, skipped_cur)) = read_both(&args.reference, &args.current, csv, true)?;
    if options.columns.is_none() {
        same_columns(&reference, &current, &args.reference, &args.current)?;
    }
    let columns = Progress::steps(reference.columns.len() as u64, "comparing");
    let report =
        detect_drift(reference, current, options, &|done, _| columns.set(done as u64)).map_err(|e| anyhow!("{e}"))?;
    columns.finish();
    Ok((report, skipped_ref.into_iter().chain(skipped_cur).collect()))
}

/// Every column must be in both files; says which are not, naming the files.
fn same_columns(reference: &Table, current: &Table, ref_path: &Path, cur_path: &Path) -> Result<()> {
    let only = |a: &Table, b: &Table| {
        a.names().filter(|n| b.column(n).is_none()).map(|n| format!("{n:?}")).collect::<Vec<_>>()
    };
    let (only_ref, only_cur) = (only(reference, current), only(current, reference));
    let mut problems = Vec::new();
    if !only_ref.is_empty() {
        problems.push(format!("{} in {} but not in {}", only_ref.join(", "), ref_path.display(), cur_path.display()));
    }
    if !only_cur.is_empty() {
        problems.push(format!("{} in {} but not in {}", only_cur.join(", "), cur_path.display(), ref_path.display()));
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!("the files have different columns: {} (compare the shared ones with --columns)", problems.join("; "))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// `--method`, `--numerical`, … into engine options, refusing unknown method names.
fn options(args: &DriftArgs) -> Result<DriftOptions> {
    let mut options = DriftOptions {
        threshold: args.threshold,
        drift_share: args.drift_share,
        numerical: args.numerical.clone(),
        categorical: args.categorical.clone(),
        columns: args.columns.clone(),
        ..DriftOptions::default()
    };
    for spec in &args.methods {
        let (column, name) = match spec.split_once('=') {
            Some((column, name)) => (Some(column), name),
            None => (None, spec.as_str()),
        };
        let method = Method::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
            anyhow!("unknown method {name:?}; known methods: {}", known.join(", "))
        })?;
        match column {
            Some(column) => {
                options.column_methods.insert(column.to_string(), method);
            }
            None => options.method = Some(method),
        }
    }
    Ok(options)
}

pub(crate) fn delimiter(text: Option<&str>) -> Result<Option<u8>> {
    match text {
        None => Ok(None),
        Some("\\t") | Some("tab") => Ok(Some(b'\t')),
        Some(t) if t.len() == 1 && t.is_ascii() => Ok(t.bytes().next()),
        Some(t) => bail!("--delimiter must be one ASCII character (or \\t), not {t:?}"),
    }
}

/// A table and the columns left out of it (Parquet types that are not compared).
pub(crate) type Read = (Table, Vec<(String, String)>);

/// CSV or Parquet, by the file's first bytes.
fn read_any(path: &Path, csv: &CsvOptions, progress: &dyn Fn(u64)) -> Result<Read> {
    if riskops_data::profile::is_profile_document(path) {
        bail!(
            "{} is a riskops profile (a dataset pushed as its sketches), not a table: compare profiles \
             with the Python package's riskops.drift_from_profiles",
            path.display()
        );
    }
    if riskops_parquet::is_parquet(path) {
        let read = riskops_parquet::read_parquet(path, csv.columns.as_deref(), progress)?;
        return Ok((read.table, read.skipped));
    }
    Ok((read_csv(path, csv, progress)?, Vec::new()))
}

/// Reads both files at once (one thread each), under one progress bar over their bytes when
/// `show` (a caller reading column groups counts columns instead).
pub(crate) fn read_both(reference: &Path, current: &Path, csv: &CsvOptions, show: bool) -> Result<(Read, Read)> {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).with_context(|| format!("cannot read {}", p.display()));
    let total = size(reference)? + size(current)?;
    let bar = if show { Progress::bytes(total, "reading") } else { Progress::hidden() };
    let done = [AtomicU64::new(0), AtomicU64::new(0)];
    let report = |side: usize, bytes: u64| {
        done[side].store(bytes, Ordering::Relaxed);
        bar.set(done[0].load(Ordering::Relaxed) + done[1].load(Ordering::Relaxed));
    };
    let (r, c) = std::thread::scope(|s| {
        let r = s.spawn(|| read_any(reference, csv, &|n| report(0, n)));
        let c = read_any(current, csv, &|n| report(1, n));
        (r.join(), c)
    });
    bar.finish();
    let r = r.map_err(|_| anyhow!("reading {} failed unexpectedly", reference.display()))??;
    Ok((r, c?))
}

/// Writes to a temporary file beside `path`, then renames: a reader never sees half a report.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().ok_or_else(|| anyhow!("--output {} is not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp{}", file_name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Numbers and the verdict as every format writes them (the HTML report's own).
pub(crate) use html::{fmt_num, verdict};

/// The documented JSON form of a report, for other commands (`dataset diff`).
pub(crate) fn report_json(report: &DriftReport) -> serde_json::Value {
    json::to_json(report)
}

/// The readable form of a report, for other commands.
pub(crate) fn report_text(report: &DriftReport) -> String {
    text::render(report)
}
