//! Writing JSON text by hand on the hot path: the CSV parser builds every row's
//! attribute object directly into one string instead of going through a map.

/// Appends `s` to `out` as a JSON string literal, quotes included.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    // Almost every cell needs no escaping: check that with a loop the compiler
    // vectorises, then copy the whole cell at once.
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Escaped bytes are ASCII, so `start..i` always lies on char boundaries.
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::push_json_string;
    use proptest::prelude::*;

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        let mut out = String::new();
        push_json_string(&mut out, "Söder \"malm\"\\\n\u{1}");
        assert_eq!(out, r#""Söder \"malm\"\\\n\u0001""#);
    }

    proptest! {
        #[test]
        fn serde_json_reads_back_what_was_written(s in any::<String>()) {
            let mut out = String::new();
            push_json_string(&mut out, &s);
            let back: String = serde_json::from_str(&out).expect("valid JSON string");
            prop_assert_eq!(back, s);
        }
    }
}
