//! `Content-Disposition: attachment` with the original file name, so the browser saves the file
//! under the name it was shared with, whatever characters it has (RFC 6266, RFC 5987).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// RFC 5987 `attr-char`: everything else is percent-encoded.
const NOT_ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

pub fn attachment(file_name: &str) -> String {
    // Old clients read `filename`: an ASCII stand-in with anything that could break the quoted
    // string replaced. Current browsers prefer the exact UTF-8 name in `filename*`.
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(file_name, NOT_ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names() {
        assert_eq!(
            attachment("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
    }

    #[test]
    fn spaces_quotes_and_non_ascii() {
        assert_eq!(
            attachment("Über \"q\" 報.txt"),
            "attachment; filename=\"_ber _q_ _.txt\"; filename*=UTF-8''%C3%9Cber%20%22q%22%20%E5%A0%B1.txt"
        );
    }

    #[test]
    fn header_injection_is_impossible() {
        let value = attachment("a\r\nSet-Cookie: x=1;.txt");
        assert!(!value.contains('\r') && !value.contains('\n'));
    }
}
