//! Bar charts drawn as SVG on the server: readable without JavaScript, on a phone (the drawing
//! scales to the page's width) and in print. Each has a title, a text alternative that reads
//! out every bar, labelled axes and the value beside each bar; the report's table under it
//! carries the same figures.

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Its label (a month, a practice).
    pub label: String,
    /// Its length; `None` draws no bar (withheld or not known).
    pub value: Option<f64>,
    /// The value as the table shows it ("12", "<5", "3.5").
    pub shown: String,
}

const WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 200.0;
const VALUE_WIDTH: f64 = 56.0;
const ROW: f64 = 26.0;
const TOP: f64 = 8.0;
const AXIS: f64 = 44.0;

/// Escapes text for XML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        format!("{}…", label.chars().take(max - 1).collect::<String>())
    }
}

/// A "nice" tick step for a range, so the axis reads 0, 5, 10 rather than 0, 3.7, 7.4.
fn tick_step(span: f64) -> f64 {
    if span <= 0.0 {
        return 1.0;
    }
    let rough = span / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= rough);
    step.unwrap_or(10.0 * magnitude)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A horizontal bar chart; negative values extend left of a zero line (a fall in anxiety).
/// `id` makes the title and description ids unique on the page.
pub fn bar_chart(id: &str, title: &str, label_axis: &str, value_axis: &str, bars: &[Bar]) -> String {
    let id = escape(id);
    let values: Vec<f64> = bars.iter().filter_map(|b| b.value).collect();
    let low = values.iter().copied().fold(0.0f64, f64::min);
    let high = values.iter().copied().fold(0.0f64, f64::max);
    let step = tick_step(high - low);
    let (low, high) = ((low / step).floor() * step, ((high / step).ceil() * step).max(step));
    let plot_left = LABEL_WIDTH;
    let plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let x = |v: f64| plot_left + (v - low) / (high - low) * plot_width;
    let height = TOP + ROW * bars.len().max(1) as f64 + AXIS;
    let plot_bottom = TOP + ROW * bars.len().max(1) as f64;

    let description: Vec<String> = bars.iter().map(|b| format!("{}: {}", b.label, b.shown)).collect();
    let description = if bars.is_empty() {
        "No data in this range.".to_string()
    } else {
        format!("{} by {}. {}.", value_axis, label_axis.to_lowercase(), description.join("; "))
    };
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(title),
        escape(&description)
    );
    // Grid lines and the value axis' ticks.
    let mut tick = low;
    while tick <= high + step / 2.0 {
        let tx = x(tick);
        svg.push_str(&format!(
            "<line x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{plot_bottom}\" class=\"grid\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
            plot_bottom + 14.0,
            number(tick)
        ));
        tick += step;
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\"><title>{}</title>{}</text>",
            plot_left - 6.0,
            y + ROW * 0.65,
            escape(&bar.label),
            escape(&shorten(&bar.label, 30))
        ));
        let end = match bar.value {
            Some(v) => {
                let (a, b) = (x(0.0_f64.max(low)), x(v));
                let (left, width) = if b >= a { (a, b - a) } else { (b, a - b) };
                svg.push_str(&format!(
                    "<rect x=\"{left:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"{}\"/>",
                    y + 4.0,
                    width.max(1.0),
                    ROW - 8.0,
                    if v < 0.0 { "bar negative" } else { "bar" }
                ));
                left + width
            }
            None => x(0.0_f64.max(low)),
        };
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{}</text>",
            end + 4.0,
            y + ROW * 0.65,
            escape(&bar.shown)
        ));
    }
    // The axes and their titles.
    svg.push_str(&format!(
        "<line x1=\"{plot_left}\" y1=\"{TOP}\" x2=\"{plot_left}\" y2=\"{plot_bottom}\" class=\"axis\"/>\
         <line x1=\"{plot_left}\" y1=\"{plot_bottom}\" x2=\"{:.1}\" y2=\"{plot_bottom}\" class=\"axis\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis-title\" text-anchor=\"middle\">{}</text>\
         <text x=\"4\" y=\"{:.1}\" class=\"axis-title\">{}</text></svg>",
        plot_left + plot_width,
        plot_left + plot_width / 2.0,
        plot_bottom + 36.0,
        escape(value_axis),
        plot_bottom + 36.0,
        escape(label_axis)
    ));
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_read_out_every_bar() {
        let bars = vec![
            Bar { label: "<script>alert(1)</script>".into(), value: Some(12.0), shown: "12".into() },
            Bar { label: "Withheld".into(), value: None, shown: "<5".into() },
            Bar { label: "Anxiety".into(), value: Some(-1.5), shown: "-1.5".into() },
        ];
        let svg = bar_chart("c", "Title & more", "Month", "Referrals", &bars);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("<title id=\"c-title\">Title &amp; more</title>"));
        assert!(svg.contains("Withheld: &lt;5"), "the text alternative says the withheld value");
        assert!(svg.contains("class=\"bar negative\""));
        assert_eq!(svg.matches("<rect").count(), 2, "no bar for a withheld value");
        assert!(svg.contains(">Referrals</text>") && svg.contains(">Month</text>"), "both axes are titled");
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(23.0), 5.0);
        assert_eq!(tick_step(4.0), 1.0);
        assert_eq!(tick_step(0.0), 1.0);
        assert_eq!(tick_step(120.0), 25.0);
    }
}
