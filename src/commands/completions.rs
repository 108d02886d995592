//! `rollcall completions SHELL` and `rollcall man`: generated from the
//! same clap definition the parser uses.

use super::Failure;
use crate::console::Console;
use crate::exit::Exit;

/// Arguments of `rollcall completions`.
#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script for the shell.
pub fn completions(
    args: CompletionsArgs,
    mut command: clap::Command,
    console: &mut Console,
) -> Result<Exit, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "rollcall", &mut script);
    console.out(&String::from_utf8_lossy(&script))?;
    Ok(Exit::Ok)
}

/// Arguments of `rollcall man`.
#[derive(clap::Args)]
pub struct ManArgs {
    /// A command's own page (`rollcall man run`) instead of rollcall's.
    pub command: Option<String>,
}

/// Prints the man page (roff) of `rollcall`, or of one of its commands.
pub fn man(args: ManArgs, command: clap::Command, console: &mut Console) -> Result<Exit, Failure> {
    let mut command = command.disable_help_subcommand(true);
    // Building propagates the version into each command's page.
    command.build();
    let page = match &args.command {
        None => command,
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                return Err(Failure::UnknownCommand(name.clone()));
            };
            let full = format!("rollcall-{name}");
            sub.clone().display_name(full.clone()).bin_name(full)
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    console.out(&String::from_utf8_lossy(&roff))?;
    Ok(Exit::Ok)
}
