//! Where commands' text goes: the process's stdout and stderr in `main`.
//! Commands build text with `crate::render` and hand it
//! here; nothing else in the binary prints.

use std::io::{self, Write};

use crate::render::{Screen, Stream};

/// The two output streams a command writes to.
pub struct Console {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
}

impl Console {
    /// The process's stdout and stderr. Each write takes the stream's lock
    /// only while it writes, so the progress bar and logs can share stderr.
    pub fn stdio() -> Self {
        Console {
            out: Box::new(io::stdout()),
            err: Box::new(io::stderr()),
        }
    }

    /// Writes text to stdout.
    pub fn out(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// Writes text to stderr.
    pub fn err(&mut self, text: &str) -> io::Result<()> {
        self.err.write_all(text.as_bytes())?;
        self.err.flush()
    }

    /// Writes a screen's text, each part to its stream, in order.
    pub fn show(&mut self, screen: &Screen) -> io::Result<()> {
        for (stream, text) in screen.parts() {
            match stream {
                Stream::Out => self.out(text)?,
                Stream::Err => self.err(text)?,
            }
        }
        Ok(())
    }
}
