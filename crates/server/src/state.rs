//! What every handler can reach.

use riskops_core::Riskops;

#[derive(Clone)]
pub struct AppState {
    pub riskops: Riskops,
}
