//! What the command-line commands print. [`say!`](crate::say) is `println!` that ends the
//! command quietly when the reader has gone (`jean2 auth | head -1`), as Unix tools do, instead
//! of panicking: Rust ignores SIGPIPE (the server needs that, so a peer closing its socket never
//! ends the process), which turns a closed pipe into a write error `println!` panics on.

use std::io::Write as _;

/// Print one line to standard output; exit at once (status 0: the work is done, only the rest
/// of the output had no reader) when the reader has gone. Other write errors are ignored, as a
/// command's output is not worth failing its work for.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// `println!` for the commands: see [the module](crate::console).
#[macro_export]
macro_rules! say {
    () => {
        $crate::console::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::console::line(format_args!($($arg)*))
    };
}

/// [`say!`](crate::say) by its module's path, so callers name the layer they use.
pub use super::say;
