//! The drift methods: their names, what they return and how they decide.

use crate::report::ColumnType;

/// A two-sample test (decides on a p-value) or a distance (decides on its size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Ks,
    Wasserstein,
    JensenShannon,
    Psi,
    Kl,
    Hellinger,
    Tvd,
    ChiSquare,
    ChiSquareContingency,
    ZTest,
    Anderson,
    CramerVonMises,
    Energy,
    MannWhitney,
    Fisher,
    GTest,
    Mmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// Drift when the p-value is below the threshold.
    PValue,
    /// Drift when the distance reaches the threshold.
    Distance,
}

impl Method {
    pub const ALL: [Method; 17] = [
        Method::Ks,
        Method::Wasserstein,
        Method::JensenShannon,
        Method::Psi,
        Method::Kl,
        Method::Hellinger,
        Method::Tvd,
        Method::ChiSquare,
        Method::ChiSquareContingency,
        Method::ZTest,
        Method::Anderson,
        Method::CramerVonMises,
        Method::Energy,
        Method::MannWhitney,
        Method::Fisher,
        Method::GTest,
        Method::Mmd,
    ];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::Wasserstein => "wasserstein",
            Method::JensenShannon => "jensenshannon",
            Method::Psi => "psi",
            Method::Kl => "kl",
            Method::Hellinger => "hellinger",
            Method::Tvd => "tvd",
            Method::ChiSquare => "chisquare",
            Method::ChiSquareContingency => "chisquare_contingency",
            Method::ZTest => "ztest",
            Method::Anderson => "anderson",
            Method::CramerVonMises => "cramervonmises",
            Method::Energy => "energy",
            Method::MannWhitney => "mannwhitney",
            Method::Fisher => "fisher",
            Method::GTest => "gtest",
            Method::Mmd => "mmd",
        }
    }

    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// What a person reads in a report.
    pub fn title(self) -> &'static str {
        match self {
            Method::Ks => "Kolmogorov–Smirnov test",
            Method::Wasserstein => "Wasserstein distance (normed)",
            Method::JensenShannon => "Jensen–Shannon distance",
            Method::Psi => "Population stability index",
            Method::Kl => "Kullback–Leibler divergence",
            Method::Hellinger => "Hellinger distance",
            Method::Tvd => "Total variation distance",
            Method::ChiSquare => "Chi-square test (Evidently)",
            Method::ChiSquareContingency => "Chi-square test of independence",
            Method::ZTest => "Z-test for two proportions",
            Method::Anderson => "Anderson–Darling k-sample test",
            Method::CramerVonMises => "Cramér–von Mises test",
            Method::Energy => "Energy distance",
            Method::MannWhitney => "Mann–Whitney U test",
            Method::Fisher => "Fisher's exact test",
            Method::GTest => "G-test",
            Method::Mmd => "Maximum mean discrepancy (RBF)",
        }
    }

    pub fn kind(self) -> MethodKind {
        match self {
            Method::Wasserstein
            | Method::JensenShannon
            | Method::Psi
            | Method::Kl
            | Method::Hellinger
            | Method::Tvd
            | Method::Energy
            | Method::Mmd => MethodKind::Distance,
            _ => MethodKind::PValue,
        }
    }

    /// The default threshold, Evidently's for the methods it has: 0.05 for KS, chi-square,
    /// Z and Mann–Whitney; 0.1 for Anderson–Darling, Cramér–von Mises, Fisher, G-test and
    /// every distance.
    pub fn default_threshold(self) -> f64 {
        match self {
            Method::Anderson | Method::CramerVonMises | Method::Fisher | Method::GTest => 0.1,
            _ => match self.kind() {
                MethodKind::PValue => crate::rules::P_VALUE_THRESHOLD,
                MethodKind::Distance => crate::rules::DISTANCE_THRESHOLD,
            },
        }
    }

    /// Whether `score` means drift at `threshold`, with Evidently's comparison for each:
    /// KS and Cramér–von Mises `p <= t`, other tests `p < t`; energy distance `d > t`,
    /// other distances `d >= t`. A NaN score never means drift.
    pub fn drifted(self, score: f64, threshold: f64) -> bool {
        match (self, self.kind()) {
            (Method::Ks | Method::CramerVonMises, _) => score <= threshold,
            (_, MethodKind::PValue) => score < threshold,
            (Method::Energy, _) => score > threshold,
            (_, MethodKind::Distance) => score >= threshold,
        }
    }

    /// Methods on raw values need numbers; methods on frequencies take either type.
    pub fn needs_numbers(self) -> bool {
        matches!(
            self,
            Method::Ks
                | Method::Wasserstein
                | Method::Anderson
                | Method::CramerVonMises
                | Method::Energy
                | Method::MannWhitney
                | Method::Mmd
        )
    }

    /// Why this method cannot be used on a column of `column_type`, if it cannot.
    pub fn unfit_for(self, column_type: ColumnType) -> Option<String> {
        (self.needs_numbers() && column_type == ColumnType::Categorical)
            .then(|| "it compares numeric values and the column is categorical (use --numerical to override)".into())
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.name()), Some(m));
        }
        assert_eq!(Method::parse("t-test"), None);
    }

    #[test]
    fn thresholds_compare_as_evidently_does() {
        assert!(Method::Ks.drifted(0.05, 0.05));
        assert!(!Method::ChiSquare.drifted(0.05, 0.05));
        assert!(Method::ChiSquare.drifted(0.049, 0.05));
        assert!(Method::Wasserstein.drifted(0.1, 0.1));
        assert!(!Method::JensenShannon.drifted(0.099, 0.1));
        assert!(!Method::Energy.drifted(0.1, 0.1));
        assert!(Method::CramerVonMises.drifted(0.1, 0.1));
        assert!(!Method::Ks.drifted(f64::NAN, 0.05) && !Method::Psi.drifted(f64::NAN, 0.1));
        assert_eq!(Method::GTest.default_threshold(), 0.1);
    }
}
