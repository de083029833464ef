//! The crate's one integration-test binary (each test file is a separate link step, slow
//! on 2 cores): reference vectors from scipy/numpy, the sketches' properties, and the
//! performance/fairness metrics against scikit-learn/fairlearn.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod suite {
    pub mod ecod;
    pub mod generator;
    pub mod json;
    pub mod metrics;
    pub mod nannyml;
    pub mod reference;
    pub mod sketch;
    pub mod sketch_properties;
}
