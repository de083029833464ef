//! Principal reasons for an adverse decision, from one record's SHAP contributions: the four
//! features that pushed the output furthest toward the adverse side, in words a notice to
//! the customer can use (ECOA / Regulation B, 12 CFR 1002.9: "a statement of specific
//! reasons", where more than four "would not be meaningful"; FCRA key factors likewise).
//!
//! The words come from the model version's `params.reason_texts` (column → phrase, reviewed
//! with the version like the rest of its metadata), e.g. `{"PAY_0": "Recent delinquency on
//! your account"}`; a feature without a phrase is named with its value. Only contributions
//! toward the adverse side count: a factor that helped the applicant is never a reason.

use serde_json::Value;

/// At most this many reasons (Regulation B's official interpretation).
pub const MAX_REASONS: usize = 4;

/// Which way of the explained output is adverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adverse {
    /// A higher output is worse: e.g. the log-odds of default.
    Increase,
    /// A lower output is worse: e.g. the log-odds of approval.
    Decrease,
}

impl Adverse {
    /// `increase` or `decrease`; anything else is a 422 naming them.
    pub fn parse(text: &str) -> crate::Result<Adverse> {
        match text {
            "increase" => Ok(Adverse::Increase),
            "decrease" => Ok(Adverse::Decrease),
            other => Err(crate::Error::invalid("adverse", format!("{other:?}: give increase or decrease"))),
        }
    }
}

/// One principal reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// 1 is the most important.
    pub rank: usize,
    pub feature: String,
    pub value: Option<String>,
    /// How far the feature moved the output toward the adverse side (positive).
    pub weight: f64,
    /// The statement for the notice.
    pub text: String,
}

/// The principal reasons among `(feature, value, contribution)`, strongest first.
pub fn adverse_reasons<'a>(
    contributions: impl IntoIterator<Item = (&'a str, Option<&'a str>, f64)>,
    adverse: Adverse,
    reason_texts: Option<&Value>,
) -> Vec<Reason> {
    let sign = match adverse {
        Adverse::Increase => 1.0,
        Adverse::Decrease => -1.0,
    };
    let mut against: Vec<(&str, Option<&str>, f64)> =
        contributions.into_iter().map(|(f, v, c)| (f, v, sign * c)).filter(|(_, _, w)| *w > 0.0).collect();
    against.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(b.0)));
    against
        .into_iter()
        .take(MAX_REASONS)
        .enumerate()
        .map(|(i, (feature, value, weight))| {
            let phrase = reason_texts.and_then(|t| t.get(feature)).and_then(Value::as_str);
            let text = match (phrase, value) {
                (Some(p), _) => p.to_string(),
                (None, Some(v)) => format!("The value of {feature} ({v}) weighed against the application"),
                (None, None) => format!("{feature} weighed against the application"),
            };
            Reason { rank: i + 1, feature: feature.to_string(), value: value.map(str::to_string), weight, text }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONTRIBUTIONS: [(&str, Option<&str>, f64); 6] = [
        ("PAY_0", Some("2"), 0.9),
        ("LIMIT_BAL", Some("20000"), 0.3),
        ("AGE", Some("24"), -0.5),
        ("BILL_AMT1", Some("15829"), 0.05),
        ("PAY_2", Some("2"), 0.4),
        ("PAY_AMT1", None, 0.2),
    ];

    #[test]
    fn the_four_strongest_factors_against_the_applicant_in_order() {
        let reasons = adverse_reasons(CONTRIBUTIONS, Adverse::Increase, None);
        let features: Vec<&str> = reasons.iter().map(|r| r.feature.as_str()).collect();
        assert_eq!(features, ["PAY_0", "PAY_2", "LIMIT_BAL", "PAY_AMT1"]);
        assert_eq!(reasons.iter().map(|r| r.rank).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(reasons[0].text, "The value of PAY_0 (2) weighed against the application");
        assert_eq!(reasons[3].text, "PAY_AMT1 weighed against the application");
    }

    #[test]
    fn a_factor_that_helped_is_never_a_reason_and_the_direction_can_be_turned() {
        let reasons = adverse_reasons(CONTRIBUTIONS, Adverse::Decrease, None);
        assert_eq!(reasons.len(), 1);
        assert_eq!((reasons[0].feature.as_str(), reasons[0].weight), ("AGE", 0.5));
        assert!(adverse_reasons([("x", None, -1.0)], Adverse::Increase, None).is_empty());
    }

    #[test]
    fn the_versions_reviewed_wording_is_used_where_it_has_one() {
        let texts = json!({"PAY_0": "Recent delinquency on your account", "PAY_2": 7});
        let reasons = adverse_reasons(CONTRIBUTIONS, Adverse::Increase, Some(&texts));
        assert_eq!(reasons[0].text, "Recent delinquency on your account");
        // A phrase that is not text is ignored rather than printed as JSON.
        assert_eq!(reasons[1].text, "The value of PAY_2 (2) weighed against the application");
    }

    #[test]
    fn unknown_directions_are_refused() {
        assert!(Adverse::parse("up").is_err());
        assert_eq!(Adverse::parse("decrease").unwrap(), Adverse::Decrease);
    }
}
