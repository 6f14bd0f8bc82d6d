//! Starts the endpoint in-process, runs one query through the official AWS SDK, prints the rows.
//!
//! `cargo run -p athena-emulator --example query -- "SELECT * FROM one_row_complex"`

use aws_sdk_athena::types::QueryExecutionState;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sql = std::env::args().nth(1).unwrap_or_else(|| "SELECT a, b FROM integer_na_values".to_owned());
    let emulator = athena_emulator::Emulator::builder().start().await?;
    eprintln!("athena-emulator listening on {}", emulator.endpoint());
    let conf = aws_sdk_athena::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_athena::config::Region::new(emulator.region().to_owned()))
        .endpoint_url(emulator.endpoint())
        .credentials_provider(aws_sdk_athena::config::Credentials::new(
            emulator.access_key_id(),
            emulator.secret_access_key(),
            None,
            None,
            "example",
        ))
        .build();
    let client = aws_sdk_athena::Client::from_conf(conf);
    let id = client.start_query_execution().query_string(&sql).send().await?.query_execution_id.unwrap_or_default();
    let execution = loop {
        let q = client
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await?
            .query_execution
            .ok_or("no QueryExecution in the response")?;
        match q.status().and_then(|s| s.state()) {
            Some(QueryExecutionState::Queued | QueryExecutionState::Running) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            _ => break q,
        }
    };
    let status = execution.status().ok_or("no Status in the response")?;
    if status.state() != Some(&QueryExecutionState::Succeeded) {
        return Err(format!("query {id} {:?}: {}", status.state(), status.state_change_reason().unwrap_or("")).into());
    }
    let mut pages = client.get_query_results().query_execution_id(&id).into_paginator().send();
    while let Some(page) = pages.next().await {
        for row in page?.result_set().map(|r| r.rows()).unwrap_or_default() {
            let cells: Vec<&str> = row.data().iter().map(|d| d.var_char_value().unwrap_or("NULL")).collect();
            println!("{}", cells.join("\t"));
        }
    }
    let stats = execution.statistics();
    eprintln!(
        "query {id}: {} bytes scanned, {} ms, results at {}",
        stats.and_then(|s| s.data_scanned_in_bytes()).unwrap_or(0),
        stats.and_then(|s| s.total_execution_time_in_millis()).unwrap_or(0),
        execution.result_configuration().and_then(|r| r.output_location()).unwrap_or("(managed)")
    );
    emulator.shutdown().await;
    Ok(())
}
