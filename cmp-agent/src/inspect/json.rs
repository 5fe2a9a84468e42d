//! `--format json`: one JSON object per message, on one line.

use super::view::MessageView;

/// The JSON line for `view`, without the trailing newline.
pub(crate) fn render(view: &MessageView) -> Result<String, serde_json::Error> {
    serde_json::to_string(view)
}
