//! `aiserve-gpuproxy-client`.

use std::process::ExitCode;

use gpuproxy_client::{Args, run};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Args::from_process()).await {
        // `mcp` answers on standard output as it goes and has nothing to print at the end.
        Ok(output) if output.is_empty() => ExitCode::SUCCESS,
        Ok(output) => {
            #[expect(
                clippy::print_stdout,
                reason = "a command-line tool answers on standard output"
            )]
            {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
