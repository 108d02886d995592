//! Where commands' text goes: the process's stdout and stderr in `main`.
//! Commands build text with `crate::render` and hand it
//! here; nothing else in the binary prints.

use std::io::{self, Write};

use serde::Serialize;

use crate::exit::Exit;
use crate::render::{ErrorJson, Screen, Stream};

/// Text for people or one JSON document for machines.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Text for people.
    #[default]
    // `validate` called it `human` before every command took `text`.
    #[value(alias = "human")]
    Text,
    /// One JSON document on stdout, whatever the outcome (schemas/).
    Json,
}

/// How the command line asked output to look.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// `--format`.
    pub format: OutputFormat,
    /// `--quiet`: no progress display and no text report on stdout.
    pub quiet: bool,
    /// Whether stderr may carry colour (`--color`, `NO_COLOR`, a terminal).
    pub color: bool,
    /// `--log-format json`: problems on stderr are JSON log lines, never
    /// text boxes.
    pub log_json: bool,
}

/// The two output streams a command writes to.
pub struct Console {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    /// How output should look.
    pub style: Style,
    /// Whether the command's one JSON document has been written.
    document_written: bool,
}

impl Console {
    /// The process's stdout and stderr. Each write takes the stream's lock
    /// only while it writes, so the progress bar and logs can share stderr.
    pub fn stdio(style: Style) -> Self {
        Console {
            out: Box::new(io::stdout()),
            err: Box::new(io::stderr()),
            style,
            document_written: false,
        }
    }

    /// Whether the command should print JSON rather than text.
    pub fn json(&self) -> bool {
        self.style.format == OutputFormat::Json
    }

    /// Writes text to stdout (nothing with `--quiet`).
    pub fn out(&mut self, text: &str) -> io::Result<()> {
        if self.style.quiet {
            return Ok(());
        }
        write_unless_closed(&mut self.out, text)
    }

    /// Writes text to stderr.
    pub fn err(&mut self, text: &str) -> io::Result<()> {
        write_unless_closed(&mut self.err, text)
    }

    /// A problem for stderr: the rendered text, or with `--log-format json`
    /// one JSON log line per problem (never a text box).
    pub fn problem(&mut self, text: &str, error: Option<&ErrorJson>) -> io::Result<()> {
        if !self.style.log_json {
            return self.err(text);
        }
        match error {
            Some(error) => tracing::error!(
                code = %error.code,
                help = error.help.as_deref().unwrap_or(""),
                "{}",
                error.message
            ),
            None => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    tracing::warn!("{}", line.trim_end());
                }
            }
        }
        Ok(())
    }

    /// A warning for stderr: the rendered text, or with `--log-format json`
    /// one JSON log line.
    pub fn warning(&mut self, text: &str, warning: &ErrorJson) -> io::Result<()> {
        if !self.style.log_json {
            return self.err(text);
        }
        tracing::warn!(
            code = %warning.code,
            help = warning.help.as_deref().unwrap_or(""),
            "{}",
            warning.message
        );
        Ok(())
    }

    /// The command's one JSON document, with its `exit_code` and `error`
    /// added: every `--format json` output ends up here exactly once.
    pub fn document<T: Serialize>(
        &mut self,
        value: &T,
        exit: Exit,
        error: Option<&ErrorJson>,
    ) -> io::Result<()> {
        if self.document_written {
            return Ok(());
        }
        self.document_written = true;
        let text = crate::render::document(value, exit, error);
        write_unless_closed(&mut self.out, &text)
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
