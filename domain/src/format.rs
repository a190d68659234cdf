//! Numbers as a trader reads them: thousands separators, fixed decimals, bps and %.
use rust_decimal::{Decimal, RoundingStrategy};

/// `1234567.891` -> `1,234,567.89`; negative values keep a leading minus.
pub fn money(d: Decimal) -> String {
    grouped(d, 2)
}

/// Signed money for PnL: `+1,234.50` / `-12.00`.
pub fn pnl(d: Decimal) -> String {
    let s = money(d);
    if d > Decimal::ZERO { format!("+{s}") } else { s }
}

/// A quantity or price with up to `dp` decimals, trailing zeros removed.
pub fn decimal(d: Decimal, dp: u32) -> String {
    let r = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero).normalize();
    let scale = r.scale();
    grouped(r, scale)
}

fn grouped(d: Decimal, dp: u32) -> String {
    let r = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.*}", dp as usize, r.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (text.clone(), None),
    };
    let mut out = String::with_capacity(text.len() + int.len() / 3 + 1);
    if r.is_sign_negative() && !r.is_zero() {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(&f);
    }
    out
}

/// A fraction as a percentage: `0.1234` -> `12.34%`.
pub fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

pub fn bps(x: f64) -> String {
    format!("{x:.2} bps")
}

pub fn ratio(x: f64) -> String {
    format!("{x:.2}")
}

pub fn ms(x: f64) -> String {
    if x >= 10_000.0 { format!("{:.1} s", x / 1000.0) } else { format!("{x:.0} ms") }
}

pub fn opt<T>(x: Option<T>, f: impl Fn(T) -> String) -> String {
    x.map(f).unwrap_or_else(|| "—".to_string())
}

/// A timestamp to the millisecond, `2024-03-01 14:30:05.123` (UTC): as chrono's
/// `%Y-%m-%d %H:%M:%S%.3f`, written out by hand so the browser bundle carries no strftime parser.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    format!("{}:{:02}.{:03}", minute(t), t.second(), (t.nanosecond() % 1_000_000_000) / 1_000_000)
}

/// A timestamp to the minute, `2024-03-01 14:30` (UTC): chrono's `%Y-%m-%d %H:%M`.
pub fn minute(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), t.month(), t.day(), t.hour(), t.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn timestamps_read_as_strftime_would_write_them() {
        use chrono::{TimeZone, Utc};
        let times = [
            Utc.timestamp_millis_opt(0).single(),
            Utc.timestamp_millis_opt(1_709_303_405_123).single(),
            Utc.timestamp_millis_opt(4_102_444_799_999).single(),
            Utc.timestamp_opt(1_700_000_000, 999_999_999).single(),
            Utc.timestamp_opt(1_700_000_000, 5_000_000).single(),
        ];
        for t in times.into_iter().flatten() {
            assert_eq!(timestamp(t), t.format("%Y-%m-%d %H:%M:%S%.3f").to_string());
            assert_eq!(minute(t), t.format("%Y-%m-%d %H:%M").to_string());
        }
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(d("1234567.891")), "1,234,567.89");
        assert_eq!(money(d("-1234.5")), "-1,234.50");
        assert_eq!(money(d("999")), "999.00");
        assert_eq!(money(d("-0.001")), "0.00");
        assert_eq!(pnl(d("12")), "+12.00");
    }

    #[test]
    fn decimals_drop_trailing_zeros() {
        assert_eq!(decimal(d("1.10000"), 4), "1.1");
        assert_eq!(decimal(d("12000"), 2), "12,000");
    }

    #[test]
    fn fractions_and_bps() {
        assert_eq!(pct(0.1234), "12.34%");
        assert_eq!(bps(3.456), "3.46 bps");
        assert_eq!(opt(None::<f64>, pct), "—");
    }
}
