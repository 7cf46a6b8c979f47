//! CSV for spreadsheets: every field quoted, and text that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-` or `@`) prefixed with an apostrophe, so an exported listing or
//! report can never carry a formula into someone's spreadsheet.

/// One field, quoted and formula-safe.
pub fn field(text: &str) -> String {
    let safe = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_string() };
    format!("\"{}\"", safe.replace('"', "\"\""))
}

/// One line of fields, ending CRLF as RFC 4180 says.
pub fn line<S: AsRef<str>>(fields: impl IntoIterator<Item = S>) -> String {
    let fields: Vec<String> = fields.into_iter().map(|f| field(f.as_ref())).collect();
    fields.join(",") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_and_quotes_are_defused() {
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1.5"), "\"'-1.5\"");
        assert_eq!(line(["a", "b,c"]), "\"a\",\"b,c\"\r\n");
    }
}
