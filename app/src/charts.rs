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
    let mut buf = String::new();
    let (t0, t1) = data.clone().fold((i64::MAX, i64::MIN), |(a, b), (t, _)| (a.min(t), b.max(t)));
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
        if area {
            chart.draw_series(AreaSeries::new(data, 0.0, color.mix(0.25)).border_style(color.stroke_width(2)))?;
        } else {
            chart.draw_series(LineSeries::new(data, color.stroke_width(2)))?;
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
}
