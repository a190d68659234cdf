//! Charts drawn with plotters to SVG strings. The same functions run on the server (first
//! render) and in the browser (live updates), so a chart never changes shape on hydration.
use domain::metrics;
use domain::view::Point;
use plotters::prelude::*;

const LINE: RGBColor = RGBColor(37, 99, 235);
const LOSS: RGBColor = RGBColor(220, 38, 38);
const GRID: RGBColor = RGBColor(229, 231, 235);
const AXIS: RGBColor = RGBColor(75, 85, 99);

/// Dates for spans of days or more; hours and minutes within shorter spans.
fn time_label(span_ms: i64) -> impl Fn(&i64) -> String {
    let fmt = if span_ms < 3 * 86_400_000 { "%m-%d %H:%M" } else { "%Y-%m-%d" };
    move |ms: &i64| chrono::DateTime::from_timestamp_millis(*ms).map(|t| t.format(fmt).to_string()).unwrap_or_default()
}

/// Whole dollars with thousands separators: equity moves are small against its level, so
/// abbreviations like "1.00M" would make every tick read the same.
fn money_label(v: &f64) -> String {
    rust_decimal::Decimal::from_f64_retain(v.round())
        .map(|d| domain::format::decimal(d, 0))
        .unwrap_or_else(|| format!("{v:.0}"))
}

fn empty(w: u32, h: u32, message: &str) -> String {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let style = ("sans-serif", 14).into_font().color(&AXIS);
        let _ = root.draw_text(message, &style, (16, (h / 2) as i32));
        let _ = root.present();
    }
    buf
}

/// Equity (USD) over market time.
pub fn equity_svg(points: &[Point], w: u32, h: u32) -> String {
    if points.len() < 2 {
        return empty(w, h, "The equity curve appears once two market timestamps have arrived.");
    }
    let ys: Vec<f64> = points.iter().map(|p| p.v).collect();
    let (lo, hi) = ys.iter().fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(*y), hi.max(*y)));
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-4).max(1.0);
    line_chart(points.iter().map(|p| (p.t, p.v)), lo - pad, hi + pad, "Equity (USD)", &money_label, LINE, w, h, false)
}

/// Drawdown (% below the running peak) over market time; always <= 0.
pub fn drawdown_svg(points: &[Point], w: u32, h: u32) -> String {
    if points.len() < 2 {
        return empty(w, h, "The drawdown chart appears once two market timestamps have arrived.");
    }
    let ys: Vec<f64> = points.iter().map(|p| p.v).collect();
    let dd = metrics::drawdowns(&ys);
    let lo = dd.iter().copied().fold(0.0, f64::min).min(-0.001) * 1.1;
    let pct = |v: &f64| format!("{:.1}%", v * 100.0);
    line_chart(points.iter().zip(dd).map(|(p, d)| (p.t, d)), lo, 0.0, "Drawdown (%)", &pct, LOSS, w, h, true)
}

const BENCH: RGBColor = RGBColor(107, 114, 128);

/// Several lines over time on one y axis, with a legend; `pct`: y values are fractions shown
/// as %.
pub fn lines_svg(series: &[(&str, &[Point], bool)], y_desc: &str, pct: bool, when_empty: &str, w: u32, h: u32) -> String {
    let pts: Vec<&Point> = series.iter().flat_map(|(_, p, _)| p.iter()).collect();
    if pts.len() < 2 {
        return empty(w, h, when_empty);
    }
    let (lo, hi) = pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.v), hi.max(p.v)));
    let pad = ((hi - lo) * 0.05).max(1e-6);
    // Enough decimals that neighbouring ticks differ (a quiet series moves in hundredths of %).
    let span = if pct { (hi - lo) * 100.0 } else { hi - lo };
    let dp = ((-(span / 6.0).max(1e-9).log10()).ceil().max(1.0) as usize).min(5);
    let y_fmt = move |v: &f64| if pct { format!("{:.dp$}%", v * 100.0) } else { format!("{v:.dp$}") };
    let lines: Vec<Line> = series
        .iter()
        .map(|(name, points, primary)| Line { name: Some(name), data: points.iter().map(|p| (p.t, p.v)).collect(), color: if *primary { LINE } else { BENCH }, width: if *primary { 2 } else { 1 }, area: false })
        .collect();
    time_chart(&lines, lo - pad, hi + pad, y_desc, &y_fmt, w, h)
}

/// Histogram of daily returns in 40 buckets (% of days per bucket) over a symmetric range that
/// holds the 1st to 99th percentiles (at most +/-10%; the tails beyond fall in the end buckets),
/// with the 95% historical VaR marked.
pub fn distribution_svg(returns: &[f64], var_95: Option<f64>, w: u32, h: u32) -> String {
    if returns.len() < 2 {
        return empty(w, h, "The distribution appears once the console has two days of returns.");
    }
    const EDGE: i32 = 20;
    let mut sorted = returns.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let range = at(0.01).abs().max(at(0.99).abs()).clamp(1e-5, 0.1) * 1.05;
    let bucket = range / f64::from(EDGE);
    let dp = ((-(range * 100.0 / 4.0).log10()).ceil().max(0.0) as usize).min(4);
    let mut counts = vec![0u32; (2 * EDGE) as usize];
    for r in returns {
        let i = ((r / bucket).floor() as i32).clamp(-EDGE, EDGE - 1) + EDGE;
        counts[i as usize] += 1;
    }
    let n = returns.len() as f64;
    let top = counts.iter().copied().max().unwrap_or(1) as f64 / n * 100.0;
    let mut buf = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root).margin(12).x_label_area_size(28).y_label_area_size(56).build_cartesian_2d(-range..range, 0f64..top * 1.1)?;
        chart
            .configure_mesh()
            .x_labels(9)
            .y_labels(5)
            .x_label_formatter(&|v| format!("{:.dp$}%", v * 100.0))
            .y_label_formatter(&|v| format!("{v:.0}%"))
            .x_desc("daily return")
            .y_desc("% of days")
            .axis_desc_style(("sans-serif", 12).into_font().color(&AXIS))
            .label_style(("sans-serif", 11).into_font().color(&AXIS))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .draw()?;
        chart.draw_series(counts.iter().enumerate().map(|(i, c)| {
            let x0 = f64::from(i as i32 - EDGE) * bucket;
            let color = if x0 < 0.0 { LOSS } else { LINE };
            Rectangle::new([(x0, 0.0), (x0 + bucket, f64::from(*c) / n * 100.0)], color.mix(0.6).filled())
        }))?;
        if let Some(v) = var_95.filter(|v| v.abs() < range) {
            chart.draw_series(std::iter::once(PathElement::new(vec![(v, 0.0), (v, top * 1.05)], AXIS.stroke_width(2))))?.label("VaR 95%").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], AXIS.stroke_width(2)));
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(GRID).label_font(("sans-serif", 11)).draw()?;
        }
        root.present()?;
        Ok(())
    })()
    .is_ok();
    if drawn { buf } else { empty(w, h, "This chart could not be drawn.") }
}

#[allow(clippy::too_many_arguments)]
fn line_chart(
    data: impl Iterator<Item = (i64, f64)> + Clone,
    lo: f64,
    hi: f64,
    y_desc: &str,
    y_fmt: &dyn Fn(&f64) -> String,
    color: RGBColor,
    w: u32,
    h: u32,
    area: bool,
) -> String {
    time_chart(&[Line { name: None, data: data.collect(), color, width: 2, area }], lo, hi, y_desc, y_fmt, w, h)
}

/// One series of a time chart; named series get a legend entry.
struct Line<'a> {
    name: Option<&'a str>,
    data: Vec<(i64, f64)>,
    color: RGBColor,
    width: u32,
    area: bool,
}

/// Lines (or areas down to 0) over time, on one y axis from `lo` to `hi`.
fn time_chart(lines: &[Line], lo: f64, hi: f64, y_desc: &str, y_fmt: &dyn Fn(&f64) -> String, w: u32, h: u32) -> String {
    let mut buf = String::new();
    let (t0, t1) = lines.iter().flat_map(|l| l.data.iter()).fold((i64::MAX, i64::MIN), |(a, b), (t, _)| (a.min(*t), b.max(*t)));
    let x_fmt = time_label(t1.saturating_sub(t0));
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(84)
            .build_cartesian_2d(t0..t1.max(t0 + 1), lo..hi)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(y_fmt)
            .y_desc(y_desc)
            .axis_desc_style(("sans-serif", 12).into_font().color(&AXIS))
            .label_style(("sans-serif", 11).into_font().color(&AXIS))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .draw()?;
        for l in lines {
            let (color, width) = (l.color, l.width);
            let drawn = if l.area {
                chart.draw_series(AreaSeries::new(l.data.iter().copied(), 0.0, color.mix(0.25)).border_style(color.stroke_width(width)))?
            } else {
                chart.draw_series(LineSeries::new(l.data.iter().copied(), color.stroke_width(width)))?
            };
            if let Some(name) = l.name {
                drawn.label(name).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
            }
        }
        if lines.iter().any(|l| l.name.is_some()) {
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(GRID).label_font(("sans-serif", 11)).draw()?;
        }
        root.present()?;
        Ok(())
    })()
    .is_ok();
    if drawn { buf } else { empty(w, h, "This chart could not be drawn.") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_the_axis_title() {
        let pts: Vec<Point> = (0..50).map(|i| Point { t: 1_500_000_000_000 + i * 86_400_000, v: 1e6 + (i as f64).sin() * 1e4 }).collect();
        let svg = equity_svg(&pts, 600, 240);
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("Equity (USD)"));
        assert!(drawdown_svg(&pts, 600, 240).contains("Drawdown (%)"));
        assert!(equity_svg(&pts[..1], 600, 240).contains("appears once"));
    }

    #[test]
    fn quiet_series_get_ticks_that_differ_and_the_histogram_marks_var() {
        let pts: Vec<Point> = (0..40).map(|i| Point { t: 1_500_000_000_000 + i * 86_400_000, v: (i as f64).sin() * 2e-4 }).collect();
        let svg = lines_svg(&[("Fund", &pts, true)], "Cumulative return (%)", true, "none yet", 600, 240);
        assert!(svg.contains("Fund") && svg.contains("0.010%"), "hundredths of a percent are labelled");
        assert!(lines_svg(&[("Fund", &pts[..1], true)], "x", true, "none yet", 600, 240).contains("none yet"));
        let returns: Vec<f64> = pts.iter().map(|p| p.v).collect();
        assert!(distribution_svg(&returns, Some(-1.5e-4), 400, 200).contains("VaR 95%"));
    }
}
