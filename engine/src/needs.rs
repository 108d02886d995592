//! The runtime values a pipeline needs: every `(env)` setting, and the
//! variables a feature reads by itself (`ROLLCALL_SMTP_HOST` for email),
//! each with the part of a run that needs it. `rollcall check` lists them,
//! `plan` warns about the missing ones, and `run` refuses, before it takes
//! the lock, when its outputs' settings are missing: otherwise it would
//! commit its change set and then fail to deliver it.
//!
//! Only presence is checked here; values are never returned or shown.

use rollcall_model::{Channel, ExternalMatcher, Location, Setting, SinkKind, Upload};
use serde::Serialize;

use crate::plan::Plan;
use crate::registry::config::Strategy;

/// The part of a run a value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// Locating and reading the extract.
    Source,
    /// The external matcher.
    Matcher,
    /// Writing a sink's file (after the commit).
    Sink,
    /// Uploading a sink's file or delivering to a target (after the
    /// commit; not with `--skip-upload`).
    Upload,
    /// Sending a notification (a missing value loses the message, not the run).
    Notification,
}

impl Part {
    /// Whether a run can commit and then fail for want of this part's values.
    pub fn after_commit(self) -> bool {
        matches!(self, Part::Sink | Part::Upload)
    }
}

/// One environment variable a run reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Need {
    /// The variable's name.
    pub variable: String,
    /// What it is for, e.g. ``the action sink's `reassign-to` ``.
    pub what: String,
    /// The part of the run that reads it.
    pub part: Part,
    /// Whether it is set (and not empty). Its value is never kept.
    pub set: bool,
    /// Whether the run fails without it. An SFTP upload's `password` and
    /// `key-file` are each optional while the other one is set.
    pub required: bool,
}

/// Every environment variable a run of `plan` reads, in the order the run
/// needs them, each once per use.
pub fn needs(plan: &Plan) -> Vec<Need> {
    let mut list = Needs(Vec::new());
    if let Location::S3(s3) = &plan.source.location {
        list.add(Some(&s3.bucket), "the s3 source's bucket", Part::Source);
        list.add(
            s3.endpoint.as_ref(),
            "the s3 source's endpoint",
            Part::Source,
        );
        list.add(s3.region.as_ref(), "the s3 source's region", Part::Source);
    }
    if let Strategy::External {
        target: ExternalMatcher::Url(url),
        ..
    } = &plan.registry.strategy
    {
        list.add(Some(url), "the external matcher's url", Part::Matcher);
    }
    for sink in &plan.sinks {
        if let SinkKind::Actions(actions) = &sink.kind {
            let what = "the action sink's `reassign-to`";
            list.add(actions.reassign_to.as_ref(), what, Part::Sink);
        }
        for upload in &sink.uploads {
            upload_needs(upload, &mut list);
        }
    }
    // A target is delivered after the commit, like an upload (and, like
    // one, not with `--skip-upload`): its settings are checked before.
    for target in &plan.targets {
        let name = &target.name.value;
        match &target.kind {
            rollcall_model::TargetKind::Scim(scim) => {
                list.add(
                    Some(&scim.url),
                    &format!("target {name}'s url"),
                    Part::Upload,
                );
                list.add(
                    scim.token.as_ref(),
                    &format!("target {name}'s token"),
                    Part::Upload,
                );
            }
            rollcall_model::TargetKind::Ldap(ldap) => {
                list.add(
                    Some(&ldap.url),
                    &format!("target {name}'s url"),
                    Part::Upload,
                );
                list.add(
                    ldap.bind_dn.as_ref(),
                    &format!("target {name}'s bind-dn"),
                    Part::Upload,
                );
                list.add(
                    ldap.password.as_ref(),
                    &format!("target {name}'s password"),
                    Part::Upload,
                );
            }
        }
    }
    for notify in &plan.notifications {
        match &notify.channel {
            Channel::Email { to, from, .. } => {
                let host = Setting::Env("ROLLCALL_SMTP_HOST".into());
                list.add(
                    Some(&host),
                    "email notifications' SMTP server",
                    Part::Notification,
                );
                for recipient in to {
                    list.add(Some(recipient), "an email recipient", Part::Notification);
                }
                list.add(from.as_ref(), "the email's `from`", Part::Notification);
            }
            Channel::Webhook { url } => {
                list.add(Some(url), "the webhook URL", Part::Notification);
            }
        }
    }
    list.0
}

fn upload_needs(upload: &Upload, list: &mut Needs) {
    match upload {
        Upload::S3 {
            bucket,
            endpoint,
            region,
            ..
        } => {
            list.add(Some(bucket), "the s3 upload's bucket", Part::Upload);
            list.add(endpoint.as_ref(), "the s3 upload's endpoint", Part::Upload);
            list.add(region.as_ref(), "the s3 upload's region", Part::Upload);
        }
        Upload::Sftp {
            host,
            user,
            password,
            key_file,
            host_key,
            ..
        } => {
            list.add(Some(host), "the sftp upload's `host`", Part::Upload);
            list.add(Some(user), "the sftp upload's `user`", Part::Upload);
            let first = list.0.len();
            list.add(
                password.as_ref(),
                "the sftp upload's `password`",
                Part::Upload,
            );
            list.add(
                key_file.as_ref(),
                "the sftp upload's `key-file`",
                Part::Upload,
            );
            // Logging in needs one of the two; a literal one always is.
            let literal = matches!(password, Some(Setting::Literal(_)))
                || matches!(key_file, Some(Setting::Literal(_)));
            let either = literal || list.0[first..].iter().any(|need| need.set);
            for need in &mut list.0[first..] {
                need.required = !either;
            }
            list.add(Some(host_key), "the sftp upload's `host-key`", Part::Upload);
        }
    }
}

/// The list being built.
struct Needs(Vec<Need>);

impl Needs {
    /// Adds a setting that names a variable; literals need nothing.
    fn add(&mut self, setting: Option<&Setting>, what: &str, part: Part) {
        if let Some(Setting::Env(name)) = setting {
            self.0.push(Need {
                variable: name.clone(),
                what: what.to_owned(),
                part,
                set: crate::env::resolve(&Setting::Env(name.clone()), what).is_ok(),
                required: true,
            });
        }
    }
}

/// The needs of a run's outputs that are missing: what `run` refuses for
/// (uploads only when they are not skipped).
pub fn missing_for_outputs(plan: &Plan, skip_uploads: bool) -> Vec<Need> {
    needs(plan)
        .into_iter()
        .filter(|need| !need.set && need.required && need.part.after_commit())
        .filter(|need| !(skip_uploads && need.part == Part::Upload))
        .collect()
}
