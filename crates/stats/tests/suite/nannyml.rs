//! `riskops_stats::monitoring` against NannyML 0.13.1 (`tests/data/nannyml_reference.json`,
//! written by `tests/data/make_nannyml_reference.py` from the credit-default data in
//! `tests/data/nannyml/*.csv`): every chunk of the reference and the analysis, every
//! estimated metric's value, sampling error, band, thresholds and alert, the realized values
//! where labels exist, and the calibration decision, to 1e-6 (the tolerance; the
//! observed differences are float rounding, ~1e-12).

use riskops_stats::monitoring::{Cbpe, Metric, needs_calibration, realized, size_chunks};

use super::json::Json;

const REFERENCE: &str = include_str!("../data/nannyml_reference.json");
pub const REFERENCE_CSV: &str = include_str!("../data/nannyml/reference.csv");
pub const ANALYSIS_CSV: &str = include_str!("../data/nannyml/analysis.csv");
const TOL: f64 = 1e-6;

/// The committed CSVs as columns of text (no quoting in these files).
pub struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    pub fn parse(text: &str) -> Csv {
        let mut lines = text.lines();
        let header = lines.next().unwrap().split(',').map(str::to_owned).collect();
        let rows = lines.filter(|l| !l.is_empty()).map(|l| l.split(',').map(str::to_owned).collect()).collect();
        Csv { header, rows }
    }

    pub fn text(&self, name: &str) -> Vec<&str> {
        let i = self.header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
        self.rows.iter().map(|r| r[i].as_str()).collect()
    }

    /// Numbers, an empty field as NaN.
    pub fn num(&self, name: &str) -> Vec<f64> {
        self.text(name).iter().map(|v| if v.is_empty() { f64::NAN } else { v.parse().unwrap() }).collect()
    }
}

fn close(got: f64, want: Option<f64>, what: &str) {
    match want {
        None => assert!(got.is_nan(), "{what}: got {got}, NannyML NaN"),
        Some(w) => assert!((got - w).abs() <= TOL * w.abs().max(1.0), "{what}: got {got}, NannyML {w}"),
    }
}

#[test]
fn cbpe_equals_nannyml_on_every_chunk() {
    let doc = Json::parse(REFERENCE);
    let chunk_size = doc.get("chunk_size").num() as usize;
    let (reference, analysis) = (Csv::parse(REFERENCE_CSV), Csv::parse(ANALYSIS_CSV));
    let bools = |v: Vec<f64>| v.iter().map(|&x| x == 1.0).collect::<Vec<bool>>();
    for case in doc.get("cbpe").arr() {
        let column = case.get("score_column").str();
        let scores = reference.num(column);
        let predictions = bools(reference.num("prediction"));
        let labels = bools(reference.num("label"));
        let check = needs_calibration(&scores, &labels);
        assert_eq!(check.needed, case.get("needs_calibration").bool(), "{column}: needs_calibration");
        close(check.ece_before.unwrap(), case.get("ece_before").opt_num(), "ece before");
        // After calibration many held-out scores tie; NumPy's unstable argsort puts ties in
        // an order nothing else reproduces, so ours is NannyML's ECE with a stable sort (the
        // fixture has both; the decision above is NannyML's own).
        close(check.ece_after.unwrap(), case.get("ece_after_stable_order").opt_num(), "ece after");
        let cbpe = Cbpe::fit(&scores, &predictions, &labels, chunk_size).unwrap();
        for (period, data) in [("reference", &reference), ("analysis", &analysis)] {
            let scores = data.num(column);
            let predictions = bools(data.num("prediction"));
            let label_values = data.num("label");
            let chunks = size_chunks(scores.len(), chunk_size);
            let expected = case.get(period).arr();
            assert_eq!(chunks.len(), expected.len(), "{column} {period}: chunks");
            for (k, (range, want)) in chunks.iter().zip(expected).enumerate() {
                assert_eq!(range.start, want.get("start").num() as usize);
                assert_eq!(range.end - 1, want.get("end").num() as usize);
                let estimates = cbpe.estimate(&scores[range.clone()], &predictions[range.clone()]);
                let labelled = label_values[range.clone()].iter().all(|v| !v.is_nan());
                let truth = labelled.then(|| {
                    let labels = bools(label_values[range.clone()].to_vec());
                    realized(&scores[range.clone()], &predictions[range.clone()], &labels)
                });
                for (m, e) in Metric::ALL.iter().zip(&estimates) {
                    let w = want.get(m.name());
                    let what = |field: &str| format!("{column} {period} chunk {k} {} {field}", m.name());
                    close(e.value, w.get("value").opt_num(), &what("value"));
                    close(e.sampling_error, w.get("sampling_error").opt_num(), &what("sampling_error"));
                    close(e.lower, w.get("lower").opt_num(), &what("lower"));
                    close(e.upper, w.get("upper").opt_num(), &what("upper"));
                    close(e.thresholds.lower, w.get("lower_threshold").opt_num(), &what("lower_threshold"));
                    close(e.thresholds.upper, w.get("upper_threshold").opt_num(), &what("upper_threshold"));
                    assert_eq!(e.alert, w.get("alert").bool(), "{}", what("alert"));
                    let realized = truth.map_or(f64::NAN, |t| t[*m as usize]);
                    close(realized, w.get("realized").opt_num(), &what("realized"));
                }
            }
        }
    }
}
