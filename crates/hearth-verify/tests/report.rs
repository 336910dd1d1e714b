//! The text report: grouped by machine, one line per check with status, id, spec location and
//! description, the reason of failures and skips, and counts where skips are not passes.

use hearth_verify::{Outcome, Report, Status};

fn outcome(machine: &str, id: &str, from: &str, status: Status, reason: Option<&str>) -> Outcome {
    Outcome {
        id: id.into(),
        machine: machine.into(),
        from: from.into(),
        check: format!("check {id}"),
        location: "hearth.yaml:12:3".into(),
        status,
        reason: reason.map(Into::into),
    }
}

#[test]
fn text_report() {
    let report = Report::new(vec![
        outcome(
            "db",
            "uses/web/pg",
            "app",
            Status::Fail,
            Some("login as `web` refused: password authentication failed"),
        ),
        outcome("app", "service/web/running", "app", Status::Ok, None),
        outcome("db", "service/pg/running", "db", Status::Ok, None),
        outcome("nix", "service/r/running", "nix", Status::Skip, Some("`nix` is a NixOS guest")),
    ]);
    assert!(!report.is_success());
    assert_eq!((report.passed, report.failed, report.skipped), (2, 1, 1));
    insta::assert_snapshot!(report.text(false));
    let colored = report.text(true);
    assert!(colored.contains("\x1b[1;31mFAIL\x1b[0m"), "{colored}");
}

#[test]
fn skips_alone_do_not_fail_but_are_not_passes() {
    let report = Report::new(vec![outcome("nix", "service/r/running", "nix", Status::Skip, Some("NixOS"))]);
    assert!(report.is_success());
    assert_eq!(report.passed, 0);
    assert!(report.text(false).ends_with("0 passed, 0 failed, 1 skipped\n"));
}
