//! The archive benchmark (`mixmuc-bench-append`) runs and archives every
//! row, so that it cannot rot; its times are not checked (benchmarks are
//! not tests).

use std::process::Command;

#[test]
fn the_append_benchmark_archives_every_row() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("append.json");
    let status = Command::new(env!("CARGO_BIN_EXE_mixmuc-bench-append"))
        .args(["--channels", "10", "--rows", "300", "--batch", "1,7", "--out"])
        .arg(&out)
        .arg("--dir")
        .arg(dir.path())
        .status()
        .expect("running mixmuc-bench-append");
    assert!(status.success(), "mixmuc-bench-append failed: {status}");
    let report = std::fs::read_to_string(&out).expect("the report");
    for batch in ["\"batch\":1,", "\"batch\":7,"] {
        assert!(report.contains(batch), "no result for {batch} in {report}");
    }
    assert_eq!(report.matches("\"cpu_us_per_row\":").count(), 2, "{report}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).filter(|n| n != "append.json").collect();
    assert!(leftovers.is_empty(), "databases left behind: {leftovers:?}");
}
