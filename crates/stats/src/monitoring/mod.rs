//! Monitoring statistics as NannyML 0.13.1 computes them, to 1e-6 on its own answers
//! (`tests/data/make_nannyml_reference.py`): size-based chunks and standard-deviation
//! thresholds (`threshold`), confidence-based performance estimation of a binary
//! classifier (`cbpe`, with NannyML's isotonic calibration of scores and its check whether
//! calibration helps) and multivariate drift by data reconstruction (`reconstruction`, with
//! a hand-written Jacobi eigen-decomposition for its PCA).
//!
//! Reproducing NannyML's calibration check needs scikit-learn's stratified splits drawn from
//! NumPy's legacy random generator, so both are here too (`numpy_rng`, `split`), private.

mod auc;
mod calibration;
pub mod cbpe;
mod eigen;
mod isotonic;
mod numpy_rng;
pub mod reconstruction;
mod split;
pub mod threshold;

pub use auc::{estimate_roc_auc, roc_auc};
pub use calibration::{CalibrationCheck, needs_calibration};
pub use cbpe::{Cbpe, Estimate, Metric, realized};
pub use isotonic::Isotonic;
pub use reconstruction::{Feature, Reconstruction, ReconstructionError};
pub use threshold::{Thresholds, size_chunks};
