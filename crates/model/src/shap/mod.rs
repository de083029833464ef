//! Exact SHAP values of tree ensembles (TreeSHAP), in the ensemble's **margin space**: the
//! scores before the post transform (log-odds for a logistic model, raw class scores before a
//! softmax, the prediction of a regressor, the class-1 probability of a random forest).
//!
//! Two ways to "remove" a feature, as shap's `TreeExplainer` offers:
//!
//! * [`path_dependent`] (Lundberg et al. 2020, Algorithm 2): a feature outside the coalition
//!   follows both children of a split, weighted by the training **covers** (the share of
//!   training rows that went each way). ONNX exports carry no covers, so they come from
//!   [`Covers::from_data`] (replaying training rows), [`Covers::from_hitrates`] (when the
//!   export wrote real `nodes_hitrates`) or the caller ([`Covers::new`]).
//! * [`interventional`]: a feature outside the coalition takes its value from a background
//!   row; values are averaged over the background. Needs no covers, so it is exact for every
//!   model whatever its training did (bootstrap, subsampling, hessian-weighted covers).
//!
//! Both give one value per row, feature and output, with `base + Σ values = margin`
//! ([`check_additivity`]). Arithmetic is f64 over the model's float32 leaf weights, so values
//! agree with shap's (which uses the libraries' float64 leaves) to ~1e-7 of a row's scale.
//! Rows run on every core ([`path_dependent_on`] / [`interventional_on`] cap the threads).
//! For a large batch, per-leaf tables built once replace the per-row tree walks where they
//! pay off (`fast.rs`, `background.rs`); a single row walks the trees.
//!
//! **Features.** The ensemble's input columns: a plain exported ensemble reads the model's
//! input, so the features are its columns; in a pipeline (imputer, encoders, scaler before
//! the trees) they are the computed columns, which `Model::ensemble_features` gives.
//!
//! **Outputs**, matching shap 0.51's TreeExplainer (`model_output="raw"`):
//!
//! | model (export) | outputs here | shap |
//! |---|---|---|
//! | scikit-learn GradientBoostingClassifier, binary | 1: log-odds of class 1 | the same |
//! | XGBoost / LightGBM binary classifier | 1: margin (log-odds of class 1) | the same |
//! | scikit-learn RandomForestClassifier, binary | 1: probability of class 1 | 2 outputs; ours is its class 1, its class 0 is the negation (base `1 − base`) |
//! | multi-class (tested: LightGBM; XGBoost, random forests alike) | 1 per class: raw score (probability for forests) | the same (shap does not explain sklearn's multi-class gradient boosting) |
//! | regressors (gradient boosting, forests: `AVERAGE` or pre-divided `SUM`) | 1 per target | the same |
//!
//! `MIN`/`MAX` aggregation is not additive and is refused.

mod background;
mod covers;
mod fast;
mod interventional;
mod path_dependent;

use crate::ModelError;
use crate::tree::{Aggregate, EnsembleKind, Tree, TreeEnsemble, TreeNode};

pub use covers::Covers;

/// SHAP values of a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub rows: usize,
    pub n_features: usize,
    pub n_outputs: usize,
    /// The expected margin per output (the same for every row).
    pub base_values: Vec<f64>,
    /// Row-major rows × features × outputs.
    pub values: Vec<f64>,
}

impl Explanation {
    pub fn value(&self, row: usize, feature: usize, output: usize) -> f64 {
        self.values[(row * self.n_features + feature) * self.n_outputs + output]
    }

    /// `base + Σ values` of one row and output: the margin the explanation accounts for.
    pub fn total(&self, row: usize, output: usize) -> f64 {
        let contributions: f64 = (0..self.n_features).map(|f| self.value(row, f, output)).sum();
        self.base_values[output] + contributions
    }
}

/// Rows given to an explanation: row-major `rows × cols` values of the ensemble's input.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    values: &'a [f64],
    rows: usize,
    cols: usize,
}

impl<'a> Rows<'a> {
    pub fn new(values: &'a [f64], cols: usize) -> Result<Rows<'a>, ModelError> {
        if cols == 0 || !values.len().is_multiple_of(cols) {
            return Err(ModelError::Input(format!("{} values do not make rows of {cols} columns", values.len())));
        }
        Ok(Rows { values, rows: values.len() / cols, cols })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub(crate) fn row(&self, r: usize) -> &'a [f64] {
        &self.values[r * self.cols..(r + 1) * self.cols]
    }
}

/// What the explanations need to know about an ensemble's margin, checked once.
pub(crate) struct Margin<'a> {
    pub trees: &'a [Tree],
    pub n_outputs: usize,
    /// Multiplies every leaf weight: 1/trees for `AVERAGE`, else 1.
    pub scale: f64,
    /// Added to each output after the trees.
    pub base: Vec<f64>,
    /// Deepest branch count from root to leaf, for path buffers.
    pub max_depth: usize,
}

impl<'a> Margin<'a> {
    pub fn of(ensemble: &'a TreeEnsemble, cols: usize) -> Result<Margin<'a>, ModelError> {
        let scale = match ensemble.kind {
            EnsembleKind::Regressor { aggregate: Aggregate::Average } => 1.0 / ensemble.trees.len().max(1) as f64,
            EnsembleKind::Regressor { aggregate: Aggregate::Min | Aggregate::Max } => {
                return Err(ModelError::Input(
                    "SHAP values need additive trees; this ensemble takes the MIN or MAX of its trees".into(),
                ));
            }
            _ => 1.0,
        };
        let mut written = vec![false; ensemble.n_outputs];
        let mut max_depth = 0;
        for tree in &ensemble.trees {
            max_depth = max_depth.max(depth(tree));
            for node in &tree.nodes {
                match node {
                    TreeNode::Leaf { weights, .. } => weights.iter().for_each(|&(k, _)| written[k] = true),
                    TreeNode::Branch { feature, .. } if *feature >= cols => {
                        return Err(ModelError::Input(format!(
                            "the trees split on feature {feature}, the rows have {cols} columns"
                        )));
                    }
                    TreeNode::Branch { .. } => {}
                }
            }
        }
        // Two classes scored in one column: explain that column (the positive class).
        let single = matches!(ensemble.kind, EnsembleKind::Classifier { .. }) && ensemble.n_outputs == 2 && !written[1];
        let n_outputs = if single { 1 } else { ensemble.n_outputs };
        let b = &ensemble.base_values;
        let base = (0..n_outputs)
            .map(|k| match b.len() {
                n if n == ensemble.n_outputs => f64::from(b[k]),
                n if n >= 1 && n_outputs == 1 => f64::from(b[0]),
                _ => 0.0,
            })
            .collect();
        Ok(Margin { trees: &ensemble.trees, n_outputs, scale, base, max_depth })
    }

    /// The margin of one row, per output, in f64.
    pub fn eval(&self, row: &[f64], out: &mut [f64]) {
        out.copy_from_slice(&self.base);
        for tree in self.trees {
            for &(k, w) in tree.leaf_weights(row) {
                out[k] += self.scale * f64::from(w);
            }
        }
    }
}

/// Branches on the longest root-to-leaf path.
fn depth(tree: &Tree) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(0usize, 0usize)];
    while let Some((at, d)) = stack.pop() {
        match &tree.nodes[at] {
            TreeNode::Leaf { .. } => deepest = deepest.max(d),
            TreeNode::Branch { true_child, false_child, .. } => {
                stack.push((*true_child, d + 1));
                stack.push((*false_child, d + 1));
            }
        }
    }
    deepest
}

/// The ensemble's margin (scores before the post transform) of each row: rows × outputs,
/// outputs as in [`Explanation`].
pub fn margins(ensemble: &TreeEnsemble, x: Rows<'_>) -> Result<Vec<f64>, ModelError> {
    let margin = Margin::of(ensemble, x.cols)?;
    let mut out = vec![0.0; x.rows * margin.n_outputs];
    for (r, o) in out.chunks_mut(margin.n_outputs).enumerate() {
        margin.eval(x.row(r), o);
    }
    Ok(out)
}

/// Path-dependent TreeSHAP (shap's `feature_perturbation="tree_path_dependent"`), on every core.
pub fn path_dependent(ensemble: &TreeEnsemble, covers: &Covers, x: Rows<'_>) -> Result<Explanation, ModelError> {
    path_dependent_on(ensemble, covers, x, cores())
}

/// [`path_dependent`] on at most `threads` threads (a server may cap what one request takes).
pub fn path_dependent_on(
    ensemble: &TreeEnsemble,
    covers: &Covers,
    x: Rows<'_>,
    threads: usize,
) -> Result<Explanation, ModelError> {
    let margin = Margin::of(ensemble, x.cols)?;
    covers.check(ensemble)?;
    let base_values = path_dependent::expected_margin(&margin, covers);
    // Trees in blocks whose per-leaf tables fit the memory budget: each block's tables are
    // built (in parallel), every row walks the block, and the tables are dropped. Trees where
    // tables do not pay off (few rows, very deep paths) run Algorithm 2.
    let mut values = vec![0.0; x.rows * x.cols * margin.n_outputs];
    let mut start = 0;
    while start < margin.trees.len() {
        let (end, tables) = fast::plan_block(&margin, covers, x.rows, start, threads);
        let block = x.cols * margin.n_outputs;
        for_each_part(x, block, threads, &mut values, |rows, part| {
            let mut buffer = path_dependent::path_buffer(margin.max_depth);
            let mut masks = Vec::new();
            // Tree by tree over the part's rows, so one tree's nodes and tables stay in cache.
            for (t, tables) in (start..end).zip(&tables) {
                let tree = &margin.trees[t];
                match tables {
                    Some(tables) => {
                        let chunks = part.chunks_mut(block * fast::ROW_BLOCK);
                        for (first, phi) in rows.clone().step_by(fast::ROW_BLOCK).zip(chunks) {
                            let these: Vec<&[f64]> = (first..first + phi.len() / block).map(|r| x.row(r)).collect();
                            fast::explain_rows(&margin, tree, tables, &these, phi, &mut masks);
                        }
                    }
                    None => {
                        for (r, phi) in rows.clone().zip(part.chunks_mut(block)) {
                            path_dependent::explain_tree(&margin, tree, covers.tree(t), x.row(r), &mut buffer, phi);
                        }
                    }
                }
            }
        });
        start = end;
    }
    Ok(Explanation { rows: x.rows, n_features: x.cols, n_outputs: margin.n_outputs, base_values, values })
}

/// Interventional TreeSHAP against background rows (shap's
/// `feature_perturbation="interventional"` with `data=background`), on every core.
pub fn interventional(ensemble: &TreeEnsemble, background: Rows<'_>, x: Rows<'_>) -> Result<Explanation, ModelError> {
    interventional_on(ensemble, background, x, cores())
}

/// [`interventional`] on at most `threads` threads.
pub fn interventional_on(
    ensemble: &TreeEnsemble,
    background: Rows<'_>,
    x: Rows<'_>,
    threads: usize,
) -> Result<Explanation, ModelError> {
    if background.cols != x.cols || background.rows == 0 {
        return Err(ModelError::Input(format!(
            "the background needs rows of the explained rows' {} columns (it has {} rows of {})",
            x.cols, background.rows, background.cols
        )));
    }
    let margin = Margin::of(ensemble, x.cols)?;
    let base_values = interventional::expected_margin(&margin, background);
    let mut values = vec![0.0; x.rows * x.cols * margin.n_outputs];
    // As in `path_dependent_on`: blocks of trees, each tabulated against the background
    // where that pays off (many rows, shallow trees), else walked pair by pair.
    let block = x.cols * margin.n_outputs;
    let mut start = 0;
    while start < margin.trees.len() {
        let (end, tables) = background::plan_block(&margin, background, x.rows, start);
        let walked: Vec<&Tree> =
            (start..end).zip(&tables).filter(|(_, t)| t.is_none()).map(|(i, _)| &margin.trees[i]).collect();
        let sides = interventional::BackgroundSides::new(&walked, background);
        for_each_part(x, block, threads, &mut values, |rows, part| {
            let mut strays = vec![0u32; x.cols];
            for (t, tables) in (start..end).zip(&tables) {
                let Some(tables) = tables else { continue };
                for (r, phi) in rows.clone().zip(part.chunks_mut(block)) {
                    background::explain_tree(&margin, &margin.trees[t], tables, x.row(r), &mut strays, phi);
                }
            }
            for (r, phi) in rows.zip(part.chunks_mut(block)) {
                interventional::explain_row(&margin, &walked, &sides, background.rows, x.row(r), phi);
            }
        });
        start = end;
    }
    Ok(Explanation { rows: x.rows, n_features: x.cols, n_outputs: margin.n_outputs, base_values, values })
}

/// Below this many rows an explanation runs on one thread (TreeSHAP costs far more per row
/// than scoring, so the threshold is much lower than `Model::predict`'s).
const MIN_ROWS_PER_THREAD: usize = 16;

/// Splits the rows over `threads` and runs `explain(rows, part)` for each run of rows, `part`
/// being their `block` values each (features × outputs) of `values`, added to.
fn for_each_part<F>(x: Rows<'_>, block: usize, threads: usize, values: &mut [f64], explain: F)
where
    F: Fn(std::ops::Range<usize>, &mut [f64]) + Sync,
{
    if block == 0 || x.rows == 0 {
        return;
    }
    let parts = threads.min(x.rows / MIN_ROWS_PER_THREAD).max(1);
    let rows_per_part = x.rows.div_ceil(parts).max(1);
    let explain = &explain;
    std::thread::scope(|scope| {
        for (p, part) in values.chunks_mut(rows_per_part * block).enumerate() {
            let rows = p * rows_per_part..p * rows_per_part + part.len() / block;
            if parts == 1 {
                explain(rows, part);
            } else {
                scope.spawn(move || explain(rows, part));
            }
        }
    });
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// A row and output where `base + Σ values` misses the margin.
#[derive(Debug, Clone, PartialEq)]
pub struct AdditivityError {
    pub row: usize,
    pub output: usize,
    pub total: f64,
    pub margin: f64,
}

/// Checks `base + Σ values = margin` for every row and output, within `relative` of
/// `max(|margin|, 1)` (margins near 0 are compared absolutely). `margins` is rows × outputs,
/// as [`margins`] gives.
pub fn check_additivity(explanation: &Explanation, margins: &[f64], relative: f64) -> Result<(), AdditivityError> {
    for r in 0..explanation.rows {
        for k in 0..explanation.n_outputs {
            let margin = margins.get(r * explanation.n_outputs + k).copied().unwrap_or(f64::NAN);
            let total = explanation.total(r, k);
            // Written so that a NaN total or margin fails too.
            let close = (total - margin).abs() <= relative * margin.abs().max(1.0);
            if !close {
                return Err(AdditivityError { row: r, output: k, total, margin });
            }
        }
    }
    Ok(())
}
