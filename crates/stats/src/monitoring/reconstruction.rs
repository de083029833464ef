//! Multivariate drift by data reconstruction (NannyML 0.13.1's
//! `DataReconstructionDriftCalculator`): missing values imputed (continuous: the
//! reference mean; categorical: its most frequent value, the smallest on ties), categories
//! replaced by their share of the reference (`CountEncoder(normalize=True)`, unseen: 0),
//! columns standardized, and a PCA keeping the fewest components whose explained variance
//! exceeds 65%. A chunk's value is the mean Euclidean distance between its standardized
//! rows and their reconstruction from those components; it alerts outside the reference
//! chunks' mean ± 3 std (bounds inclusive, as NannyML), the lower one dropped when ≤ 0.

use super::cbpe::Estimate;
use super::eigen::symmetric_eigen;
use super::threshold::{Thresholds, size_chunks};
use crate::StatsError;
use std::collections::HashMap;

/// One feature column of a chunk or the reference.
#[derive(Debug, Clone, Copy)]
pub enum Feature<'a> {
    /// Numbers; NaN is missing.
    Continuous(&'a [f64]),
    /// Categories; `None` is missing.
    Categorical(&'a [Option<&'a str>]),
}

impl Feature<'_> {
    fn len(&self) -> usize {
        match self {
            Feature::Continuous(v) => v.len(),
            Feature::Categorical(v) => v.len(),
        }
    }
}

/// How one column becomes a number.
#[derive(Debug, Clone)]
enum Encoding {
    Continuous { fill: f64 },
    Categorical { fill: String, share: HashMap<String, f64> },
}

/// The result for one chunk: the same shape as a CBPE estimate ([`Estimate`]). Here `value`
/// is the mean reconstruction error of the chunk's rows, `sampling_error` its standard error
/// (`std(ddof=1) / √n`), `lower` is not below 0, and the thresholds come from the reference
/// chunks (their `lower` NaN when it would be ≤ 0: no lower bound); `alert` is also set for
/// a NaN value.
pub type ReconstructionError = Estimate;

/// A fitted data-reconstruction model.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    encodings: Vec<Encoding>,
    means: Vec<f64>,
    scales: Vec<f64>,
    /// PCA's centre of the standardized reference (≈ 0) and its kept components.
    centre: Vec<f64>,
    components: Vec<Vec<f64>>,
    thresholds: Thresholds,
}

/// NannyML's default share of variance to keep.
const VARIANCE: f64 = 0.65;
const SAMPLING_ERROR_RANGE: f64 = 3.0;

impl Reconstruction {
    /// Fits on the reference columns (one length, at least two rows), chunked by
    /// `chunk_size` rows for the thresholds.
    pub fn fit(reference: &[Feature<'_>], chunk_size: usize) -> Result<Reconstruction, StatsError> {
        let n = reference.first().map_or(0, Feature::len);
        if reference.is_empty() || n < 2 {
            return Err(StatsError::EmptySample);
        }
        if reference.iter().any(|f| f.len() != n) {
            return Err(StatsError::InvalidArgument("feature columns differ in length"));
        }
        if chunk_size == 0 {
            return Err(StatsError::InvalidArgument("chunk size must be positive"));
        }
        let encodings: Vec<Encoding> = reference.iter().map(fit_encoding).collect::<Result<_, _>>()?;
        let d = encodings.len();
        let raw = encode(&encodings, reference, 0..n);
        let (means, scales) = standardization(&raw, n, d);
        let z = standardize(raw, &means, &scales, d);
        let centre: Vec<f64> = (0..d).map(|j| (0..n).map(|i| z[i * d + j]).sum::<f64>() / n as f64).collect();
        let mut cov = vec![0.0; d * d];
        for row in z.chunks_exact(d) {
            for a in 0..d {
                let da = row[a] - centre[a];
                for b in a..d {
                    cov[a * d + b] += da * (row[b] - centre[b]);
                }
            }
        }
        for a in 0..d {
            for b in a..d {
                cov[a * d + b] /= (n - 1) as f64;
                cov[b * d + a] = cov[a * d + b];
            }
        }
        let (values, vectors) = symmetric_eigen(&cov, d);
        let total: f64 = values.iter().sum();
        // sklearn: searchsorted(cumsum(ratio), 0.65, side="right") + 1.
        let mut cumulative = 0.0;
        let mut keep = 0;
        for v in &values {
            cumulative += v / total;
            if cumulative > VARIANCE {
                break;
            }
            keep += 1;
        }
        let components = vectors.into_iter().take((keep + 1).min(d)).collect();
        let mut model = Reconstruction {
            encodings,
            means,
            scales,
            centre,
            components,
            thresholds: Thresholds { lower: f64::NAN, upper: f64::NAN },
        };
        let values: Vec<f64> =
            size_chunks(n, chunk_size).into_iter().map(|r| model.chunk_mean_std(reference, r).0).collect();
        let t = Thresholds::standard_deviation(&values, None, None);
        // NannyML overrides a lower threshold ≤ 0 with None: no lower bound.
        model.thresholds = Thresholds { lower: if t.lower <= 0.0 { f64::NAN } else { t.lower }, upper: t.upper };
        Ok(model)
    }

    /// How many principal components are kept.
    pub fn components(&self) -> usize {
        self.components.len()
    }

    /// The alert thresholds from the reference chunks.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The reconstruction error of one chunk (columns in the reference's order).
    pub fn error(&self, chunk: &[Feature<'_>]) -> Result<ReconstructionError, StatsError> {
        if chunk.len() != self.encodings.len() {
            return Err(StatsError::InvalidArgument("chunk has a different number of features"));
        }
        let n = chunk.first().map_or(0, Feature::len);
        if chunk.iter().any(|f| f.len() != n) {
            return Err(StatsError::InvalidArgument("feature columns differ in length"));
        }
        let (value, std) = self.chunk_mean_std(chunk, 0..n);
        let sampling_error = std / (n as f64).sqrt();
        let lower = value - SAMPLING_ERROR_RANGE * sampling_error;
        let t = self.thresholds;
        // NannyML: alert unless lower < value < upper (a NaN value alerts).
        let inside = (t.lower.is_nan() || t.lower < value) && (t.upper.is_nan() || value < t.upper);
        Ok(ReconstructionError {
            value,
            sampling_error,
            lower: if lower.is_nan() { f64::NAN } else { lower.max(0.0) },
            upper: value + SAMPLING_ERROR_RANGE * sampling_error,
            thresholds: t,
            alert: !inside,
        })
    }

    /// Mean and `std(ddof=1)` of the rows' reconstruction errors over `rows`.
    fn chunk_mean_std(&self, features: &[Feature<'_>], rows: std::ops::Range<usize>) -> (f64, f64) {
        let d = self.encodings.len();
        let count = rows.len();
        let z = standardize(encode(&self.encodings, features, rows), &self.means, &self.scales, d);
        let errors: Vec<f64> = z
            .chunks_exact(d)
            .map(|row| {
                let centred: Vec<f64> = row.iter().zip(&self.centre).map(|(x, c)| x - c).collect();
                let mut residual = centred.clone();
                for v in &self.components {
                    let score: f64 = centred.iter().zip(v).map(|(x, w)| x * w).sum();
                    residual.iter_mut().zip(v).for_each(|(r, w)| *r -= score * w);
                }
                residual.iter().map(|r| r * r).sum::<f64>().sqrt()
            })
            .collect();
        if count == 0 {
            return (f64::NAN, f64::NAN);
        }
        let mean = errors.iter().sum::<f64>() / count as f64;
        let var = errors.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>() / (count as f64 - 1.0);
        (mean, var.sqrt())
    }
}

/// Imputation value and, for categories, the reference shares.
fn fit_encoding(feature: &Feature<'_>) -> Result<Encoding, StatsError> {
    match feature {
        Feature::Continuous(values) => {
            let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
            if present.iter().any(|v| v.is_infinite()) {
                return Err(StatsError::NonFinite);
            }
            if present.is_empty() {
                return Err(StatsError::InvalidArgument("a reference feature has no values"));
            }
            Ok(Encoding::Continuous { fill: present.iter().sum::<f64>() / present.len() as f64 })
        }
        Feature::Categorical(values) => {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            values.iter().flatten().for_each(|v| *counts.entry(v).or_default() += 1);
            let most = counts
                .values()
                .copied()
                .max()
                .ok_or(StatsError::InvalidArgument("a reference feature has no values"))?;
            let fill = counts.iter().filter(|(_, c)| **c == most).map(|(v, _)| *v).min().unwrap_or_default().to_owned();
            // Shares after imputation: the missing rows count as the most frequent value.
            let missing = values.iter().filter(|v| v.is_none()).count();
            *counts.entry(fill.as_str()).or_default() += missing;
            let n = values.len() as f64;
            let share = counts.into_iter().map(|(v, c)| (v.to_owned(), c as f64 / n)).collect();
            Ok(Encoding::Categorical { fill, share })
        }
    }
}

/// The encoded rows `rows` of `features`, row-major.
fn encode(encodings: &[Encoding], features: &[Feature<'_>], rows: std::ops::Range<usize>) -> Vec<f64> {
    let d = encodings.len();
    let mut out = vec![0.0; rows.len() * d];
    for (j, (encoding, feature)) in encodings.iter().zip(features).enumerate() {
        for (r, i) in rows.clone().enumerate() {
            out[r * d + j] = match (encoding, feature) {
                (Encoding::Continuous { fill }, Feature::Continuous(v)) => {
                    if v[i].is_nan() {
                        *fill
                    } else {
                        v[i]
                    }
                }
                (Encoding::Categorical { fill, share }, Feature::Categorical(v)) => {
                    let key = v[i].unwrap_or(fill.as_str());
                    share.get(key).copied().unwrap_or(0.0)
                }
                // A column whose kind changed since the reference: nothing to compare.
                _ => f64::NAN,
            };
        }
    }
    out
}

/// StandardScaler's mean and scale (population std; 1 for a column scikit-learn deems
/// constant: variance within rounding of zero, `_is_constant_feature`).
fn standardization(x: &[f64], n: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
    let means: Vec<f64> = (0..d).map(|j| (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64).collect();
    let (rows, eps) = (n as f64, f64::EPSILON);
    let scales = (0..d)
        .map(|j| {
            let var = (0..n).map(|i| (x[i * d + j] - means[j]).powi(2)).sum::<f64>() / rows;
            let bound = rows * eps * var + (rows * means[j] * eps).powi(2);
            if var <= bound { 1.0 } else { var.sqrt() }
        })
        .collect();
    (means, scales)
}

fn standardize(mut x: Vec<f64>, means: &[f64], scales: &[f64], d: usize) -> Vec<f64> {
    for row in x.chunks_exact_mut(d) {
        for j in 0..d {
            row[j] = (row[j] - means[j]) / scales[j];
        }
    }
    x
}
