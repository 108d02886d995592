//! The text of saved plans: what `plan --out` says it wrote, and
//! `rollcall show-plan`: the bindings, then the plan as `plan` showed it.

use std::path::Path;

use rollcall_engine::review::SavedPlan;

use super::Screen;
use super::plan::plan_text;

/// The line `plan --out` writes on stderr after the plan.
pub fn saved_note(path: &Path, digest_only: bool) -> String {
    let what = if digest_only {
        "counts and digest only, no record values"
    } else {
        "it holds personal data: keep it like the state store"
    };
    format!(
        "plan saved to {} ({what}); `rollcall apply {}` applies exactly this change set\n",
        path.display(),
        path.display()
    )
}

/// `show-plan`: what the plan is bound to, then the plan's text.
pub fn saved_plan_text(saved: &SavedPlan) -> Screen {
    let mut screen = Screen::default();
    let store = match &saved.store.lineage {
        Some(lineage) => format!(
            "{}  lineage {} serial {}",
            saved.store.path.display(),
            lineage.lineage,
            lineage.serial
        ),
        None => format!("{}  (none yet)", saved.store.path.display()),
    };
    let mut head = format!(
        "plan of {} made {} by rollcall {}\n",
        saved.pipeline.name, saved.created_at, saved.version
    );
    let rows = [
        (
            "pipeline",
            format!(
                "{}  sha256 {}",
                saved.pipeline.file.display(),
                saved.pipeline.sha256
            ),
        ),
        (
            "extract",
            format!(
                "{}  sha256 {}",
                saved.extract.uri,
                saved.extract.sha256.as_deref().unwrap_or("unknown")
            ),
        ),
        ("store", store),
        ("decided at", saved.request.now.clone()),
        ("digest", saved.digest.clone()),
    ];
    for (name, value) in rows {
        head.push_str(&format!("  {name:<11} {value}\n"));
    }
    if saved.digest_only {
        head.push_str("  (digest only: record values were left out; the counts follow)\n");
    }
    head.push('\n');
    screen.out(&head);
    screen.append(plan_text(&saved.report));
    screen
}
