//! A command's text on its two streams, in the order it is shown.

/// One of the process's two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The command's result: what a script reads.
    Out,
    /// Problems found along the way (invalid records, refused values).
    Err,
}

/// Text for stdout and stderr kept in the order it was written, so a
/// terminal shows the two interleaved just as a direct print would.
#[derive(Debug, Default)]
pub struct Screen {
    parts: Vec<(Stream, String)>,
}

impl Screen {
    /// Adds text for stdout.
    pub fn out(&mut self, text: &str) {
        self.push(Stream::Out, text);
    }

    /// Adds text for stderr.
    pub fn err(&mut self, text: &str) {
        self.push(Stream::Err, text);
    }

    /// Adds another screen's text after this one's.
    pub fn append(&mut self, other: Screen) {
        for (stream, text) in other.parts {
            self.push(stream, &text);
        }
    }

    fn push(&mut self, stream: Stream, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.parts.last_mut() {
            Some((last, joined)) if *last == stream => joined.push_str(text),
            _ => self.parts.push((stream, text.to_owned())),
        }
    }

    /// The text in order, each part with its stream.
    pub fn parts(&self) -> impl Iterator<Item = (Stream, &str)> {
        self.parts
            .iter()
            .map(|(stream, text)| (*stream, text.as_str()))
    }

    /// All the text of one stream.
    #[cfg(test)]
    pub fn text_of(&self, stream: Stream) -> String {
        self.parts()
            .filter(|(s, _)| *s == stream)
            .map(|(_, text)| text)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_keep_their_order_and_adjacent_text_of_one_stream_joins() {
        let mut screen = Screen::default();
        screen.out("a\n");
        screen.out("b\n");
        screen.err("bad\n");
        screen.out("");
        let mut tail = Screen::default();
        tail.err("worse\n");
        tail.out("c\n");
        screen.append(tail);
        let parts: Vec<_> = screen.parts().collect();
        assert_eq!(
            parts,
            [
                (Stream::Out, "a\nb\n"),
                (Stream::Err, "bad\nworse\n"),
                (Stream::Out, "c\n")
            ]
        );
        assert_eq!(screen.text_of(Stream::Out), "a\nb\nc\n");
    }
}
