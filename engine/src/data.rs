//! Loading the bundled real market data (see `data/README.md` for sources).
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetClass {
    /// US equities: daily adjusted closes only.
    Equity,
    /// Spot FX: hourly OHLC.
    Fx,
}

/// One bar of one instrument, stamped with the time its close is known.
#[derive(Debug, Clone)]
pub struct Bar {
    pub ts: DateTime<Utc>,
    pub instrument: String,
    pub class: AssetClass,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
}

/// Bars grouped by the time they become known, oldest first.
pub type Timeline = BTreeMap<DateTime<Utc>, Vec<Bar>>;

fn read_maybe_gz(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice()).read_to_string(&mut s).with_context(|| format!("gunzip {}", path.display()))?;
        Ok(s)
    } else {
        String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))
    }
}

/// A daily bar is stamped 15:59 New York (DST-correct): the engine trades it in the closing
/// minute, inside the exchange's regular hours, as a market-on-close desk would.
fn close_time(date: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    let local = date.and_hms_opt(15, 59, 0).unwrap_or_default();
    chrono_tz::America::New_York.from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| local.and_utc())
}

/// Wide daily closes (`Date,<ticker>...`): the skfolio S&P 500 and factor files.
pub fn load_wide_closes(path: &Path, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Vec<Bar>> {
    wide_closes(&read_maybe_gz(path)?, from, to)
}

fn wide_closes(text: &str, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Vec<Bar>> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec?;
        let date = NaiveDate::parse_from_str(rec.get(0).unwrap_or_default(), "%Y-%m-%d").context("bad date")?;
        if from.is_some_and(|f| date < f) || to.is_some_and(|t| date > t) {
            continue;
        }
        for (i, name) in headers.iter().enumerate().skip(1) {
            let Some(Ok(close)) = rec.get(i).filter(|s| !s.is_empty()).map(Decimal::from_str) else { continue };
            if close <= Decimal::ZERO {
                continue;
            }
            out.push(Bar {
                ts: close_time(date),
                instrument: name.clone(),
                class: AssetClass::Equity,
                open: close,
                high: close,
                low: close,
                close,
                volume: Decimal::ZERO,
            });
        }
    }
    Ok(out)
}

/// OHLCV bars (`,Open,High,Low,Close,Volume`, first column the bar's start): backtesting.py's
/// EURUSD hourly file. The close is known one `bar` after the start. Times taken as UTC.
pub fn load_ohlcv(path: &Path, instrument: &str, bar: Duration, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Vec<Bar>> {
    let text = read_maybe_gz(path)?;
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec?;
        let start = NaiveDateTime::parse_from_str(rec.get(0).unwrap_or_default(), "%Y-%m-%d %H:%M:%S")
            .context("bad bar time")?
            .and_utc();
        let date = start.date_naive();
        if from.is_some_and(|f| date < f) || to.is_some_and(|t| date > t) {
            continue;
        }
        let num = |i: usize| -> Result<Decimal> {
            Decimal::from_str(rec.get(i).unwrap_or_default()).with_context(|| format!("bad number in column {i}"))
        };
        let (open, high, low, close) = (num(1)?, num(2)?, num(3)?, num(4)?);
        if close <= Decimal::ZERO || low <= Decimal::ZERO {
            bail!("non-positive price at {start}");
        }
        out.push(Bar { ts: start + bar, instrument: instrument.to_string(), class: AssetClass::Fx, open, high, low, close, volume: num(5)? });
    }
    Ok(out)
}

pub fn timeline(bars: impl IntoIterator<Item = Bar>) -> Timeline {
    let mut t = Timeline::new();
    for b in bars {
        t.entry(b.ts).or_default().push(b);
    }
    t
}

/// The bundled S&P 500 index closes (`data/sp500_index.csv.gz`), compiled in: the benchmark
/// of the performance metrics.
const SP500_INDEX_GZ: &[u8] = include_bytes!("../../data/sp500_index.csv.gz");

/// Daily simple returns of the S&P 500 index (close over previous close), by date, 1990-2022.
pub fn sp500_index_returns() -> Result<BTreeMap<NaiveDate, f64>> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(SP500_INDEX_GZ).read_to_string(&mut text).context("gunzip the bundled S&P 500 index")?;
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut out = BTreeMap::new();
    let mut prev: Option<f64> = None;
    for rec in rdr.records() {
        let rec = rec?;
        let date = NaiveDate::parse_from_str(rec.get(0).unwrap_or_default(), "%Y-%m-%d").context("bad date in the S&P 500 index")?;
        let close: f64 = rec.get(1).unwrap_or_default().parse().context("bad close in the S&P 500 index")?;
        if let Some(p) = prev.filter(|p| *p > 0.0) {
            out.insert(date, close / p - 1.0);
        }
        prev = Some(close);
    }
    Ok(out)
}

/// The factor ETFs' daily closes, compiled into the binary: the console's factor attribution
/// needs them without a data directory.
const FACTORS_GZ: &[u8] = include_bytes!("../../data/factors_dataset.csv.gz");

/// Daily simple returns of the five factor ETFs in the order of `domain::analytics::FACTORS`
/// (MTUM, QUAL, SIZE, USMV, VLUE), on the dates all five have one, from the embedded file.
pub fn factor_returns_embedded() -> Result<BTreeMap<NaiveDate, [f64; 5]>> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(FACTORS_GZ).read_to_string(&mut text).context("gunzip the bundled factor ETFs")?;
    let by_date = returns_of(wide_closes(&text, None, None)?);
    Ok(by_date
        .into_iter()
        .filter_map(|(d, rs)| {
            let get = |k: &str| rs.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|x| x.1);
            let mut row = [0.0; 5];
            for (slot, k) in row.iter_mut().zip(domain::analytics::FACTORS) {
                *slot = get(k)?;
            }
            Some((d, row))
        })
        .collect())
}

/// Daily simple returns of the factor ETFs (MTUM, QUAL, SIZE, USMV, VLUE), by date.
pub fn factor_returns(path: &Path) -> Result<BTreeMap<NaiveDate, Vec<(String, f64)>>> {
    Ok(returns_of(load_wide_closes(path, None, None)?))
}

fn returns_of(bars: Vec<Bar>) -> BTreeMap<NaiveDate, Vec<(String, f64)>> {
    let mut last: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut out: BTreeMap<NaiveDate, Vec<(String, f64)>> = BTreeMap::new();
    for b in bars {
        if let Some(prev) = last.insert(b.instrument.clone(), b.close) {
            let r = rust_decimal::prelude::ToPrimitive::to_f64(&(b.close / prev)).unwrap_or(1.0) - 1.0;
            out.entry(b.ts.date_naive()).or_default().push((b.instrument, r));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn data(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data").join(name)
    }

    #[test]
    fn loads_the_bundled_sp500_closes() -> Result<()> {
        let from = NaiveDate::from_ymd_opt(2022, 12, 1);
        let bars = load_wide_closes(&data("sp500_dataset.csv.gz"), from, None)?;
        let t = timeline(bars);
        let (_, last) = t.iter().next_back().context("empty")?;
        assert_eq!(last.len(), 20, "20 stocks on the last day");
        assert!(last.iter().any(|b| b.instrument == "AAPL"));
        Ok(())
    }

    #[test]
    fn the_embedded_benchmark_has_every_day() -> Result<()> {
        let r = sp500_index_returns()?;
        assert_eq!(r.len(), 8312);
        let d = NaiveDate::from_ymd_opt(1990, 1, 3).context("date")?;
        assert!((r[&d] - (358.76 / 359.69 - 1.0)).abs() < 1e-15);
        Ok(())
    }

    #[test]
    fn the_embedded_factors_match_the_file() -> Result<()> {
        let embedded = factor_returns_embedded()?;
        let file = factor_returns(&data("factors_dataset.csv.gz"))?;
        let d = NaiveDate::from_ymd_opt(2014, 1, 3).context("date")?;
        assert!((embedded[&d][0] - (52.792 / 52.704 - 1.0)).abs() < 1e-12, "MTUM first");
        assert_eq!(embedded.len(), file.values().filter(|v| v.len() == 5).count());
        Ok(())
    }

    #[test]
    fn loads_eurusd_hourly() -> Result<()> {
        let bars = load_ohlcv(&data("EURUSD.csv"), "EURUSD", Duration::hours(1), None, None)?;
        assert_eq!(bars.len(), 5000);
        assert!(bars.iter().all(|b| b.low <= b.close && b.close <= b.high));
        Ok(())
    }
}
