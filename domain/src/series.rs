//! Time series shared by every feature and chart: a point, and downsampling for charts.
//! Imports no feature.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Milliseconds since the Unix epoch (UTC).
    pub t: i64,
    pub v: f64,
}

/// Midnight (UTC) of `day` as a [`Point`]'s time: a daily figure's place on a time axis.
pub fn day_ms(day: chrono::NaiveDate) -> i64 {
    day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis()
}

/// Keeps at most `max` points, evenly spaced, always including the last one.
pub fn downsample(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    let step = (points.len() - 1) as f64 / (max - 1) as f64;
    (0..max).map(|i| points[((i as f64 * step).round() as usize).min(points.len() - 1)]).collect()
}
