//! The crate's one integration-test binary (each test file is a separate link step, slow
//! on 2 cores): reference vectors from scipy/numpy, and the sketches' properties.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod suite {
    pub mod generator;
    pub mod reference;
    pub mod sketch;
}
