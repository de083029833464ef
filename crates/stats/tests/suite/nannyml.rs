//! `riskops_stats::monitoring` against NannyML 0.13.1 (`tests/data/nannyml_reference.json`,
//! written by `tests/data/make_nannyml_reference.py` from the credit-default data in
//! `tests/data/nannyml/*.csv`): every chunk of the reference and the analysis, every
//! estimated metric's value, sampling error, band, thresholds and alert, the realized values
//! where labels exist, and the calibration decision, to 1e-6 (the tolerance; the
//! observed differences are float rounding, ~1e-12).

use riskops_stats::monitoring::{Cbpe, Feature, Metric, Reconstruction, needs_calibration, realized, size_chunks};

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

/// A CSV's feature columns: numbers, or text borrowed from the CSV (`None` when empty).
struct Columns<'a> {
    numbers: Vec<Vec<f64>>,
    text: Vec<Vec<Option<&'a str>>>,
    categorical: Vec<bool>,
}

impl<'a> Columns<'a> {
    fn new(csv: &'a Csv, names: &[&str], categorical: &[&str]) -> Columns<'a> {
        let is_cat: Vec<bool> = names.iter().map(|n| categorical.contains(n)).collect();
        Columns {
            numbers: names.iter().zip(&is_cat).map(|(n, &c)| if c { Vec::new() } else { csv.num(n) }).collect(),
            text: names
                .iter()
                .zip(&is_cat)
                .map(|(n, &c)| {
                    if c { csv.text(n).into_iter().map(|v| (!v.is_empty()).then_some(v)).collect() } else { Vec::new() }
                })
                .collect(),
            categorical: is_cat,
        }
    }

    fn features(&self, range: std::ops::Range<usize>) -> Vec<Feature<'_>> {
        (0..self.categorical.len())
            .map(|j| {
                if self.categorical[j] {
                    Feature::Categorical(&self.text[j][range.clone()])
                } else {
                    Feature::Continuous(&self.numbers[j][range.clone()])
                }
            })
            .collect()
    }
}

#[test]
fn reconstruction_error_equals_nannyml_on_every_chunk() {
    check_reconstruction("drc", false);
}

/// A column of one value (0.1, whose computed variance is a rounding residue) is constant
/// to scikit-learn's StandardScaler, and so here: the analysis' 0.2 in it moves the error
/// a little, not by 1e14.
#[test]
fn reconstruction_treats_a_rounding_residue_variance_as_constant() {
    check_reconstruction("drc_with_constant_column", true);
}

fn check_reconstruction(case: &str, constant: bool) {
    let doc = Json::parse(REFERENCE);
    let chunk_size = doc.get("chunk_size").num() as usize;
    let drc = doc.get(case);
    let categorical: Vec<&str> = drc.get("categorical").arr().iter().map(Json::str).collect();
    let names: Vec<&str> = doc.get("features").arr().iter().map(Json::str).collect();
    let (reference, analysis) = (Csv::parse(REFERENCE_CSV), Csv::parse(ANALYSIS_CSV));
    let (ref_cols, ana_cols) =
        (Columns::new(&reference, &names, &categorical), Columns::new(&analysis, &names, &categorical));
    let (mut ref_cols, mut ana_cols) = (ref_cols, ana_cols);
    if constant {
        for (cols, rows, value) in
            [(&mut ref_cols, reference.rows.len(), 0.1), (&mut ana_cols, analysis.rows.len(), 0.2)]
        {
            cols.numbers.push(vec![value; rows]);
            cols.text.push(Vec::new());
            cols.categorical.push(false);
        }
    }
    let model = Reconstruction::fit(&ref_cols.features(0..reference.rows.len()), chunk_size).unwrap();
    assert_eq!(model.components(), drc.get("n_components").num() as usize, "components kept");
    let mut alerts = 0;
    for (period, cols, rows) in
        [("reference", &ref_cols, reference.rows.len()), ("analysis", &ana_cols, analysis.rows.len())]
    {
        let expected = drc.get(period).arr();
        let chunks = size_chunks(rows, chunk_size);
        assert_eq!(chunks.len(), expected.len());
        for (k, (range, want)) in chunks.into_iter().zip(expected).enumerate() {
            let got = model.error(&cols.features(range)).unwrap();
            let what = |f: &str| format!("{case} {period} chunk {k} reconstruction_error {f}");
            close(got.value, want.get("value").opt_num(), &what("value"));
            close(got.sampling_error, want.get("sampling_error").opt_num(), &what("sampling_error"));
            close(got.lower, want.get("lower").opt_num(), &what("lower"));
            close(got.upper, want.get("upper").opt_num(), &what("upper"));
            close(got.thresholds.lower, want.get("lower_threshold").opt_num(), &what("lower_threshold"));
            close(got.thresholds.upper, want.get("upper_threshold").opt_num(), &what("upper_threshold"));
            assert_eq!(got.alert, want.get("alert").bool(), "{}", what("alert"));
            alerts += usize::from(got.alert);
        }
    }
    // The fixture's shuffled BILL_AMT2 (analysis chunks 5 and 6) is what alerts.
    assert!(alerts >= 2, "the relational shift must alert");
}
