//! Node covers for path-dependent TreeSHAP: how much training weight reached each node.
//!
//! What shap (0.51) reads as the cover differs by library, and decides what can be replayed
//! from the training rows (measured on tests/data/shap, 1,000 credit or bike rows):
//!
//! | model | shap's cover | replaying the training rows |
//! |---|---|---|
//! | scikit-learn gradient boosting, `subsample=1` | `weighted_n_node_samples` = row counts | [`Covers::from_data`]: identical, values within 1.3e-8 |
//! | scikit-learn random forest, `bootstrap=False` | row counts | [`Covers::from_data`]: identical |
//! | scikit-learn random forest, `bootstrap=True` (default) | counts of each tree's bootstrap draws | not reproducible (covers off by up to 6× at small nodes, values by up to 6e-3 in probability): use interventional, or covers kept from training |
//! | LightGBM (no bagging), binary and multi-class | `internal_count` = row counts | [`Covers::from_data`]: identical |
//! | XGBoost, binary logistic | hessian sums Σ p(1−p) (`cover`) | [`Covers::from_logistic_hessians`]: within 3e-7 (XGBoost sums float32), values within 2e-7 |
//!
//! Not measured: gradient boosting with `subsample < 1` or sample weights, and LightGBM with
//! bagging, are not reproducible either (covers count the subsample); XGBoost's squared-error
//! regression has hessian 1, so its covers should be counts; other XGBoost objectives need
//! their own hessians. Rows must be typed as at training (float32 for these exports): a value
//! on a threshold's other side after rounding lands in the other child.
//!
//! ONNX exports carry no covers; skl2onnx and onnxmltools write `nodes_hitrates` of 1.0
//! everywhere, which [`Covers::from_hitrates`] recognises as placeholders.

use super::{Margin, Rows};
use crate::ModelError;
use crate::tree::{Tree, TreeEnsemble, TreeNode, goes_true};

/// One cover per node, tree by tree, indexed as the ensemble's `Tree::nodes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Covers {
    trees: Vec<Vec<f64>>,
}

impl Covers {
    /// Covers given by the caller (e.g. kept from training); checked against the ensemble
    /// when used.
    pub fn new(trees: Vec<Vec<f64>>) -> Covers {
        Covers { trees }
    }

    pub fn trees(&self) -> &[Vec<f64>] {
        &self.trees
    }

    pub(crate) fn tree(&self, t: usize) -> &[f64] {
        &self.trees[t]
    }

    /// The number of rows of `x` reaching each node (each row weighing 1).
    pub fn from_data(ensemble: &TreeEnsemble, x: Rows<'_>) -> Result<Covers, ModelError> {
        Margin::of(ensemble, x.cols)?;
        let trees = ensemble
            .trees
            .iter()
            .map(|tree| {
                let mut cover = vec![0.0; tree.nodes.len()];
                for r in 0..x.rows {
                    walk(tree, x.row(r), |node| cover[node] += 1.0);
                }
                cover
            })
            .collect();
        Ok(Covers { trees })
    }

    /// XGBoost's covers for a binary logistic model: each row weighs its hessian p(1−p), where
    /// p is the probability the trees before this one (plus the base score) gave it, as during
    /// training. The ensemble must score one output.
    pub fn from_logistic_hessians(ensemble: &TreeEnsemble, x: Rows<'_>) -> Result<Covers, ModelError> {
        let margin = Margin::of(ensemble, x.cols)?;
        if margin.n_outputs != 1 {
            return Err(ModelError::Input("hessian covers are computed for one-output (binary) models only".into()));
        }
        let mut scores: Vec<f64> = vec![margin.base[0]; x.rows];
        let mut trees = Vec::with_capacity(ensemble.trees.len());
        for tree in &ensemble.trees {
            let mut cover = vec![0.0; tree.nodes.len()];
            for (r, score) in scores.iter_mut().enumerate() {
                let p = 1.0 / (1.0 + (-*score).exp());
                let hessian = (p * (1.0 - p)).max(1e-16); // XGBoost's floor
                let leaf = walk(tree, x.row(r), |node| cover[node] += hessian);
                if let TreeNode::Leaf { weights, .. } = &tree.nodes[leaf] {
                    *score += weights.iter().map(|&(_, w)| margin.scale * f64::from(w)).sum::<f64>();
                }
            }
            trees.push(cover);
        }
        Ok(Covers { trees })
    }

    /// Covers from the export's `nodes_hitrates`, when every node has one and they add up
    /// (each branch's equals its children's sum): None for the placeholder 1.0s that
    /// skl2onnx and onnxmltools write.
    pub fn from_hitrates(ensemble: &TreeEnsemble) -> Option<Covers> {
        let mut trees = Vec::with_capacity(ensemble.trees.len());
        for tree in &ensemble.trees {
            let rate = |node: &TreeNode| match node {
                TreeNode::Branch { hitrate, .. } | TreeNode::Leaf { hitrate, .. } => hitrate.map(f64::from),
            };
            let cover: Vec<f64> = tree.nodes.iter().map(rate).collect::<Option<_>>()?;
            for (node, &c) in tree.nodes.iter().zip(&cover) {
                if let TreeNode::Branch { true_child, false_child, .. } = node {
                    let children = cover[*true_child] + cover[*false_child];
                    let adds_up = c > 0.0 && (c - children).abs() <= 1e-4 * c;
                    if !adds_up {
                        return None;
                    }
                }
            }
            trees.push(cover);
        }
        Some(Covers { trees })
    }

    /// One finite, non-negative cover per node of every tree, and a positive root.
    pub(crate) fn check(&self, ensemble: &TreeEnsemble) -> Result<(), ModelError> {
        if self.trees.len() != ensemble.trees.len() {
            return Err(ModelError::Input(format!(
                "covers are given for {} trees, the model has {}",
                self.trees.len(),
                ensemble.trees.len()
            )));
        }
        for (t, (cover, tree)) in self.trees.iter().zip(&ensemble.trees).enumerate() {
            if cover.len() != tree.nodes.len() {
                return Err(ModelError::Input(format!(
                    "tree {t} has {} nodes, its covers {}",
                    tree.nodes.len(),
                    cover.len()
                )));
            }
            if cover.iter().any(|c| !c.is_finite() || *c < 0.0) || cover[0] <= 0.0 {
                return Err(ModelError::Input(format!(
                    "tree {t}: covers must be finite and non-negative, with a positive root (no training row reached it?)"
                )));
            }
        }
        Ok(())
    }
}

/// Calls `visit` on each node `row` passes through, root to leaf; returns the leaf.
fn walk(tree: &Tree, row: &[f64], mut visit: impl FnMut(usize)) -> usize {
    let mut at = 0;
    loop {
        visit(at);
        match &tree.nodes[at] {
            TreeNode::Leaf { .. } => return at,
            &TreeNode::Branch { feature, threshold, mode, true_child, false_child, missing_goes_true, .. } => {
                at = if goes_true(row[feature], threshold, mode, missing_goes_true) { true_child } else { false_child };
            }
        }
    }
}
