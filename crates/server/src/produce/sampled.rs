//! Model-agnostic SHAP values by sampling feature orderings (shap's `PermutationExplainer`,
//! Štrumbelj & Kononenko 2014), for models that are not tree ensembles riskops runs itself:
//! linear models, neural networks, and models served over HTTP.
//!
//! The game is shap's interventional one: a coalition S of features takes the explained
//! row's values, the rest a background row's, and v(S) is the model's output averaged over
//! the background rows. Each ordering π is walked forwards (adding π₁, π₂, … to the empty
//! coalition) and backwards (removing them from the full one, shap's antithetic pass); each
//! step's change of v is the added or removed feature's marginal contribution. The average
//! over orderings is an unbiased estimate of the Shapley value, and each pass telescopes to
//! v(all) − v(∅), so base value + Σ contributions equals the row's output exactly, whatever
//! the sample.
//!
//! Outputs are log-odds (the logit of the positive class's probability, per background row,
//! then averaged) for binary classifiers and the prediction for regressors. In that space a
//! linear model is additive, every ordering gives the same contributions w·(x − E[z]), and
//! the estimate is exact (its standard error 0, but for the float32 rounding of the
//! probabilities): shap's `LinearExplainer`, for free.

use super::stats::{Rng, mean};
use super::{Scorer, label_values, select};
use riskops_core::{Error, Result};
use riskops_model::{Column, ColumnValues, Prediction, Task};

/// The explained output of a batch of rows, one number per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Output {
    /// ln(p / (1 − p)) of the positive class (the second of two).
    LogOdds,
    /// A regressor's prediction.
    Raw,
}

impl Output {
    /// What a scorer's output is explained as; classifiers with more than two classes, or
    /// without probabilities, are refused.
    pub(super) fn of(scorer: &Scorer) -> Result<Output> {
        let signature = scorer.signature();
        if signature.task == Task::Regression {
            return Ok(Output::Raw);
        }
        match &signature.probabilities {
            Some((_, classes)) if classes.names().len() == 2 => Ok(Output::LogOdds),
            Some(_) => Err(Error::invalid("model", "sampled SHAP explains binary classifiers and regressors for now")),
            None => Err(Error::invalid("model", "the model gives no probabilities to explain")),
        }
    }

    pub(super) fn space(self) -> &'static str {
        match self {
            Output::LogOdds => "log_odds",
            Output::Raw => "raw",
        }
    }

    fn values(self, p: &Prediction, rows: usize) -> Result<Vec<f64>> {
        match self {
            Output::Raw => Ok(label_values(&p.labels)),
            Output::LogOdds => {
                let probs = p.probabilities.as_ref().ok_or_else(|| Error::invalid("model", "no probabilities"))?;
                let k = probs.len() / rows.max(1);
                Ok((0..rows).map(|r| logit(f64::from(probs[r * k + 1]))).collect())
            }
        }
    }
}

/// Probabilities of exactly 0 or 1 would give infinite log-odds: clamped as float32 allows.
fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-7, 1.0 - 1e-7);
    (p / (1.0 - p)).ln()
}

/// Sampled SHAP values of some rows.
pub(super) struct Sampled {
    /// v(∅): the output averaged over the background.
    pub base_value: f64,
    /// Each row's output v(all).
    pub outputs: Vec<f64>,
    /// Rows × features.
    pub values: Vec<f64>,
    /// Rows × features: the standard error of each value over the orderings.
    pub standard_errors: Vec<f64>,
}

/// What to explain: `rows` and `background` hold the model's input columns (the same names);
/// `features` names the columns the coalitions are made of (every other column of a row is
/// taken from the row).
pub(super) struct Game<'a> {
    pub scorer: &'a Scorer,
    pub output: Output,
    pub rows: &'a [Column],
    pub background: &'a [Column],
    pub features: &'a [String],
}

/// Every row's sampled SHAP values over `orderings` random feature orderings (at least 2, so
/// the error can be stated). One model call per row scores all its coalitions at once.
pub(super) fn explain(game: &Game<'_>, orderings: usize, rng: &mut Rng) -> Result<Sampled> {
    let n_rows = game.rows.first().map_or(0, Column::len);
    let n_background = game.background.first().map_or(0, Column::len);
    if n_background == 0 {
        return Err(Error::invalid("background", "has no rows"));
    }
    let m = game.features.len();
    let orderings = orderings.max(2);
    let score = |columns: &[Column], rows: usize| -> Result<Vec<f64>> {
        let p = game.scorer.predict(columns, None).map_err(super::Failure::into_error)?;
        game.output.values(&p, rows)
    };
    let base_value = mean(&score(game.background, n_background)?);
    let outputs = score(game.rows, n_rows)?;
    let mut values = vec![0.0; n_rows * m];
    let mut standard_errors = vec![0.0; n_rows * m];
    for r in 0..n_rows {
        let orders: Vec<Vec<usize>> = (0..orderings).map(|_| rng.permutation(m)).collect();
        // The coalitions between the empty and the full one: forwards {π₁..π_k} and
        // backwards all∖{π₁..π_k}, k = 1..m−1, per ordering.
        let coalitions: Vec<Vec<bool>> = orders
            .iter()
            .flat_map(|order| {
                (1..m).map(move |k| prefix(order, k, m, true)).chain((1..m).map(move |k| prefix(order, k, m, false)))
            })
            .collect();
        // One feature has no coalition between the empty and the full one.
        let v = match coalitions.is_empty() {
            true => Vec::new(),
            false => score(&hybrid_rows(game, r, &coalitions, n_background), coalitions.len() * n_background)?,
        };
        let coalition_value = |c: usize| mean(&v[c * n_background..(c + 1) * n_background]);
        let mut samples = vec![Vec::with_capacity(orderings); m];
        for (o, order) in orders.iter().enumerate() {
            let first = o * 2 * (m - 1);
            // v along the forward pass: ∅, {π₁}, …, all; along the backward pass: all,
            // all∖{π₁}, …, ∅.
            let forward = |k: usize| match k {
                0 => base_value,
                k if k == m => outputs[r],
                k => coalition_value(first + k - 1),
            };
            let backward = |k: usize| match k {
                0 => outputs[r],
                k if k == m => base_value,
                k => coalition_value(first + (m - 1) + k - 1),
            };
            for (k, &f) in order.iter().enumerate() {
                let added = forward(k + 1) - forward(k);
                let removed = backward(k) - backward(k + 1);
                samples[f].push((added + removed) / 2.0);
            }
        }
        for (f, s) in samples.iter().enumerate() {
            let mean_value = mean(s);
            let variance = s.iter().map(|x| (x - mean_value).powi(2)).sum::<f64>() / (s.len() - 1) as f64;
            values[r * m + f] = mean_value;
            standard_errors[r * m + f] = (variance / s.len() as f64).sqrt();
        }
    }
    Ok(Sampled { base_value, outputs, values, standard_errors })
}

/// The coalition of the ordering's first k features (forwards), or of all but them.
fn prefix(order: &[usize], k: usize, m: usize, forwards: bool) -> Vec<bool> {
    let mut member = vec![!forwards; m];
    for &f in &order[..k] {
        member[f] = forwards;
    }
    member
}

/// For each coalition and background row, the hybrid row: the coalition's features from row
/// `r`, the others from the background row; columns outside `features` from row `r`.
fn hybrid_rows(game: &Game<'_>, r: usize, coalitions: &[Vec<bool>], n_background: usize) -> Vec<Column> {
    game.rows
        .iter()
        .map(|column| {
            let feature = game.features.iter().position(|f| *f == column.name);
            let from_background = game.background.iter().find(|c| c.name == column.name);
            // Row r's value sits after the background's in `both`.
            let both = match from_background {
                Some(b) => concat(b, column, r),
                None => select(std::slice::from_ref(column), &[r]).remove(0),
            };
            let own = both.len() - 1;
            let picks: Vec<usize> = coalitions
                .iter()
                .flat_map(|member| {
                    let mine = match (feature, from_background) {
                        (Some(f), Some(_)) => member[f],
                        _ => true,
                    };
                    (0..n_background).map(move |b| if mine { own } else { b })
                })
                .collect();
            select(std::slice::from_ref(&both), &picks).remove(0)
        })
        .collect()
}

/// The background column's values followed by row `r` of `column`; a row typed differently
/// from the background (e.g. integers against floats) is widened as the other.
fn concat(background: &Column, column: &Column, r: usize) -> Column {
    let values = match (&background.values, &column.values) {
        (ColumnValues::Float(b), ColumnValues::Float(c)) => ColumnValues::Float(with(b, c[r])),
        (ColumnValues::Float(b), ColumnValues::Int(c)) => ColumnValues::Float(with(b, c[r] as f64)),
        (ColumnValues::Int(b), ColumnValues::Float(c)) => {
            ColumnValues::Float(b.iter().map(|&v| v as f64).chain([c[r]]).collect())
        }
        (ColumnValues::Int(b), ColumnValues::Int(c)) => ColumnValues::Int(with(b, c[r])),
        (ColumnValues::Bool(b), ColumnValues::Bool(c)) => ColumnValues::Bool(with(b, c[r])),
        (ColumnValues::Str(b), ColumnValues::Str(c)) => ColumnValues::Str(with(b, c[r].clone())),
        // Other mixes cannot be scored together; the row's own type wins and the model says
        // whether it fits.
        _ => select(std::slice::from_ref(column), &vec![r; background.len() + 1]).remove(0).values,
    };
    Column { name: column.name.clone(), values }
}

fn with<T: Clone>(values: &[T], last: T) -> Vec<T> {
    let mut out = Vec::with_capacity(values.len() + 1);
    out.extend_from_slice(values);
    out.push(last);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_and_backward_coalitions_follow_the_ordering() {
        assert_eq!(prefix(&[2, 0, 1], 1, 3, true), [false, false, true]);
        assert_eq!(prefix(&[2, 0, 1], 2, 3, true), [true, false, true]);
        assert_eq!(prefix(&[2, 0, 1], 1, 3, false), [true, true, false]);
        assert_eq!(prefix(&[2, 0, 1], 2, 3, false), [false, true, false]);
    }

    #[test]
    fn a_permutation_holds_every_feature_once() {
        let mut rng = Rng::new(3);
        for _ in 0..20 {
            let mut p = rng.permutation(7);
            p.sort_unstable();
            assert_eq!(p, (0..7).collect::<Vec<_>>());
        }
    }

    #[test]
    fn logits_stay_finite_at_certain_probabilities() {
        assert!(logit(0.0).is_finite() && logit(1.0).is_finite());
        assert!((logit(0.5)).abs() < 1e-12);
    }
}
