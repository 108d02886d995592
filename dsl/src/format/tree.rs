//! Groups tokens into the layout tree the printer walks: lines (a node, or
//! comments on their own line), the pieces on each line, and children
//! blocks. Every comment token ends up in exactly one piece; white space,
//! newlines and `;` are dropped, since the printer decides the layout.

use super::lex::{Kind, Token, is_newline};

/// One line of a document or block, or the blank line between two groups.
#[derive(Debug)]
pub(super) enum Item<'a> {
    /// A node (with any comments on its line), or comments alone.
    Line(Vec<Piece<'a>>),
    /// A blank line the author left between two lines.
    Blank,
}

/// Something printed on a line.
#[derive(Debug)]
pub(super) enum Piece<'a> {
    /// Text printed as written: a name, value, `=`, `(`, `)` or `/-`.
    /// `glue` means no space before it (inside `key=(ty)value`, after `/-`).
    Word { text: &'a str, glue: bool },
    /// A `//` or `/* */` comment, always set off by spaces.
    Comment(&'a str),
    /// A `\` line continuation the author wrote, with its comment if any.
    Break(Option<&'a str>),
    /// A children block; `glue` when it follows `/-`.
    Children { block: Block<'a>, glue: bool },
}

/// The inside of `{ ... }`.
#[derive(Debug)]
pub(super) struct Block<'a> {
    /// Comments on the `{` line, after the brace.
    pub open: Vec<&'a str>,
    /// The children and the comments between them.
    pub items: Vec<Item<'a>>,
    /// Printed as `{ a; b }` on the parent's line (see `format` docs).
    pub inline: bool,
}

/// The token stream ended or held something the layout does not expect, at
/// this byte offset.
#[derive(Debug)]
pub(super) struct TreeError {
    pub offset: usize,
}

type Result<T> = std::result::Result<T, TreeError>;

/// Builds the layout tree of a whole document.
pub(super) fn document<'a>(source: &'a str, tokens: &[Token<'a>]) -> Result<Vec<Item<'a>>> {
    let mut parser = Parser {
        source,
        tokens,
        pos: 0,
    };
    let items = parser.items(false)?;
    parser.expect(Kind::Eof)?;
    Ok(items)
}

struct Parser<'s, 'a> {
    source: &'a str,
    tokens: &'s [Token<'a>],
    pos: usize,
}

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Kind {
        self.tokens[self.pos].kind
    }

    fn text(&self) -> &'a str {
        self.tokens[self.pos].text
    }

    fn bump(&mut self) -> &'a str {
        let text = self.text();
        if self.peek() != Kind::Eof {
            self.pos += 1;
        }
        text
    }

    fn error(&self) -> TreeError {
        TreeError {
            offset: self.tokens[self.pos].start,
        }
    }

    fn expect(&mut self, kind: Kind) -> Result<&'a str> {
        if self.peek() == kind {
            Ok(self.bump())
        } else {
            Err(self.error())
        }
    }

    fn skip_space(&mut self) {
        while self.peek() == Kind::Space {
            self.pos += 1;
        }
    }

    /// The kind of the first token from here that is not white space or a
    /// block comment, without consuming anything.
    fn peek_past_inline_comments(&self) -> Kind {
        self.tokens[self.pos..]
            .iter()
            .map(|t| t.kind)
            .find(|k| !matches!(k, Kind::Space | Kind::BlockComment))
            .unwrap_or(Kind::Eof)
    }

    /// Consumes white space and block comments, pushing the comments.
    /// Returns whether there were none (so the next word may be glued on).
    fn inline_gap(&mut self, pieces: &mut Vec<Piece<'a>>) -> bool {
        let mut none = true;
        loop {
            match self.peek() {
                Kind::Space => {}
                Kind::BlockComment => {
                    pieces.push(Piece::Comment(self.text()));
                    none = false;
                }
                _ => return none,
            }
            self.pos += 1;
        }
    }

    /// The lines of a document (`in_block == false`) or of a children block,
    /// up to (not including) the end of input or the closing `}`.
    fn items(&mut self, in_block: bool) -> Result<Vec<Item<'a>>> {
        let mut items = Vec::new();
        // Newlines since the last line; two or more mean a blank line.
        let mut newlines = 0;
        loop {
            self.skip_space();
            match self.peek() {
                Kind::Eof if in_block => return Err(self.error()),
                Kind::CloseBrace if !in_block => return Err(self.error()),
                Kind::Eof | Kind::CloseBrace => return Ok(items),
                Kind::Newline => {
                    newlines += 1;
                    self.pos += 1;
                }
                Kind::Semicolon => self.pos += 1,
                _ => {
                    let pieces = self.line()?;
                    if pieces.is_empty() {
                        continue;
                    }
                    if newlines >= 2 && !items.is_empty() {
                        items.push(Item::Blank);
                    }
                    newlines = 0;
                    items.push(Item::Line(pieces));
                }
            }
        }
    }

    /// One line: leading comments, then a node if one starts here. Stops
    /// before the newline that ends the line.
    fn line(&mut self) -> Result<Vec<Piece<'a>>> {
        let mut pieces = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Kind::BlockComment => pieces.push(Piece::Comment(self.bump())),
                Kind::LineComment => {
                    pieces.push(Piece::Comment(self.bump()));
                    return Ok(pieces);
                }
                Kind::Newline | Kind::Eof | Kind::CloseBrace | Kind::Semicolon => {
                    return Ok(pieces);
                }
                Kind::EscLine => {
                    // A continuation between nodes is only white space; keep
                    // its comment, drop the backslash and the newline after.
                    self.pos += 1;
                    self.skip_space();
                    if self.peek() == Kind::LineComment {
                        pieces.push(Piece::Comment(self.bump()));
                    }
                    if self.peek() == Kind::Newline {
                        self.pos += 1;
                    }
                    return Ok(pieces);
                }
                _ => {
                    self.node(&mut pieces)?;
                    return Ok(pieces);
                }
            }
        }
    }

    /// A node, from its `/-` or name to its terminator. A `;` terminator is
    /// consumed (with comments after it when they end the line); a newline
    /// or `}` is left for the caller.
    fn node(&mut self, pieces: &mut Vec<Piece<'a>>) -> Result<()> {
        let mut glue = false;
        if self.peek() == Kind::Slashdash {
            glue = self.slashdash(pieces);
        }
        self.value(pieces, glue)?;
        loop {
            self.skip_space();
            match self.peek() {
                Kind::Newline | Kind::Eof | Kind::CloseBrace => break,
                Kind::Semicolon => {
                    self.pos += 1;
                    if matches!(
                        self.peek_past_inline_comments(),
                        Kind::Newline | Kind::Eof | Kind::CloseBrace | Kind::LineComment
                    ) {
                        self.inline_gap(pieces);
                        if self.peek() == Kind::LineComment {
                            pieces.push(Piece::Comment(self.bump()));
                        }
                    }
                    break;
                }
                Kind::LineComment => {
                    pieces.push(Piece::Comment(self.bump()));
                    break;
                }
                Kind::BlockComment => pieces.push(Piece::Comment(self.bump())),
                Kind::EscLine => self.escline(pieces)?,
                Kind::Slashdash => {
                    let glue = self.slashdash(pieces);
                    if self.peek() == Kind::OpenBrace {
                        let block = self.block()?;
                        pieces.push(Piece::Children { block, glue });
                    } else {
                        self.entry(pieces, glue)?;
                    }
                }
                Kind::OpenBrace => {
                    let block = self.block()?;
                    pieces.push(Piece::Children { block, glue: false });
                }
                Kind::Value | Kind::OpenParen => self.entry(pieces, false)?,
                _ => return Err(self.error()),
            }
        }
        Ok(())
    }

    /// `/-` and the white space, newlines, continuations and comments after
    /// it. Returns whether the commented-out item can be glued to the `/-`.
    fn slashdash(&mut self, pieces: &mut Vec<Piece<'a>>) -> bool {
        pieces.push(Piece::Word {
            text: self.bump(),
            glue: false,
        });
        let mut none = true;
        loop {
            match self.peek() {
                // A `\` continuation here joins lines like a newline does.
                Kind::Space | Kind::Newline | Kind::EscLine => {}
                Kind::BlockComment | Kind::LineComment => {
                    pieces.push(Piece::Comment(self.text()));
                    none = false;
                }
                _ => return none,
            }
            self.pos += 1;
        }
    }

    /// `\`, optional white space and line comment, and the newline. Kept
    /// only when more of the node follows; a bare `\` that continues
    /// nothing is dropped.
    fn escline(&mut self, pieces: &mut Vec<Piece<'a>>) -> Result<()> {
        self.pos += 1;
        self.skip_space();
        let comment = (self.peek() == Kind::LineComment).then(|| self.bump());
        let newline = self.pos;
        match self.peek() {
            Kind::Newline => self.pos += 1,
            Kind::Eof => {}
            _ => return Err(self.error()),
        }
        let next = self.peek_past_inline_comments();
        let entry_follows = matches!(
            next,
            Kind::Value | Kind::OpenParen | Kind::Slashdash | Kind::EscLine
        ) || self.peek_past_space() == Kind::BlockComment;
        if entry_follows || (next == Kind::OpenBrace && comment.is_some()) {
            pieces.push(Piece::Break(comment));
        } else if next != Kind::OpenBrace {
            // Nothing of the node follows: its newline ends the node (and
            // counts towards a blank line), and the comment, if any, is an
            // ordinary end-of-line comment.
            self.pos = newline;
            pieces.extend(comment.map(Piece::Comment));
        }
        // Else a bare `\` before `{`: dropped, so `{` joins the node's line.
        Ok(())
    }

    fn peek_past_space(&self) -> Kind {
        self.tokens[self.pos..]
            .iter()
            .map(|t| t.kind)
            .find(|k| *k != Kind::Space)
            .unwrap_or(Kind::Eof)
    }

    /// An argument (`(ty)value`) or property (`key=(ty)value`).
    fn entry(&mut self, pieces: &mut Vec<Piece<'a>>, glue: bool) -> Result<()> {
        let typed = self.peek() == Kind::OpenParen;
        self.value(pieces, glue)?;
        if !typed && self.peek_past_inline_comments() == Kind::Equals {
            let glue = self.inline_gap(pieces);
            pieces.push(Piece::Word {
                text: self.expect(Kind::Equals)?,
                glue,
            });
            let glue = self.inline_gap(pieces);
            self.value(pieces, glue)?;
        }
        Ok(())
    }

    /// A value or node name with its optional type annotation.
    fn value(&mut self, pieces: &mut Vec<Piece<'a>>, glue: bool) -> Result<()> {
        let mut glue = glue;
        if self.peek() == Kind::OpenParen {
            pieces.push(Piece::Word {
                text: self.bump(),
                glue,
            });
            let glue_name = self.inline_gap(pieces);
            pieces.push(Piece::Word {
                text: self.expect(Kind::Value)?,
                glue: glue_name,
            });
            let glue_close = self.inline_gap(pieces);
            pieces.push(Piece::Word {
                text: self.expect(Kind::CloseParen)?,
                glue: glue_close,
            });
            glue = self.inline_gap(pieces);
        }
        pieces.push(Piece::Word {
            text: self.expect(Kind::Value)?,
            glue,
        });
        Ok(())
    }

    /// `{ ... }` with the comments after `{` on its line.
    fn block(&mut self) -> Result<Block<'a>> {
        let open_start = self.tokens[self.pos].start;
        self.expect(Kind::OpenBrace)?;
        let mut open = Vec::new();
        if matches!(
            self.peek_past_inline_comments(),
            Kind::Newline | Kind::LineComment | Kind::CloseBrace
        ) {
            loop {
                match self.peek() {
                    Kind::Space => self.pos += 1,
                    Kind::BlockComment => open.push(self.bump()),
                    Kind::LineComment => {
                        open.push(self.bump());
                        break;
                    }
                    _ => break,
                }
            }
        }
        let items = self.items(true)?;
        let close_start = self.tokens[self.pos].start;
        self.expect(Kind::CloseBrace)?;
        let one_line = !self.source[open_start..close_start].contains(is_newline);
        let leaves_only = items.iter().all(|item| match item {
            Item::Line(pieces) => pieces.iter().all(|p| matches!(p, Piece::Word { .. })),
            Item::Blank => false,
        });
        Ok(Block {
            inline: one_line && open.is_empty() && leaves_only,
            open,
            items,
        })
    }
}
