//! Text that people read: file names and uploader names, refused when they hold characters
//! that disguise how they read.

use twinshare_api::limits;

use crate::ApiError;

pub fn file_name(name: &str) -> Result<String, ApiError> {
    let field = "name";
    if name.trim().is_empty() {
        return Err(ApiError::invalid(field, "give the file a name"));
    }
    if name.len() > limits::MAX_NAME_BYTES {
        return Err(ApiError::invalid(
            field,
            format!(
                "the file name is {} bytes long; shorten it to at most {} bytes",
                name.len(),
                limits::MAX_NAME_BYTES
            ),
        ));
    }
    if let Some(c) = disguising_character(name) {
        return Err(ApiError::invalid(field, disguise_message("the file name", c)));
    }
    if name.contains(['/', '\\']) {
        return Err(ApiError::invalid(
            field,
            "a file name cannot contain '/' or '\\'; give the name without folders",
        ));
    }
    if name == "." || name == ".." {
        return Err(ApiError::invalid(field, "'.' and '..' are not file names"));
    }
    Ok(name.to_owned())
}

/// The first character that does not belong in a name people read: control characters, and
/// the invisible format characters that reorder or hide text (`invoice\u{202E}fdp.exe` shows as
/// `invoiceexe.pdf`). Zero-width joiner and non-joiner stay allowed: Persian, Indic scripts and
/// emoji sequences need them, and they change no order.
pub fn disguising_character(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        c.is_control()
            || matches!(c,
                '\u{00AD}'                      // soft hyphen
                | '\u{0600}'..='\u{0605}'      // Arabic number signs
                | '\u{061C}'                    // Arabic letter mark
                | '\u{06DD}' | '\u{070F}' | '\u{08E2}' | '\u{180E}'
                | '\u{200B}'                    // zero-width space
                | '\u{200E}' | '\u{200F}'      // left-to-right and right-to-left marks
                | '\u{2028}' | '\u{2029}'      // line and paragraph separators
                | '\u{202A}'..='\u{202E}'      // bidirectional embeddings and overrides
                | '\u{2060}'..='\u{206F}'      // word joiner, invisible operators, isolates
                | '\u{FEFF}'                    // byte order mark
                | '\u{FFF9}'..='\u{FFFB}'      // interlinear annotation
                | '\u{110BD}' | '\u{110CD}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}' | '\u{E0020}'..='\u{E007F}' // tag characters (hidden text)
            )
    })
}

fn disguise_message(what: &str, c: char) -> String {
    let kind = if c.is_control() {
        "a control character"
    } else {
        "an invisible formatting character that can disguise how it reads"
    };
    format!("{what} contains U+{:04X}, {kind}; remove it", c as u32)
}

/// Trimmed uploader name; blank means anonymous.
pub fn uploader(uploader: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(uploader) = uploader.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let field = "uploader";
    if uploader.chars().count() > limits::MAX_UPLOADER_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("an uploader name has at most {} characters", limits::MAX_UPLOADER_CHARS),
        ));
    }
    if let Some(c) = disguising_character(uploader) {
        return Err(ApiError::invalid(field, disguise_message("the uploader name", c)));
    }
    Ok(Some(uploader.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_spaces_quotes_and_non_ascii_are_kept_as_given() {
        for name in [
            "Über \"quoted\" 報告 (final).pdf",
            "تقرير.pdf",
            "מסמך final.txt",
            "می\u{200C}خواهم.txt",
            "👨\u{200D}👩\u{200D}👧.jpg",
        ] {
            assert_eq!(file_name(name).unwrap(), name);
        }
    }

    #[test]
    fn bad_names_are_rejected() {
        let long = "a".repeat(256);
        for bad in [
            "",
            "   ",
            "a/b",
            "a\\b",
            "a\nb",
            "a\u{0}b",
            ".",
            "..",
            long.as_str(),
            "invoice\u{202E}fdp.exe",
            "a\u{2066}b\u{2069}",
            "zero\u{200B}width",
            "bom\u{FEFF}.txt",
            "tag\u{E0041}.txt",
            "line\u{2028}break",
        ] {
            assert!(file_name(bad).is_err(), "{bad:?} accepted");
        }
        // 255 bytes is the limit, counted in UTF-8: 85 three-byte characters fit, 86 do not.
        assert!(file_name(&"報".repeat(85)).is_ok());
        assert!(file_name(&"報".repeat(86)).is_err());
    }

    #[test]
    fn a_name_disguised_by_a_direction_override_is_refused_with_the_character_named() {
        let err = file_name("invoice\u{202E}fdp.exe").unwrap_err();
        let ApiError::Invalid { field, message } = err else {
            panic!("not a validation error")
        };
        assert_eq!(field, "name");
        assert!(message.contains("U+202E") && message.contains("disguise"), "{message}");
    }

    #[test]
    fn uploader_is_optional_trimmed_and_limited() {
        assert_eq!(uploader(None).unwrap(), None);
        assert_eq!(uploader(Some("  ")).unwrap(), None);
        assert_eq!(uploader(Some(" bob ")).unwrap().as_deref(), Some("bob"));
        assert!(uploader(Some(&"x".repeat(65))).is_err());
        assert!(uploader(Some("a\tb")).is_err());
        assert!(uploader(Some("eve\u{202E}nimda")).is_err());
        assert_eq!(uploader(Some("Zoë 李")).unwrap().as_deref(), Some("Zoë 李"));
    }
}
