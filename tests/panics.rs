//! The panic policy of `mixmuc serve` (src/panics.rs), in child processes:
//! this test binary runs itself again with `MIXMUC_PANICS_CHILD` set to a
//! scene, and the child installs the same hook as `mixmuc serve`.
//!
//! - a panic in a spawned task (which tokio would otherwise swallow) and
//!   in a plain thread end the process with status 101, logged;
//! - a panic in a handler, under `panics::contain` as the dispatcher runs
//!   them, is caught and the process goes on.

use std::process::Command;
use std::time::Duration;

const SCENE: &str = "MIXMUC_PANICS_CHILD";

/// The child's side: does nothing unless `SCENE` is set.
#[test]
fn child() {
    let Ok(scene) = std::env::var(SCENE) else { return };
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).init();
    mixmuc::panics::exit_on_uncontained_panics();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        match scene.as_str() {
            "task" => {
                tokio::spawn(async { panic!("boom in a task") });
            }
            "thread" => {
                std::thread::Builder::new().name("worker".into()).spawn(|| panic!("boom in a thread")).unwrap();
            }
            "contained" => {
                let r = mixmuc::panics::contain(async {
                    tokio::task::yield_now().await;
                    panic!("boom in a handler")
                })
                .await;
                assert!(r.is_err(), "the handler's panic is caught");
                assert!(!mixmuc::panics::contained(), "the mark is gone after the catch");
            }
            other => panic!("unknown scene {other}"),
        }
        if scene != "contained" {
            // Long enough for the hook (which prints a backtrace first) to
            // end the process.
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
        println!("CHILD STILL RUNNING");
    });
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(scene: &str) -> Outcome {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(SCENE, scene)
        .output()
        .expect("run the child");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_panic_in_a_spawned_task_ends_the_process() {
    let o = run("task");
    assert_eq!(o.code, Some(mixmuc::panics::PANIC_EXIT_CODE), "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert!(!o.stdout.contains("CHILD STILL RUNNING"), "{}", o.stdout);
    assert!(o.stderr.contains("panic outside a request's handling") && o.stderr.contains("boom in a task"), "{}", o.stderr);
}

#[test]
fn a_panic_in_a_thread_ends_the_process() {
    let o = run("thread");
    assert_eq!(o.code, Some(mixmuc::panics::PANIC_EXIT_CODE), "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert!(!o.stdout.contains("CHILD STILL RUNNING"), "{}", o.stdout);
    assert!(o.stderr.contains("thread=\"worker\"") && o.stderr.contains("boom in a thread"), "{}", o.stderr);
}

#[test]
fn a_contained_panic_does_not() {
    let o = run("contained");
    assert_eq!(o.code, Some(0), "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert!(o.stdout.contains("CHILD STILL RUNNING"), "{}", o.stdout);
    assert!(o.stderr.contains("boom in a handler"), "the default hook still reports it: {}", o.stderr);
    assert!(!o.stderr.contains("panic outside a request's handling"), "{}", o.stderr);
}
