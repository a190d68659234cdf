//! The methodology as pages (ssr only): `docs/methodology.md`, compiled into the binary and
//! rendered with pulldown-cmark, one page per `## ` section. The file is ours, but raw HTML in
//! it is shown as text, never passed through.
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

const METHODOLOGY: &str = include_str!("../../docs/methodology.md");

/// One `## ` section: its URL slug, its title and its body as HTML.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub slug: String,
    pub title: String,
    pub html: String,
}

/// `"Rolling Sharpe (63 d)"` -> `"rolling-sharpe-63-d"`.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        e => e,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    html
}

/// The sections of `markdown` in order; text before the first `## ` is the introduction.
pub fn sections_of(markdown: &str) -> Vec<Section> {
    // Split on level-2 headings, by their byte offsets in the source.
    let mut cuts: Vec<(usize, String)> = Vec::new();
    let mut title: Option<(usize, String)> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level: HeadingLevel::H2, .. }) => title = Some((range.start, String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, s)) = title.as_mut() {
                    s.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                if let Some(t) = title.take() {
                    cuts.push(t);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let first = cuts.first().map(|c| c.0).unwrap_or(markdown.len());
    // The introduction, without its `# ` title.
    let intro: String = markdown[..first].lines().filter(|l| !l.starts_with("# ")).collect::<Vec<_>>().join("\n");
    if !intro.trim().is_empty() {
        out.push(Section { slug: "introduction".into(), title: "Introduction".into(), html: render(&intro) });
    }
    for (i, (start, title)) in cuts.iter().enumerate() {
        let end = cuts.get(i + 1).map(|c| c.0).unwrap_or(markdown.len());
        let body = &markdown[*start..end];
        // Drop the heading line itself: the page prints the title.
        let body = body.split_once('\n').map(|(_, rest)| rest).unwrap_or("");
        out.push(Section { slug: slug(title), title: title.clone(), html: render(body) });
    }
    out
}

/// The methodology's sections, rendered once.
pub fn methodology() -> &'static [Section] {
    static SECTIONS: std::sync::OnceLock<Vec<Section>> = std::sync::OnceLock::new();
    SECTIONS.get_or_init(|| sections_of(METHODOLOGY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_level_two_headings_and_escapes_raw_html() {
        let s = sections_of("# Title\nIntro *text*.\n\n## PnL (`domain::x`)\nA | B\n--|--\n1 | 2\n\n### Sub\n<script>alert(1)</script>\n\n## Ratios\nLast.\n");
        assert_eq!(s.iter().map(|s| s.slug.as_str()).collect::<Vec<_>>(), ["introduction", "pnl-domain-x", "ratios"]);
        assert_eq!(s[1].title, "PnL (domain::x)");
        assert!(s[0].html.contains("<em>text</em>") && !s[0].html.contains("Title"));
        assert!(s[1].html.contains("<table>") && s[1].html.contains("<h3>Sub</h3>"));
        assert!(!s[1].html.contains("<script>") && s[1].html.contains("&lt;script&gt;"), "{}", s[1].html);
        assert_eq!(s[2].html.trim(), "<p>Last.</p>");
    }

    #[test]
    fn the_methodology_has_every_section_of_the_file() {
        let sections = methodology();
        let headings = METHODOLOGY.lines().filter(|l| l.starts_with("## ")).count();
        assert_eq!(sections.iter().filter(|s| s.slug != "introduction").count(), headings);
        assert!(sections.iter().any(|s| s.slug.starts_with("the-paper-engine-s-models")), "{:?}", sections.iter().map(|s| &s.slug).collect::<Vec<_>>());
        let mut slugs: Vec<&str> = sections.iter().map(|s| s.slug.as_str()).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), sections.len(), "slugs are unique");
    }
}
