//! `stepauth-import`: moves the old Django backend's users into stepauth's table (issue 15;
//! README, "Moving from Django").
//!
//! ```text
//! stepauth-import [--dry-run] [--table NAME] [--field ours=theirs]... [--concurrency N] FILE
//! ```
//!
//! FILE is what `python manage.py dumpdata <app>.User --format json` writes, or the same as
//! CSV with a header row (a `.csv` name). The table is `--table` or `STEPAUTH_TABLE`; AWS
//! credentials, region and endpoint come from the usual environment (`AWS_ENDPOINT_URL` for
//! moto). Each user is written in one transaction (the email claim and the account, as
//! sign-up does); a user whose email has an account already is skipped, so a re-run, or a
//! run after a crash, carries on where the last one stopped. `--dry-run` checks every record
//! and reads, but writes nothing. Nothing printed or logged holds a hash or a secret.
//!
//! Exit status: 0 when every record moved in or was there already, 2 when some were
//! refused (the report lists them), 1 when the import could not run.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use stepauth::clock::{Clock as _, SystemClock};
use stepauth::migration::{self, Moved, MovingIn};
use stepauth::model::Attribute;
use stepauth::model::profile::username_key;
use stepauth::password::django::Hash;
use stepauth::random::{self, SystemRandom};
use stepauth::store::Store;
use stepauth::store::dynamo::DynamoStore;
use stepauth_local::import::{self, Fields, Format};

struct Options {
    file: String,
    table: String,
    fields: Fields,
    dry_run: bool,
    concurrency: usize,
}

fn options() -> anyhow::Result<Options> {
    let usage = "usage: stepauth-import [--dry-run] [--table NAME] [--field ours=theirs]... [--concurrency N] FILE";
    let mut args = std::env::args().skip(1);
    let (mut file, mut table, mut fields) = (None, stepauth::config::var("STEPAUTH_TABLE"), Fields::default());
    let (mut dry_run, mut concurrency) = (false, 8);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--table" => table = Some(args.next().context(usage)?),
            "--field" => fields.set(&args.next().context(usage)?)?,
            "--concurrency" => {
                concurrency = args.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0).context(usage)?
            }
            "-h" | "--help" => bail!("{usage}"),
            flag if flag.starts_with("--") => bail!("unknown option {flag}\n{usage}"),
            _ if file.is_none() => file = Some(arg),
            _ => bail!("{usage}"),
        }
    }
    let file = file.context(usage)?;
    let table = table.context("which table? --table NAME or STEPAUTH_TABLE")?;
    Ok(Options { file, table, fields, dry_run, concurrency })
}

/// What became of each record.
#[derive(Default)]
struct Report {
    imported: usize,
    existing: usize,
    refused: Vec<(usize, String)>,
    /// Values of the old profile left out (the user moved in without them), by record.
    dropped: Vec<(usize, String)>,
    /// PBKDF2 hashes moved in, by iteration count.
    pbkdf2: BTreeMap<u32, usize>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(report) if report.refused.is_empty() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(2),
        Err(error) => {
            eprintln!("stepauth-import: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<Report> {
    let options = options()?;
    let text = std::fs::read_to_string(&options.file).with_context(|| format!("reading {}", options.file))?;
    let records = import::read(&text, Format::of(&options.file), &options.fields)?;
    let unit = match Format::of(&options.file) {
        Format::Json => "record",
        Format::Csv => "line",
    };
    let (moving, mut report) = check(records, unit);

    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store: Arc<dyn Store> =
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), options.table.clone()));
    let progress = Progress::new(moving.len());
    let mut tasks = tokio::task::JoinSet::new();
    for (number, one) in moving {
        while tasks.len() >= options.concurrency {
            count(&mut report, tasks.join_next().await, &progress)?;
        }
        let (store, dry_run) = (store.clone(), options.dry_run);
        tasks.spawn(async move {
            let moved = if dry_run {
                let exists = store.user_by_email(&one.user.email).await?.is_some();
                if exists { Moved::Existing } else { Moved::Imported }
            } else {
                migration::move_in(&*store, &one).await?
            };
            anyhow::Ok((number, moved))
        });
    }
    while !tasks.is_empty() {
        count(&mut report, tasks.join_next().await, &progress)?;
    }
    progress.finish();
    print(&report, &options, unit);
    Ok(report)
}

/// Every record checked: the users that may move in, and the report of those that may not
/// (unreadable, refused by the rules, or an email a record before already has).
fn check(records: Vec<import::Record>, unit: &str) -> (Vec<(usize, MovingIn)>, Report) {
    let (random, now) = (SystemRandom::default(), SystemClock.now());
    let mut report = Report::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut usernames: HashMap<String, usize> = HashMap::new();
    let mut moving = Vec::new();
    for record in records {
        let checked = record.user.and_then(|old| {
            migration::moving_in(&old, random::uuid_v4(&random), now).map_err(|refused| refused.to_string())
        });
        match checked {
            Err(reason) => report.refused.push((record.number, reason)),
            Ok(one) => match seen.get(one.user.email.as_str()) {
                Some(first) => {
                    report.refused.push((record.number, format!("duplicate of {unit} {first} in this file")))
                }
                None => {
                    let mut one = one;
                    seen.insert(one.user.email.as_str().to_owned(), record.number);
                    if let Ok(Hash::Pbkdf2 { iterations, .. }) = Hash::parse(&one.user.password_hash) {
                        *report.pbkdf2.entry(iterations.get()).or_default() += 1;
                    }
                    if let Some(username) = one.user.profile.get(&Attribute::PreferredUsername) {
                        let key = username_key(username);
                        match usernames.get(&key) {
                            Some(first) => {
                                one.user.profile.remove(&Attribute::PreferredUsername);
                                let why = format!("preferred_username dropped: {unit} {first} has it");
                                one.dropped.push(why);
                            }
                            None => drop(usernames.insert(key, record.number)),
                        }
                    }
                    report.dropped.extend(one.dropped.iter().map(|why| (record.number, why.clone())));
                    moving.push((record.number, one));
                }
            },
        }
    }
    (moving, report)
}

fn count(
    report: &mut Report,
    done: Option<Result<anyhow::Result<(usize, Moved)>, tokio::task::JoinError>>,
    progress: &Progress,
) -> anyhow::Result<()> {
    match done.context("no task")?.context("an import task stopped")?.context("writing to the table")? {
        (_, Moved::Imported) => report.imported += 1,
        (number, Moved::ImportedWithoutUsername) => {
            report.imported += 1;
            report.dropped.push((number, "preferred_username dropped: an account here has it".to_owned()));
        }
        (_, Moved::Existing) => report.existing += 1,
    }
    progress.tick(report.imported + report.existing);
    Ok(())
}

fn print(report: &Report, options: &Options, unit: &str) {
    let (verb, skipped) = if options.dry_run {
        ("would be imported (dry run: nothing was written)", "would be skipped")
    } else {
        ("imported", "skipped")
    };
    println!("stepauth-import: {} into table {}", options.file, options.table);
    println!("  {verb}: {}", report.imported);
    println!("  {skipped}, an account with that email is there already: {}", report.existing);
    println!("  values left out (the rules here refuse them; the user moved in without): {}", report.dropped.len());
    for (number, why) in &report.dropped {
        println!("    {unit} {number}: {why}");
    }
    println!("  refused: {}", report.refused.len());
    for (number, reason) in &report.refused {
        println!("    {unit} {number}: {reason}");
    }
    if let Some((iterations, _)) = report.pbkdf2.iter().max_by_key(|(_, n)| **n) {
        let total: usize = report.pbkdf2.values().sum();
        println!(
            "  {total} PBKDF2 password hashes (most at {iterations} iterations): while they remain, deploy with \
             LegacyPbkdf2Iterations={iterations} (STEPAUTH_LEGACY_PBKDF2_ITERATIONS) so that logins take as long \
             for every address (docs/SECURITY.md, \"Enumeration\")"
        );
    }
}

/// How often a plain progress line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// A progress bar with rate and ETA on a terminal; otherwise a plain line at the first user
/// and then every two seconds.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    started: Instant,
    /// When the last plain line was printed, if one was.
    last_line: std::sync::Mutex<Option<Instant>>,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} users, {per_sec}, ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        let now = Instant::now();
        Self { bar, total, started: now, last_line: std::sync::Mutex::new(None) }
    }

    fn tick(&self, done: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            return;
        }
        let mut last = self.last_line.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|at| at.elapsed() >= LINE_EVERY) {
            *last = Some(Instant::now());
            let rate = self.rate(done);
            let eta = (self.total - done) as f64 / rate.max(0.001);
            eprintln!("stepauth-import: {done}/{} users ({rate:.0}/s, ETA {eta:.0} s)", self.total);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        eprintln!("stepauth-import: {} users in {elapsed:.1} s ({:.0}/s)", self.total, self.rate(self.total));
    }

    /// Users a second since the start, `done` of them done.
    fn rate(&self, done: usize) -> f64 {
        done as f64 / self.started.elapsed().as_secs_f64().max(0.001)
    }
}
