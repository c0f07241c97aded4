//! Comparing area names and codes as a person reads them: "Älvsjö" typed on
//! Windows, "A\u{308}lvsjo\u{308}" exported from macOS (decomposed), "ÄLVSJÖ " from
//! a spreadsheet and "älvsjö" in a summary are the same area.

use unicode_normalization::UnicodeNormalization;

/// The key two names compare by: Unicode NFC (composed), lower case, surrounding
/// whitespace removed and inner runs of whitespace (incl. no-break spaces) made one
/// space. Every lookup of an area by name or code goes through this function.
pub fn name_key(text: &str) -> String {
    let mut key = String::with_capacity(text.len());
    for word in text.nfc().collect::<String>().split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.extend(word.chars().flat_map(char::to_lowercase));
    }
    key
}

/// `text` in Unicode NFC (composed) form, so that "A\u{308}" is read as "Ä".
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::name_key;

    #[test]
    fn case_normal_form_and_whitespace_do_not_matter() {
        let composed = "Älvsjö";
        let decomposed = "A\u{308}lvsjo\u{308}";
        assert_ne!(composed, decomposed);
        assert_eq!(name_key(composed), name_key(decomposed));
        assert_eq!(name_key(" ÄLVSJÖ\u{a0}"), "älvsjö");
        assert_eq!(name_key("Farsta\u{a0} strand"), "farsta strand");
        assert_ne!(name_key("Farsta strand"), name_key("Farsta"));
    }
}
