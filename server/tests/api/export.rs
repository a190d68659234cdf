//! Raw data export: the Parquet read back equals the API's JSON; CSV by kind and range; the
//! fills carry their slippage decomposition; refusals name the parameter; investors get none.
use arrow_array::{Array, Int64Array, StringArray};
use domain::governance::Role;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::*;

async fn get_bytes(app: &TestApp, path: &str, token: &str) -> (u16, bytes::Bytes) {
    let res = app.http.get(format!("{}{path}", app.base)).bearer_auth(token).send().await.expect("get");
    (res.status().as_u16(), res.bytes().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parquet_export_reads_back_equal_to_the_api() {
    let app = spawn().await;
    let (status, _) = app.post(&round_trip()).await;
    assert_eq!(status, 200);
    let more: Vec<_> = (0..30).map(|i| snapshot(&format!("x{i}"), "BTCUSDT", "68100", 100_000 + i)).collect();
    assert_eq!(app.post(&more).await.0, 200);

    let (status, file) = get_bytes(&app, "/api/v1/export/events.parquet", &app.read_token).await;
    assert_eq!(status, 200);
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).expect("a Parquet file").build().expect("reader");
    let (mut seqs, mut kinds, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
    for batch in reader {
        let batch = batch.expect("batch");
        let seq = batch.column_by_name("seq").expect("seq").as_any().downcast_ref::<Int64Array>().expect("int64").clone();
        let kind = batch.column_by_name("kind").expect("kind").as_any().downcast_ref::<StringArray>().expect("utf8").clone();
        let hash = batch.column_by_name("hash").expect("hash").as_any().downcast_ref::<StringArray>().expect("utf8").clone();
        for i in 0..batch.num_rows() {
            seqs.push(seq.value(i) as u64);
            kinds.push(kind.value(i).to_string());
            hashes.push(hash.value(i).to_string());
        }
    }
    let (status, page) = app.get_with(&app.read_token, "/api/v1/events?limit=1000").await;
    assert_eq!(status, 200);
    let api = page["events"].as_array().expect("events");
    assert_eq!(seqs.len(), api.len());
    for (i, e) in api.iter().enumerate() {
        assert_eq!(Some(seqs[i]), e["seq"].as_u64());
        assert_eq!(Some(kinds[i].as_str()), e["kind"].as_str());
        assert_eq!(Some(hashes[i].as_str()), e["hash"].as_str());
    }

    // CSV of one kind in a range.
    let (status, csv) = get_bytes(&app, "/api/v1/export/events.csv?kind=fill&from=2024-10-24&to=2024-10-24", &app.read_token).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(csv.to_vec()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "the header and the one fill: {text}");
    assert!(lines[0].starts_with("seq,event_id,kind,ts,received_at"));
    assert!(lines[1].contains(",e5,fill,2024-10-24T14:32:15.090Z,"), "{}", lines[1]);

    // The fill with its slippage: bought 0.1 at 67,500.25 against a 67,500 mid (bid = ask).
    let (status, csv) = get_bytes(&app, "/api/v1/export/fills.csv", &app.read_token).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(csv.to_vec()).expect("utf-8");
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().expect("header").clone();
    let row = rows.records().next().expect("a fill").expect("row");
    let col = |name: &str| row.get(header.iter().position(|h| h == name).expect(name)).expect(name).to_string();
    assert_eq!(col("instrument"), "BTCUSDT");
    assert_eq!(col("notional_usd"), "6750.025");
    assert_eq!(col("impact_usd"), "0.025", "0.1 x (67,500.25 fill - 67,500 ask): the impact, as the execution page computes it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_refusals_name_the_parameter_and_investors_get_nothing() {
    let app = spawn().await;
    assert_eq!(app.post(&round_trip()).await.0, 200);
    for (path, field) in [
        ("/api/v1/export/orders.csv", "file"),
        ("/api/v1/export/events.xlsx", "file"),
        ("/api/v1/export/events.csv?kind=bogus", "kind"),
        ("/api/v1/export/trades.csv?kind=fill", "kind"),
        ("/api/v1/export/events.csv?from=yesterday", "from"),
        ("/api/v1/export/events.csv?from=2024-10-25&to=2024-10-24", "to"),
        ("/api/v1/export/events.csv?limit=3", "limit"),
    ] {
        let (status, body) = app.get_with(&app.read_token, path).await;
        assert_eq!((status, body["field"].as_str()), (400, Some(field)), "{path}: {body}");
    }
    for dataset in ["trades", "returns"] {
        let (status, body) = get_bytes(&app, &format!("/api/v1/export/{dataset}.parquet"), &app.read_token).await;
        assert_eq!(status, 200, "{dataset}");
        assert!(ParquetRecordBatchReaderBuilder::try_new(body).is_ok(), "{dataset} is a Parquet file");
    }
    assert_eq!(get_bytes(&app, "/api/v1/export/events.csv", &app.ingest_token).await.0, 403);
    let investor = app.login(Role::Investor).await;
    let res = app.http.get(format!("{}/api/v1/export/events.csv", app.base)).header("cookie", &investor).send().await.expect("get");
    assert_eq!(res.status().as_u16(), 403);
    let (status, _) = app.call(Some(&investor), "export_data", "dataset=events&format=csv").await;
    assert_eq!(status, 403);
    let auditor = app.login(Role::Auditor).await;
    let (status, body) = app.call(Some(&auditor), "export_data", "dataset=events&format=csv&kind=order").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().count(), 3, "the header and two order events: {body}");
}
