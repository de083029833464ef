//! One column: type it, pick its method, compute the score and the chart data.

use crate::method::Method;
use crate::prepare::{self, Categories, Key};
use crate::prepared::ReferenceValues;
use crate::report::{ColumnDrift, ColumnType, Plot, Skipped};
use crate::rules::{self, Inferred};
use crate::{DriftError, DriftOptions};
use riskops_data::Values;
use riskops_stats as stats;

pub struct Job<'a> {
    pub name: String,
    pub reference: ReferenceValues<'a>,
    pub current: Values,
}

pub enum Outcome {
    Drift(ColumnDrift),
    Skipped(Skipped),
}

/// Categories shown by name in a chart; the rest are summed.
const PLOT_CATEGORIES: usize = 20;
/// Bins of a numerical chart, at most.
const PLOT_MAX_BINS: usize = 40;

pub fn run(job: Job<'_>, options: &DriftOptions) -> Result<Outcome, DriftError> {
    let Job { name, reference, current } = job;
    let forced = if options.numerical.contains(&name) {
        Some(ColumnType::Numerical)
    } else if options.categorical.contains(&name) {
        Some(ColumnType::Categorical)
    } else {
        None
    };
    let column_type = match forced {
        Some(t) => t,
        None => {
            // Evidently types columns by the current data.
            let (distinct, non_missing) = prepare::distinct_up_to(&current, rules::MAX_INT_CATEGORIES);
            if non_missing == 0 {
                return Err(DriftError::NoValues { column: name, side: "current" });
            }
            match rules::infer(&current, distinct, non_missing) {
                Inferred::Typed(t) => t,
                Inferred::Text => {
                    let reason = format!(
                        "free text ({distinct} distinct values in {non_missing} current rows, over {:.0}%): not compared",
                        rules::TEXT_UNIQUE_SHARE * 100.0
                    );
                    return Ok(Outcome::Skipped(Skipped { name, reason }));
                }
                Inferred::Unknown => {
                    let reason =
                        "booleans with missing values: untyped, as in Evidently (use --categorical to compare)";
                    return Ok(Outcome::Skipped(Skipped { name, reason: reason.to_string() }));
                }
            }
        }
    };
    let chosen = options.column_methods.get(&name).copied().or(options.method);
    if let Some(method) = chosen
        && let Some(reason) = method.unfit_for(column_type)
    {
        return Err(DriftError::MethodDoesNotFit { column: name, method: method.name(), reason });
    }
    let drift = match column_type {
        ColumnType::Numerical => numerical(name, reference, current, chosen, options)?,
        ColumnType::Categorical => categorical(name, reference, current, chosen, options)?,
    };
    Ok(Outcome::Drift(drift))
}

fn numerical(
    name: String,
    reference: ReferenceValues<'_>,
    current: Values,
    chosen: Option<Method>,
    options: &DriftOptions,
) -> Result<ColumnDrift, DriftError> {
    let text = |example| DriftError::TextAsNumerical { column: name.clone(), example };
    // numpy widens Sturges bins of integer data to width 1.
    let integer_data = reference.is_int() && matches!(current, Values::Int(_));
    let r = reference.sorted().map_err(text)?;
    let r: &[f64] = &r;
    let c = prepare::sorted_numbers(current).map_err(text)?;
    let c: &[f64] = &c;
    for (sample, side) in [(r, "reference"), (c, "current")] {
        if sample.is_empty() {
            return Err(DriftError::NoValues { column: name.clone(), side });
        }
    }
    // The method only asks whether there are more than a few distinct values; the report's
    // count comes from Wasserstein's own merge when it is the method (a million-row window's
    // second pass saved), else from a full count.
    let few = prepare::distinct_union_sorted_up_to(r, c, rules::FEW_VALUES + 1);
    let method = chosen.unwrap_or_else(|| rules::default_method(ColumnType::Numerical, r.len(), few));
    let stats_err = |source| DriftError::Stats { column: name.clone(), source };
    let mut counted = None;
    let (statistic, p_value) = match method {
        Method::Ks => test(stats::ks_2samp_sorted(r, c)),
        Method::Wasserstein => stats::wasserstein_normed_sorted_distinct(r, c).map(|(d, distinct)| {
            counted = Some(distinct);
            (d, None)
        }),
        Method::Anderson => test(stats::anderson_ksamp_sorted(&[r, c])),
        Method::CramerVonMises => test(stats::cramervonmises_2samp_sorted(r, c)),
        Method::Energy => distance(stats::energy_distance_sorted(r, c)),
        Method::MannWhitney => test(stats::mann_whitney_u_sorted(r, c)),
        Method::Mmd => distance(stats::mmd_rbf_median_heuristic(&thin(r), &thin(c))),
        Method::Hellinger => {
            // Evidently's numerical Hellinger: Sturges bins over the distinct values of both samples.
            let n_values = *counted.insert(prepare::distinct_union_sorted(r, c));
            let (lo, hi) = (r[0].min(c[0]), last(r).max(last(c)));
            let edges = stats::sturges_bin_edges(lo, hi, n_values, integer_data).map_err(stats_err)?;
            let rc = stats::histogram_counts_sorted(r, &edges).map_err(stats_err)?;
            let cc = stats::histogram_counts_sorted(c, &edges).map_err(stats_err)?;
            on_frequencies(method, &rc, &cc, &name)?
        }
        frequency_method => {
            let binned = prepare::distinct_sorted(r) > rules::BINNING_MIN_VALUES && is_binned(frequency_method);
            if binned {
                let (lo, hi) = (r[0].min(c[0]), last(r).max(last(c)));
                let edges = stats::sturges_bin_edges(lo, hi, r.len() + c.len(), integer_data).map_err(stats_err)?;
                let rc = stats::histogram_counts_sorted(r, &edges).map_err(stats_err)?;
                let cc = stats::histogram_counts_sorted(c, &edges).map_err(stats_err)?;
                on_frequencies(frequency_method, &rc, &cc, &name)?
            } else {
                let (_, ref_counts, cur_counts) = prepare::merged_frequencies(r, c);
                on_frequencies(frequency_method, &ref_counts, &cur_counts, &name)?
            }
        }
    }
    .map_err(stats_err)?;
    let n_values = counted.unwrap_or_else(|| prepare::distinct_union_sorted(r, c));
    let plot = numeric_plot(r, c);
    Ok(finish(name, ColumnType::Numerical, method, statistic, p_value, options, (r.len(), c.len(), n_values), plot))
}

fn categorical(
    name: String,
    reference: ReferenceValues<'_>,
    current: Values,
    chosen: Option<Method>,
    options: &DriftOptions,
) -> Result<ColumnDrift, DriftError> {
    let cats = prepare::categories_counted(reference.counted(), prepare::count(current));
    let (n_ref, n_cur) = (cats.n_reference(), cats.n_current());
    if n_ref == 0 {
        return Err(DriftError::NoValues { column: name, side: "reference" });
    }
    if n_cur == 0 {
        return Err(DriftError::NoValues { column: name, side: "current" });
    }
    let method =
        chosen.unwrap_or_else(|| rules::default_method(ColumnType::Categorical, n_ref as usize, cats.keys.len()));
    let (statistic, p_value) = on_frequencies(method, &cats.reference, &cats.current, &name)?
        .map_err(|source| DriftError::Stats { column: name.clone(), source })?;
    let plot = category_plot(&cats);
    let counts = (n_ref as usize, n_cur as usize, cats.keys.len());
    Ok(finish(name, ColumnType::Categorical, method, statistic, p_value, options, counts, plot))
}

type Score = Result<(f64, Option<f64>), stats::StatsError>;

fn test(r: Result<stats::TestResult, stats::StatsError>) -> Score {
    r.map(|t| (t.statistic, Some(t.p_value)))
}

fn distance(r: Result<f64, stats::StatsError>) -> Score {
    r.map(|d| (d, None))
}

/// PSI, KL and Jensen–Shannon bin a numerical column with many values (Evidently's
/// `get_binned_data`); the count tests compare values one by one.
fn is_binned(method: Method) -> bool {
    matches!(method, Method::JensenShannon | Method::Psi | Method::Kl | Method::Tvd)
}

/// Methods that compare counts per category (or per bin).
fn on_frequencies(method: Method, r: &[u64], c: &[u64], column: &str) -> Result<Score, DriftError> {
    let proportions = |counts: &[u64]| {
        let total: u64 = counts.iter().sum();
        counts.iter().map(|&n| n as f64 / total as f64).collect::<Vec<f64>>()
    };
    let filled = |counts: &[u64]| {
        let mut p = proportions(counts);
        stats::fill_zero_proportions(&mut p);
        p
    };
    Ok(match method {
        Method::ChiSquare => test(stats::chisquare_evidently(r, c)),
        Method::ChiSquareContingency => stats::chi2_contingency(r, c).map(|t| (t.statistic, Some(t.p_value))),
        Method::GTest => stats::g_test(r, c).map(|t| (t.statistic, Some(t.p_value))),
        Method::ZTest => {
            // The first value in sorted order counts as 0, every other value as 1.
            let (n_ref, n_cur) = (r.iter().sum::<u64>(), c.iter().sum::<u64>());
            let (r0, c0) = (r.first().copied().unwrap_or(0), c.first().copied().unwrap_or(0));
            let result = test(stats::ztest_proportions(n_ref - r0, n_ref, n_cur - c0, n_cur));
            // One value in both samples: z is 0/0; Evidently reports no statistic (p = 1).
            if r.len() == 1 { result.map(|(_, p)| (f64::NAN, p)) } else { result }
        }
        Method::Fisher => {
            if r.len() > 2 {
                return Err(DriftError::MethodDoesNotFit {
                    column: column.to_string(),
                    method: method.name(),
                    reason: format!("it needs at most two distinct values and the column has {}", r.len()),
                });
            }
            let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
            test(stats::fisher_exact([[at(r, 0), at(r, 1)], [at(c, 0), at(c, 1)]]))
        }
        Method::JensenShannon => distance(stats::jensen_shannon_distance(&proportions(r), &proportions(c))),
        Method::Psi => distance(stats::psi(&filled(r), &filled(c))),
        Method::Kl => distance(stats::kl_divergence(&filled(r), &filled(c))),
        Method::Hellinger => distance(stats::hellinger(&proportions(r), &proportions(c))),
        Method::Tvd => distance(stats::total_variation(&proportions(r), &proportions(c))),
        numeric_only => {
            return Err(DriftError::MethodDoesNotFit {
                column: column.to_string(),
                method: numeric_only.name(),
                reason: "it compares numeric values and the column is categorical".into(),
            });
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn finish(
    name: String,
    column_type: ColumnType,
    method: Method,
    statistic: f64,
    p_value: Option<f64>,
    options: &DriftOptions,
    (n_reference, n_current, n_values): (usize, usize, usize),
    plot: Plot,
) -> ColumnDrift {
    let threshold = options.threshold.unwrap_or_else(|| method.default_threshold());
    let score = p_value.unwrap_or(statistic);
    ColumnDrift {
        name,
        column_type,
        method,
        statistic,
        p_value,
        threshold,
        drifted: method.drifted(score, threshold),
        n_reference,
        n_current,
        n_values,
        plot,
    }
}

fn last(sorted: &[f64]) -> f64 {
    sorted.last().copied().unwrap_or(f64::NAN)
}

/// Every k-th value of a sorted sample, so MMD (quadratic) stays under its size cap while
/// keeping the distribution's shape.
fn thin(sorted: &[f64]) -> Vec<f64> {
    let step = sorted.len().div_ceil(stats::MMD_MAX_SAMPLE).max(1);
    sorted.iter().step_by(step).copied().collect()
}

/// Shares of each sample over common bins spanning both samples.
fn numeric_plot(r: &[f64], c: &[f64]) -> Plot {
    let (lo, hi) = (r[0].min(c[0]), last(r).max(last(c)));
    let bins = ((r.len() + c.len()) as f64).log2().ceil() as usize + 1;
    let bins = bins.clamp(1, PLOT_MAX_BINS);
    let (lo, hi) = if lo == hi { (lo - 0.5, hi + 0.5) } else { (lo, hi) };
    let edges: Vec<f64> = (0..=bins).map(|i| lo + (hi - lo) * i as f64 / bins as f64).collect();
    let share = |sample: &[f64]| {
        let counts = stats::histogram_counts_sorted(sample, &edges).unwrap_or_else(|_| vec![0; bins]);
        counts.iter().map(|&n| n as f64 / sample.len() as f64).collect()
    };
    Plot::Histogram { reference: share(r), current: share(c), edges }
}

/// The most frequent categories of both samples together, the rest summed.
fn category_plot(cats: &Categories) -> Plot {
    let (n_ref, n_cur) = (cats.n_reference().max(1) as f64, cats.n_current().max(1) as f64);
    let mut order: Vec<usize> = (0..cats.keys.len()).collect();
    order.sort_by(|&a, &b| {
        let share = |i: usize| cats.reference[i] as f64 / n_ref + cats.current[i] as f64 / n_cur;
        share(b).total_cmp(&share(a))
    });
    let shown = &order[..order.len().min(PLOT_CATEGORIES)];
    let labels = shown.iter().map(|&i| Key::label(&cats.keys[i])).collect();
    let reference: Vec<f64> = shown.iter().map(|&i| cats.reference[i] as f64 / n_ref).collect();
    let current: Vec<f64> = shown.iter().map(|&i| cats.current[i] as f64 / n_cur).collect();
    let other =
        (order.len() > shown.len()).then(|| (1.0 - reference.iter().sum::<f64>(), 1.0 - current.iter().sum::<f64>()));
    Plot::Bars { labels, reference, current, other }
}
