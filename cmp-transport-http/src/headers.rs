//! The two headers both halves read the same way.

use hyper::HeaderMap;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};

/// The media type of `Content-Type`, lowercase, without parameters (`; charset=…`).
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// `Content-Length`, when present and a number.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_media_type_and_length() {
        let mut h = HeaderMap::new();
        assert_eq!((media_type(&h), content_length(&h)), (None, None));
        h.insert(
            CONTENT_TYPE,
            "Application/PKIXCMP; charset=x".parse().expect("value"),
        );
        h.insert(CONTENT_LENGTH, "42".parse().expect("value"));
        assert_eq!(media_type(&h).as_deref(), Some("application/pkixcmp"));
        assert_eq!(content_length(&h), Some(42));
        h.insert(CONTENT_LENGTH, "-1".parse().expect("value"));
        assert_eq!(content_length(&h), None);
    }
}
