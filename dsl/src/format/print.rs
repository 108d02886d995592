//! Prints the layout tree in the canonical layout.

use super::lex::is_space;
use super::tree::{Block, Item, Piece};

/// Spaces per nesting level.
const INDENT: &str = "    ";

/// Prints a document's items; the result ends with one newline unless the
/// document is empty.
pub(super) fn document(items: &[Item<'_>]) -> String {
    let mut printer = Printer { out: String::new() };
    printer.items(items, 0);
    printer.out
}

struct Printer {
    out: String,
}

impl Printer {
    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
    }

    fn items(&mut self, items: &[Item<'_>], depth: usize) {
        for item in items {
            match item {
                Item::Blank => self.out.push('\n'),
                Item::Line(pieces) => {
                    self.indent(depth);
                    self.line(pieces, depth);
                    self.out.push('\n');
                }
            }
        }
    }

    /// The pieces of one line at `depth`. A line comment or continuation
    /// inside the line moves what follows to a new line, one level deeper.
    fn line(&mut self, pieces: &[Piece<'_>], depth: usize) {
        let mut first = true;
        let mut after_comment = false;
        let mut need_newline = false;
        for piece in pieces {
            let glue = match piece {
                Piece::Word { glue, .. } | Piece::Children { glue, .. } => *glue,
                Piece::Comment(_) | Piece::Break(_) => false,
            };
            if need_newline {
                self.out.push('\n');
                self.indent(depth + 1);
                need_newline = false;
            } else if !first && (after_comment || !glue) {
                self.out.push(' ');
            }
            first = false;
            after_comment = false;
            match piece {
                Piece::Word { text, .. } => self.text(text),
                Piece::Comment(text) => {
                    self.comment(text);
                    after_comment = true;
                    need_newline = text.starts_with("//");
                }
                Piece::Break(comment) => {
                    self.out.push('\\');
                    if let Some(comment) = comment {
                        self.out.push(' ');
                        self.comment(comment);
                    }
                    need_newline = true;
                }
                Piece::Children { block, .. } => self.block(block, depth),
            }
        }
    }

    /// A comment as written; a line comment loses only trailing white space.
    fn comment(&mut self, text: &str) {
        if text.starts_with("//") {
            self.out.push_str(text.trim_end_matches(is_space));
        } else {
            self.text(text);
        }
    }

    /// Text as written, but with `\r\n` inside it (multi-line strings and
    /// comments) made `\n` like every other line end; KDL reads multi-line
    /// strings the same either way.
    fn text(&mut self, text: &str) {
        if text.contains('\r') {
            self.out.push_str(&text.replace("\r\n", "\n"));
        } else {
            self.out.push_str(text);
        }
    }

    fn block(&mut self, block: &Block<'_>, depth: usize) {
        self.out.push('{');
        if block.inline {
            if block.items.is_empty() {
                self.out.push('}');
                return;
            }
            for (index, item) in block.items.iter().enumerate() {
                self.out.push_str(if index == 0 { " " } else { "; " });
                if let Item::Line(pieces) = item {
                    self.line(pieces, depth);
                }
            }
            self.out.push_str(" }");
            return;
        }
        for comment in &block.open {
            self.out.push(' ');
            self.comment(comment);
        }
        self.out.push('\n');
        self.items(&block.items, depth + 1);
        self.indent(depth);
        self.out.push('}');
    }
}
