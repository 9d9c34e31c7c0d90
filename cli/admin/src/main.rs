//! `aiserve-gpuproxy-admin`.

use std::process::ExitCode;

use clap::Parser;
use gpuproxy_admin::{Args, run};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
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
            eprintln!("aiserve-gpuproxy-admin: {error:#}");
            ExitCode::FAILURE
        }
    }
}
