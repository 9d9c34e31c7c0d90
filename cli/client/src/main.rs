//! `aiserve-gpuproxy-client`.

use std::process::ExitCode;

use gpuproxy_client::{Args, run};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Args::from_process()).await {
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
