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
        write_unless_closed(&mut self.out, text)
    }

    /// Writes text to stderr.
    pub fn err(&mut self, text: &str) -> io::Result<()> {
        write_unless_closed(&mut self.err, text)
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

/// A reader that went away (`rollcall plan | head`) wants no more text; the
/// command still finishes and exits with its own code, like `cat`. SIGPIPE
/// stays ignored (Rust's default) rather than fatal, because a fatal SIGPIPE
/// would also kill a run whose external matcher exits before reading its
/// input, silently and half way through.
fn write_unless_closed(stream: &mut dyn Write, text: &str) -> io::Result<()> {
    match stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush())
    {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
