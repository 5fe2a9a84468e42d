//! [`Out`]: builds indented `label: value` lines with the values aligned.

use std::fmt::Display;

/// Indentation per level.
const INDENT: usize = 4;
/// Width of the `label:` column; longer labels get one space.
const LABEL_WIDTH: usize = 16;

/// A text buffer with an indentation level.
#[derive(Debug, Default)]
pub(super) struct Out {
    buf: String,
    indent: usize,
}

impl Out {
    /// One indented line.
    pub(super) fn line(&mut self, text: impl Display) {
        let line = format!("{:indent$}{text}", "", indent = self.indent);
        self.buf.push_str(line.trim_end());
        self.buf.push('\n');
    }

    /// `label:` padded to the value column, then the value.
    pub(super) fn field(&mut self, label: &str, value: impl Display) {
        let label = format!("{label}:");
        self.line(format_args!("{label:<LABEL_WIDTH$} {value}"));
    }

    /// [`Out::field`] when there is a value.
    pub(super) fn opt(&mut self, label: &str, value: Option<impl Display>) {
        if let Some(value) = value {
            self.field(label, value);
        }
    }

    /// Runs `f` one level deeper.
    pub(super) fn nest(&mut self, f: impl FnOnce(&mut Out)) {
        self.indent += INDENT;
        f(self);
        self.indent -= INDENT;
    }

    /// The text.
    pub(super) fn finish(self) -> String {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_line_up() {
        let mut out = Out::default();
        out.line("A:");
        out.nest(|out| {
            out.field("pvno", 2);
            out.field("transactionID", "ab");
            out.opt("absent", None::<&str>);
            out.field("aVeryLongLabelIndeed", "x");
        });
        assert_eq!(
            out.finish(),
            "A:\n    pvno:            2\n    transactionID:   ab\n    aVeryLongLabelIndeed: x\n"
        );
    }
}
