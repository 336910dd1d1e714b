//! Plans and applies that stop before a machine: unmanaged machines, bad paths, unreachable hosts.

use hearth_deploy::{ApplyOptions, DesiredFile, Machine, Quiet, SshOptions};
use hearth_render::{File, Kind};

#[test]
fn unmanaged_machines_are_never_contacted() {
    // If it were contacted, this machine would answer "connection refused" on loopback and the
    // plan would carry that error.
    let machine =
        Machine { name: "nas".into(), destination: "127.0.0.1".into(), user: None, port: Some(1), managed: false };
    let files =
        vec![DesiredFile { file: File::new("nas", "/etc/motd", Kind::Homepage, "hi\n"), reason: "test".into() }];
    let control = tempfile::tempdir().unwrap();
    let ssh = SshOptions::new(control.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let plan = runtime.block_on(hearth_deploy::plan(std::slice::from_ref(&machine), &ssh, &files, &Quiet)).unwrap();
    assert_eq!((plan.machines.len(), plan.unmanaged.as_slice()), (0, ["nas".to_string()].as_slice()));
    let report = runtime
        .block_on(hearth_deploy::apply(std::slice::from_ref(&machine), &ssh, &files, &ApplyOptions::default(), &Quiet))
        .unwrap();
    assert_eq!((report.machines.len(), report.unmanaged.as_slice()), (0, ["nas".to_string()].as_slice()));
}

#[test]
fn bad_paths_are_refused_before_any_connection() {
    let machine =
        Machine { name: "db".into(), destination: "127.0.0.1".into(), user: None, port: Some(1), managed: true };
    let files = vec![DesiredFile { file: File::new("db", "etc/relative", Kind::Homepage, "x"), reason: "test".into() }];
    let control = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let err = runtime
        .block_on(hearth_deploy::plan(&[machine], &SshOptions::new(control.path()), &files, &Quiet))
        .unwrap_err();
    assert_eq!(err.to_string(), "path `etc/relative` on `db` must be absolute and free of newlines and tabs");
}

#[test]
fn an_unreachable_machine_is_an_error_in_its_own_plan() {
    // Loopback port 1: nothing listens, so the connection is refused at once.
    let machine =
        Machine { name: "db".into(), destination: "127.0.0.1".into(), user: None, port: Some(1), managed: true };
    let control = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let plan =
        runtime.block_on(hearth_deploy::plan(&[machine], &SshOptions::new(control.path()), &[], &Quiet)).unwrap();
    let error = plan.machines[0].error.clone().unwrap_or_default();
    assert!(error.starts_with("cannot connect to `db`:"), "{error}");
}
