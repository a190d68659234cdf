//! Reference data bundled with the binary: the S&P 500 index (the metrics' benchmark and the
//! regime labels) and the factor ETFs (attribution). Parsed once, on first use.

/// The benchmark of the metrics: the bundled S&P 500 index, parsed once.
pub fn sp500() -> Option<&'static std::collections::BTreeMap<chrono::NaiveDate, f64>> {
    static INDEX: std::sync::OnceLock<Option<std::collections::BTreeMap<chrono::NaiveDate, f64>>> = std::sync::OnceLock::new();
    INDEX
        .get_or_init(|| match engine::data::sp500_index_returns() {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "loading the bundled S&P 500 index");
                None
            }
        })
        .as_ref()
}

/// The S&P 500's regime labels with the default parameters, made once.
pub fn sp500_regimes() -> Option<&'static std::collections::BTreeMap<chrono::NaiveDate, domain::regime::Labels>> {
    static LABELS: std::sync::OnceLock<Option<std::collections::BTreeMap<chrono::NaiveDate, domain::regime::Labels>>> = std::sync::OnceLock::new();
    LABELS.get_or_init(|| sp500().map(|b| domain::regime::classify(b, &domain::regime::RegimeParams::default()))).as_ref()
}

/// Daily returns of the factor ETFs, compiled into the binary, parsed once.
pub fn factors() -> Option<&'static domain::analytics::FactorReturns> {
    static FACTORS: std::sync::OnceLock<Option<domain::analytics::FactorReturns>> = std::sync::OnceLock::new();
    FACTORS
        .get_or_init(|| match engine::data::factor_returns_embedded() {
            Ok(r) => Some(domain::analytics::FactorReturns::from_daily(r)),
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "loading the bundled factor ETFs");
                None
            }
        })
        .as_ref()
}
