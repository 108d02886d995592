//! A pipeline file's name and text, shared by every diagnostic about it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::NamedSource;

/// One file's name and text, with what is needed to turn byte offsets into
/// line and column numbers.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    named: NamedSource<Arc<String>>,
    line_starts: Vec<usize>,
}

/// A 1-based line and column range in a file (columns count characters;
/// the end is the position just after the last character, as rustc does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line of the first character.
    pub line: usize,
    /// Column of the first character.
    pub column: usize,
    /// Line of the position after the last character.
    pub end_line: usize,
    /// Column of the position after the last character.
    pub end_column: usize,
}

impl SourceFile {
    /// A file named by `path` (shown as written) holding `text`.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        let path = path.into();
        let text: String = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let named = NamedSource::new(path.display().to_string(), Arc::new(text));
        Arc::new(SourceFile {
            path,
            named,
            line_starts,
        })
    }

    /// The file's path as it was given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name shown in diagnostics.
    pub fn name(&self) -> &str {
        self.named.name()
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        self.named.inner()
    }

    /// The text with its name, as miette renders it.
    pub fn named_source(&self) -> &NamedSource<Arc<String>> {
        &self.named
    }

    /// The text of a byte range, clamped to the file.
    pub fn slice(&self, offset: usize, len: usize) -> &str {
        let text = self.text();
        let start = offset.min(text.len());
        let end = (offset + len).min(text.len());
        text.get(start..end).unwrap_or("")
    }

    /// 1-based line and column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text().len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .text()
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        (line + 1, column + 1)
    }

    /// 1-based start and end positions of a byte range.
    pub fn position(&self, offset: usize, len: usize) -> Position {
        let (line, column) = self.line_column(offset);
        let (end_line, end_column) = self.line_column(offset + len);
        Position {
            line,
            column,
            end_line,
            end_column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let file = SourceFile::new("a.kdl", "ab\nçd ef\n");
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(3), (2, 1));
        // `ç` is two bytes but one column.
        assert_eq!(file.line_column(6), (2, 3));
        let pos = file.position(3, 4);
        assert_eq!(
            (pos.line, pos.column, pos.end_line, pos.end_column),
            (2, 1, 2, 4)
        );
    }
}
