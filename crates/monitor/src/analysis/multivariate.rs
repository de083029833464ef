//! Multivariate drift by data reconstruction, on tables: the reference's feature columns fit
//! NannyML's `DataReconstructionDriftCalculator` (`riskops_stats::monitoring::reconstruction`)
//! once, then each chunk's (or closed window's) columns give its reconstruction error. Shared
//! by the back-test (`analyze`) and the server's closed windows, so both compute it alike.

use super::report::{Multivariate, ReconstructionValue};
use super::table::{FeatureValues, feature_values};
use crate::MonitorError;
use riskops_data::Table;
use riskops_stats::monitoring::{Feature, Reconstruction};

/// Data reconstruction fitted on the reference's features.
#[derive(Debug, Clone)]
pub struct MultivariateModel {
    model: Reconstruction,
    features: Vec<String>,
    /// Per feature: categorical (text, booleans) in the reference.
    kinds: Vec<bool>,
}

impl MultivariateModel {
    /// Fits on `features` of `reference` (thresholds from its chunks of `chunk_size` rows);
    /// `None` without features to reconstruct.
    pub fn fit(reference: &Table, features: &[String], chunk_size: usize) -> Result<Option<Self>, MonitorError> {
        if features.is_empty() {
            return Ok(None);
        }
        let values = columns(reference, features)?;
        let kinds = values.iter().map(|v| matches!(v, FeatureValues::Categorical(_))).collect();
        let model = with_features(&values, |f| Reconstruction::fit(f, chunk_size))
            .map_err(|e| MonitorError::Analysis(format!("cannot fit the multivariate drift model: {e}")))?;
        Ok(Some(MultivariateModel { model, features: features.to_vec(), kinds }))
    }

    /// Principal components kept.
    pub fn components(&self) -> usize {
        self.model.components()
    }

    /// The features reconstructed, in the reference's order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// The reconstruction error of `chunk`, which must hold the fitted features.
    pub fn chunk(&self, chunk: &Table) -> Result<Multivariate, MonitorError> {
        let mut values = columns(chunk, &self.features)?;
        for ((v, &categorical), name) in values.iter_mut().zip(&self.kinds).zip(&self.features) {
            // A column with no value at all reads as numbers (pandas types an empty column
            // float64): missing either way, imputed like any missing value.
            match v {
                FeatureValues::Continuous(x) if categorical && x.iter().all(|x| x.is_nan()) => {
                    *v = FeatureValues::Categorical(vec![None; x.len()]);
                }
                FeatureValues::Categorical(x) if !categorical && x.iter().all(Option::is_none) => {
                    *v = FeatureValues::Continuous(vec![f64::NAN; x.len()]);
                }
                _ => {}
            }
            if matches!(v, FeatureValues::Categorical(_)) != categorical {
                return Err(MonitorError::Analysis(format!(
                    "column {name:?} is {} in the reference but not in the analysis file",
                    if categorical { "text" } else { "numeric" }
                )));
            }
        }
        let r = with_features(&values, |f| self.model.error(f)).map_err(|e| MonitorError::Analysis(e.to_string()))?;
        Ok(Multivariate {
            reconstruction_error: ReconstructionValue {
                value: r.value,
                sampling_error: r.sampling_error,
                lower: r.lower,
                upper: r.upper,
                lower_threshold: r.thresholds.lower,
                upper_threshold: r.thresholds.upper,
                alert: r.alert,
            },
        })
    }
}

fn columns(table: &Table, features: &[String]) -> Result<Vec<FeatureValues>, MonitorError> {
    features
        .iter()
        .map(|name| {
            let column = table.column(name).ok_or_else(|| MonitorError::Analysis(format!("no column {name:?}")))?;
            Ok(feature_values(&column.values))
        })
        .collect()
}

/// Lends `values` as the borrowed `Feature`s the statistics take.
fn with_features<T>(values: &[FeatureValues], f: impl FnOnce(&[Feature<'_>]) -> T) -> T {
    let text: Vec<Vec<Option<&str>>> = values
        .iter()
        .map(|v| match v {
            FeatureValues::Categorical(c) => c.iter().map(|x| x.as_deref()).collect(),
            FeatureValues::Continuous(_) => Vec::new(),
        })
        .collect();
    let features: Vec<Feature<'_>> = values
        .iter()
        .zip(&text)
        .map(|(v, t)| match v {
            FeatureValues::Continuous(x) => Feature::Continuous(x),
            FeatureValues::Categorical(_) => Feature::Categorical(t),
        })
        .collect();
    f(&features)
}
