//! The store contract: one suite, run against the DynamoDB store (on moto) and the
//! in-memory store, so that the local server behaves as production does.

use std::collections::BTreeMap;
use std::sync::Arc;

use stepauth::config::CodeLimits;
use stepauth::model::{
    Activity, Attempt, Attribute, CustomValue, DeliveryEvent, Email, Grant, GrantKind, Identity, Issued, LoginState,
    MailRecord, MailStatus, Method, NewCode, Page, ProfileChange, Purpose, Redeemed, Session, SessionUse, User,
};
use stepauth::store::{Created, EmailChanged, ProfileUpdated, Reset, Rotated, Store};
use stepauth_tests::unique_email;

const T0: i64 = 1_800_000_000;

fn email(label: &str) -> Email {
    Email::parse(&unique_email(label)).expect("a valid email")
}

fn code(hash: &str, context: Option<&str>) -> NewCode {
    NewCode { hash: hash.into(), context: context.map(str::to_owned) }
}

fn user(id: &str, email: &Email) -> User {
    User::new(id.into(), email.clone(), "Contract".into(), "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(), T0)
}

fn grant(token_hash: &str, email: &Email, expires_at: i64) -> Grant {
    Grant {
        token_hash: token_hash.into(),
        kind: GrantKind::Signup,
        email: email.clone(),
        name: "N".into(),
        user_id: None,
        user_version: None,
        expires_at,
        first_factor: None,
    }
}

async fn codes_work_once_and_only_for_their_purpose(store: Arc<dyn Store>) {
    let limits = CodeLimits::default();
    let e = email("purpose");
    assert!(matches!(
        store.issue_code(&e, Purpose::Signup, code("h1", Some("Ann")), T0, &limits).await.unwrap(),
        Issued::Issued(_)
    ));
    assert_eq!(store.redeem_code(&e, Purpose::Login, "h1", T0, &limits).await.unwrap(), Redeemed::Rejected);
    assert_eq!(store.redeem_code(&e, Purpose::PasswordReset, "h1", T0, &limits).await.unwrap(), Redeemed::Rejected);
    assert_eq!(
        store.redeem_code(&e, Purpose::Signup, "h1", T0 + 1, &limits).await.unwrap(),
        Redeemed::Redeemed { context: Some("Ann".into()) }
    );
    assert_eq!(store.redeem_code(&e, Purpose::Signup, "h1", T0 + 2, &limits).await.unwrap(), Redeemed::Rejected);
    assert_eq!(
        store.redeem_code(&email("other"), Purpose::Signup, "h1", T0, &limits).await.unwrap(),
        Redeemed::Rejected
    );
}

async fn codes_expire_after_ten_minutes(store: Arc<dyn Store>) {
    let limits = CodeLimits::default();
    let e = email("expire");
    store.issue_code(&e, Purpose::Signup, code("h", None), T0, &limits).await.unwrap();
    assert_eq!(store.redeem_code(&e, Purpose::Signup, "h", T0 + 600, &limits).await.unwrap(), Redeemed::Rejected);
    let e = email("expire-edge");
    store.issue_code(&e, Purpose::Signup, code("h", None), T0, &limits).await.unwrap();
    assert!(matches!(
        store.redeem_code(&e, Purpose::Signup, "h", T0 + 599, &limits).await.unwrap(),
        Redeemed::Redeemed { .. }
    ));
}

async fn five_wrong_guesses_kill_a_code(store: Arc<dyn Store>) {
    let limits = CodeLimits::default();
    let e = email("kill");
    store.issue_code(&e, Purpose::Login, code("right", None), T0, &limits).await.unwrap();
    for _ in 0..5 {
        assert_eq!(store.redeem_code(&e, Purpose::Login, "wrong", T0, &limits).await.unwrap(), Redeemed::Rejected);
    }
    assert_eq!(store.redeem_code(&e, Purpose::Login, "right", T0, &limits).await.unwrap(), Redeemed::Rejected);
}

async fn sends_have_a_cooldown_and_a_cap(store: Arc<dyn Store>) {
    let limits = CodeLimits::default();
    let e = email("cap");
    let issue = |at: i64| {
        let (store, e, limits) = (store.clone(), e.clone(), limits.clone());
        async move { store.issue_code(&e, Purpose::Signup, code("h", None), at, &limits).await.unwrap() }
    };
    assert!(matches!(issue(T0).await, Issued::Issued(_)));
    assert_eq!(issue(T0 + 59).await, Issued::Throttled { retry_after: 1 });
    for n in 1..5 {
        assert!(matches!(issue(T0 + 60 * n).await, Issued::Issued(_)));
    }
    assert_eq!(issue(T0 + 300).await, Issued::Throttled { retry_after: 3_300 });
    assert!(matches!(issue(T0 + 3_600).await, Issued::Issued(_)), "a new window");
    assert_eq!(issue(T0 + 3_600).await, Issued::Throttled { retry_after: 60 });
}

async fn resends_keep_the_context_and_the_failure_budget(store: Arc<dyn Store>) {
    let limits = CodeLimits::default();
    let e = email("budget");
    store.issue_code(&e, Purpose::Signup, code("a", Some("Ann")), T0, &limits).await.unwrap();
    for _ in 0..5 {
        store.redeem_code(&e, Purpose::Signup, "x", T0, &limits).await.unwrap();
    }
    store.issue_code(&e, Purpose::Signup, code("b", None), T0 + 60, &limits).await.unwrap();
    for _ in 0..4 {
        assert_eq!(store.redeem_code(&e, Purpose::Signup, "x", T0 + 61, &limits).await.unwrap(), Redeemed::Rejected);
    }
    assert_eq!(
        store.redeem_code(&e, Purpose::Signup, "x", T0 + 61, &limits).await.unwrap(),
        Redeemed::Exhausted { retry_after: 3_539 }
    );
    assert_eq!(
        store.redeem_code(&e, Purpose::Signup, "b", T0 + 62, &limits).await.unwrap(),
        Redeemed::Exhausted { retry_after: 3_538 }
    );
    store.issue_code(&e, Purpose::Signup, code("c", None), T0 + 3_600, &limits).await.unwrap();
    assert_eq!(
        store.redeem_code(&e, Purpose::Signup, "c", T0 + 3_601, &limits).await.unwrap(),
        Redeemed::Redeemed { context: None },
        "a new window starts with a fresh budget and no old context"
    );
    let e = email("context");
    store.issue_code(&e, Purpose::Signup, code("a", Some("Ann")), T0, &limits).await.unwrap();
    store.issue_code(&e, Purpose::Signup, code("b", None), T0 + 60, &limits).await.unwrap();
    assert_eq!(
        store.redeem_code(&e, Purpose::Signup, "b", T0 + 61, &limits).await.unwrap(),
        Redeemed::Redeemed { context: Some("Ann".into()) }
    );
}

async fn fifty_concurrent_redemptions_give_one_success(store: Arc<dyn Store>) {
    let limits = CodeLimits::default();
    let e = email("race");
    store.issue_code(&e, Purpose::Signup, code("h", None), T0, &limits).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (store, e, limits) = (store.clone(), e.clone(), limits.clone());
        tasks.spawn(async move { store.redeem_code(&e, Purpose::Signup, "h", T0 + 1, &limits).await.unwrap() });
    }
    let answers = tasks.join_all().await;
    assert_eq!(answers.iter().filter(|a| matches!(a, Redeemed::Redeemed { .. })).count(), 1);
}

async fn grants_expire_and_keep_their_kind(store: Arc<dyn Store>) {
    let e = email("grant");
    store.put_grant(&grant("g1", &e, T0 + 900)).await.unwrap();
    assert_eq!(store.grant("g1", GrantKind::Signup, T0).await.unwrap().map(|g| g.email), Some(e.clone()));
    assert_eq!(store.grant("g1", GrantKind::Signup, T0 + 900).await.unwrap(), None);
    assert_eq!(store.grant("missing", GrantKind::Signup, T0).await.unwrap(), None);
}

async fn users_are_created_once_per_email(store: Arc<dyn Store>) {
    let e = email("unique");
    store.put_grant(&grant("g-a", &e, T0 + 900)).await.unwrap();
    store.put_grant(&grant("g-b", &e, T0 + 900)).await.unwrap();
    let ann = user(&format!("id-{e}"), &e);
    assert_eq!(store.create_user(&ann, "g-a", T0).await.unwrap(), Created::Created);
    assert_eq!(store.create_user(&ann, "g-a", T0).await.unwrap(), Created::Created, "a repeat is the same user");
    let other = user(&format!("other-{e}"), &e);
    assert_eq!(store.create_user(&other, "g-a", T0).await.unwrap(), Created::GrantInvalid, "the grant is used up");
    let twin = user(&format!("twin-{e}"), &e);
    assert_eq!(store.create_user(&twin, "g-b", T0).await.unwrap(), Created::EmailTaken);
    assert_eq!(store.user_by_email(&e).await.unwrap(), Some(ann.clone()));
    assert_eq!(store.user(&ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(store.user("nobody").await.unwrap(), None);

    let late = email("late");
    store.put_grant(&grant("g-late", &late, T0 + 900)).await.unwrap();
    assert_eq!(store.create_user(&user("late", &late), "g-late", T0 + 900).await.unwrap(), Created::GrantInvalid);
    let wrong = email("wrong-grant");
    assert_eq!(
        store.create_user(&user("wrong", &wrong), "g-b", T0).await.unwrap(),
        Created::GrantInvalid,
        "grant of another email"
    );
}

async fn emails_change_only_from_the_state_read_and_to_a_free_address(store: Arc<dyn Store>) {
    let (old, new, taken) = (email("move-old"), email("move-new"), email("move-taken"));
    let ann = user(&format!("id-{old}"), &old);
    store.import_user(&ann, false).await.unwrap();
    store.import_user(&user(&format!("id-{taken}"), &taken), false).await.unwrap();
    assert_eq!(store.change_email(&ann.id, &old, &taken, 0).await.unwrap(), EmailChanged::EmailTaken);
    assert_eq!(store.change_email(&ann.id, &old, &new, 1).await.unwrap(), EmailChanged::Conflict, "another version");
    assert_eq!(store.change_email(&ann.id, &new, &taken, 0).await.unwrap(), EmailChanged::Conflict, "another address");
    assert_eq!(store.change_email("nobody", &old, &new, 0).await.unwrap(), EmailChanged::Conflict);
    assert_eq!(store.user_by_email(&old).await.unwrap().map(|u| u.id), Some(ann.id.clone()), "nothing moved");
    assert_eq!(store.change_email(&ann.id, &old, &new, 0).await.unwrap(), EmailChanged::Changed);
    let moved = store.user_by_email(&new).await.unwrap().expect("the user, at its new address");
    assert_eq!((moved.id.as_str(), &moved.email, moved.token_version), (ann.id.as_str(), &new, 1));
    assert_eq!(store.user_by_email(&old).await.unwrap(), None, "the old address is free");
    store.import_user(&user(&format!("next-{old}"), &old), false).await.unwrap();
}

async fn users_delete_with_their_claim_and_links_only_from_the_state_read(store: Arc<dyn Store>) {
    let e = email("delete");
    let identity = Identity {
        issuer: "https://issuer.example".into(),
        subject: format!("sub-{e}"),
        email: e.as_str().into(),
        linked_at: T0,
    };
    let ann = User { identities: vec![identity.clone()], ..user(&format!("id-{e}"), &e) };
    assert_eq!(store.create_user_with_identity(&ann, &identity).await.unwrap(), Created::Created);
    let stale = User { token_version: 1, ..ann.clone() };
    assert!(!store.delete_user(&stale).await.unwrap(), "another token version");
    assert!(store.user(&ann.id).await.unwrap().is_some());
    assert!(store.delete_user(&ann).await.unwrap());
    assert!(!store.delete_user(&ann).await.unwrap(), "once");
    assert_eq!(store.user(&ann.id).await.unwrap(), None);
    assert_eq!(store.user_by_email(&e).await.unwrap(), None);
    assert_eq!(store.user_by_identity(&identity.issuer, &identity.subject).await.unwrap(), None, "the link is gone");
    let next = User { identities: vec![identity.clone()], ..user(&format!("next-{e}"), &e) };
    assert_eq!(store.create_user_with_identity(&next, &identity).await.unwrap(), Created::Created, "all free again");
}

async fn deactivation_locks_the_address_until_reactivation(store: Arc<dyn Store>) {
    let e = email("off");
    let ann = user(&format!("id-{e}"), &e);
    store.import_user(&ann, false).await.unwrap();
    assert!(!store.set_deactivated(&User { email: email("elsewhere"), ..ann.clone() }, true).await.unwrap());
    assert!(store.set_deactivated(&ann, true).await.unwrap());
    let off = store.user(&ann.id).await.unwrap().expect("the user");
    assert_eq!((off.deactivated, off.token_version), (true, 1), "every session ends");
    assert_eq!(store.begin_attempt(&e, 3, T0 + 1_000_000).await.unwrap(), Attempt::Locked, "for good");
    assert!(store.set_deactivated(&ann, false).await.unwrap());
    assert!(!store.user(&ann.id).await.unwrap().expect("the user").deactivated);
    assert_eq!(store.begin_attempt(&e, 3, T0).await.unwrap(), Attempt::Allowed);
    assert!(!store.set_deactivated(&user("nobody", &e), true).await.unwrap());
}

async fn users_are_found_by_the_start_of_their_address(store: Arc<dyn Store>) {
    let prefix = email("prefix").as_str().split('@').next().unwrap().replace('-', "");
    for i in [2, 0, 1] {
        let e = Email::parse(&format!("{prefix}{i}@example.com")).unwrap();
        store.import_user(&user(&format!("id-{e}"), &e), false).await.unwrap();
    }
    let other = email("elsewhere");
    store.import_user(&user(&format!("id-{other}"), &other), false).await.unwrap();
    let first = store.users_by_email_prefix(&prefix, 2, None).await.unwrap();
    let emails =
        |p: &stepauth::model::Page<User>| p.items.iter().map(|u| u.email.as_str().to_owned()).collect::<Vec<_>>();
    assert_eq!(emails(&first), [format!("{prefix}0@example.com"), format!("{prefix}1@example.com")]);
    let second = store.users_by_email_prefix(&prefix, 2, first.next.as_deref()).await.unwrap();
    assert_eq!((emails(&second), second.next), (vec![format!("{prefix}2@example.com")], None));
    assert!(store.users_by_email_prefix("zz-none", 5, None).await.unwrap().items.is_empty());
    let refused = store.users_by_email_prefix(&prefix, 2, Some("other@example.com")).await;
    assert!(refused.unwrap_err().downcast_ref::<stepauth::store::BadCursor>().is_some());
}

async fn fifty_concurrent_changes_to_one_address_give_one_owner(store: Arc<dyn Store>) {
    let target = email("move-race");
    let mut users = Vec::new();
    for i in 0..50 {
        let e = email(&format!("move-race-{i}"));
        let u = user(&format!("id-{e}"), &e);
        store.import_user(&u, false).await.unwrap();
        users.push(u);
    }
    let handles = users.into_iter().map(|u| {
        let (store, target) = (store.clone(), target.clone());
        tokio::spawn(
            async move { store.change_email(&u.id, &u.email, &target, 0).await.unwrap() == EmailChanged::Changed },
        )
    });
    assert_eq!(futures_count(handles).await, 1);
    let owner = store.user_by_email(&target).await.unwrap().expect("one owner");
    assert_eq!(owner.email, target);
}

async fn fifty_concurrent_creations_give_one_user(store: Arc<dyn Store>) {
    let e = email("race-create");
    for i in 0..50 {
        store.put_grant(&grant(&format!("race-{e}-{i}"), &e, T0 + 900)).await.unwrap();
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (store, e) = (store.clone(), e.clone());
        tasks.spawn(async move {
            store.create_user(&user(&format!("u{i}-{e}"), &e), &format!("race-{e}-{i}"), T0).await.unwrap()
        });
    }
    let answers = tasks.join_all().await;
    assert_eq!(answers.iter().filter(|a| **a == Created::Created).count(), 1, "{answers:?}");
    assert!(answers.iter().all(|a| matches!(a, Created::Created | Created::EmailTaken)), "{answers:?}");
}

async fn logins_and_token_versions_are_recorded(store: Arc<dyn Store>) {
    let e = email("version");
    store.put_grant(&grant("gv", &e, T0 + 900)).await.unwrap();
    let u = user(&format!("v-{e}"), &e);
    store.create_user(&u, "gv", T0).await.unwrap();
    store.record_login(&u.id, T0 + 5).await.unwrap();
    assert_eq!(store.bump_token_version(&u.id).await.unwrap(), Some(1));
    assert_eq!(store.bump_token_version(&u.id).await.unwrap(), Some(2));
    let stored = store.user(&u.id).await.unwrap().expect("the user");
    assert_eq!((stored.last_login, stored.token_version), (Some(T0 + 5), 2));
    assert_eq!(store.bump_token_version("nobody").await.unwrap(), None);
    store.record_login("nobody", T0).await.unwrap();
    assert_eq!(store.user("nobody").await.unwrap(), None, "recording a login creates nothing");
}

fn stored_session(id: &str, user_id: &str, user_version: u64, created_at: i64) -> Session {
    Session {
        id: id.into(),
        user_id: user_id.into(),
        token_hash: "h1".into(),
        user_version,
        created_at,
        expires_at: created_at + 100,
        method: Some("password".into()),
        last_used_at: created_at,
        first_ip: Some("192.0.2.1".into()),
        last_ip: Some("192.0.2.1".into()),
        user_agent: Some("curl/8".into()),
    }
}

fn used(at: i64) -> SessionUse {
    SessionUse { at, source_ip: Some("198.51.100.7".into()), user_agent: None }
}

async fn sessions_rotate_only_from_the_current_token(store: Arc<dyn Store>) {
    let id = format!("s-{}", unique_email("s"));
    let session = stored_session(&id, "u", 0, T0);
    store.put_session(&session).await.unwrap();
    assert_eq!(store.session(&id, T0).await.unwrap(), Some(session.clone()));
    assert_eq!(store.rotate_session(&id, "h1", "h2", &used(T0 + 5)).await.unwrap(), Rotated::Rotated);
    assert_eq!(store.rotate_session(&id, "h1", "h3", &used(T0)).await.unwrap(), Rotated::Stale);
    let rotated = store.session(&id, T0).await.unwrap().expect("the session");
    let expected = Session {
        token_hash: "h2".into(),
        last_used_at: T0 + 5,
        last_ip: Some("198.51.100.7".into()),
        user_agent: None,
        ..session
    };
    assert_eq!(rotated, expected, "a rotation records its use, and forgets the old User-Agent");
    assert_eq!(store.rotate_session(&id, "h2", "h3", &used(T0 + 100)).await.unwrap(), Rotated::Stale, "expired");
    assert_eq!(store.session(&id, T0 + 100).await.unwrap(), None, "expiry is checked on read");
    store.delete_session(&id).await.unwrap();
    assert_eq!(store.session(&id, T0).await.unwrap(), None);
    assert_eq!(store.rotate_session(&id, "h2", "h3", &used(T0)).await.unwrap(), Rotated::Stale);
    store.delete_session(&id).await.unwrap();
}

/// A user's sessions list newest first, in pages, live ones of the current token version only.
async fn user_sessions_page_newest_first_and_only_live_ones(store: Arc<dyn Store>) {
    let user_id = format!("u-{}", unique_email("devices"));
    for (i, version, created_at) in [(0, 1, T0), (1, 1, T0 + 10), (2, 1, T0 + 20), (3, 0, T0 + 30), (4, 1, T0 - 200)] {
        store.put_session(&stored_session(&format!("{user_id}-{i}"), &user_id, version, created_at)).await.unwrap();
    }
    store.put_session(&stored_session(&format!("{user_id}-other"), "someone-else", 1, T0 + 40)).await.unwrap();
    let first = store.user_sessions(&user_id, 1, T0 + 50, 2, None).await.unwrap();
    let ids = |page: &stepauth::model::Page<Session>| page.items.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), [format!("{user_id}-2"), format!("{user_id}-1")]);
    let next = first.next.expect("a second page");
    let second = store.user_sessions(&user_id, 1, T0 + 50, 2, Some(&next)).await.unwrap();
    assert_eq!(ids(&second), [format!("{user_id}-0")], "older versions and expired sessions are not listed");
    assert_eq!(second.next, None);
    assert_eq!(second.items[0], stored_session(&format!("{user_id}-0"), &user_id, 1, T0), "every field kept");
    let refused = store.user_sessions(&user_id, 1, T0, 2, Some("not a cursor")).await;
    assert!(refused.unwrap_err().downcast_ref::<stepauth::store::BadCursor>().is_some());
}

async fn a_users_sessions_are_deleted_whatever_their_version(store: Arc<dyn Store>) {
    let user_id = format!("u-{}", unique_email("drop"));
    for (i, version) in [(0, 0), (1, 1), (2, 1)] {
        store.put_session(&stored_session(&format!("{user_id}-{i}"), &user_id, version, T0)).await.unwrap();
    }
    store.put_session(&stored_session(&format!("{user_id}-kept"), "someone-else", 1, T0)).await.unwrap();
    assert_eq!(store.delete_user_sessions(&user_id).await.unwrap(), 3);
    for i in 0..3 {
        assert_eq!(store.session(&format!("{user_id}-{i}"), T0).await.unwrap(), None);
    }
    assert!(store.session(&format!("{user_id}-kept"), T0).await.unwrap().is_some(), "another user's stays");
    assert_eq!(store.delete_user_sessions(&user_id).await.unwrap(), 0);
}

/// A user stored through a sign-up grant, as the API creates them.
async fn stored_user(store: &Arc<dyn Store>, label: &str, created_at: i64) -> User {
    let e = email(label);
    let grant_hash = format!("grant-{e}");
    store.put_grant(&grant(&grant_hash, &e, T0 + 900)).await.unwrap();
    let u = User { created_at, ..user(&format!("id-{e}"), &e) };
    assert_eq!(store.create_user(&u, &grant_hash, T0).await.unwrap(), Created::Created);
    u
}

const DAY: i64 = 86_400;

/// A whole attempt that fails: a slot, then the failure. The failures now counted.
async fn fail_once(store: &Arc<dyn Store>, e: &Email, now: i64) -> u32 {
    assert_eq!(store.begin_attempt(e, 3, now).await.unwrap(), Attempt::Allowed);
    let attempt = stepauth::random::token::<16>(&stepauth::random::SystemRandom::default());
    store.record_failure(e, &attempt, 3, DAY, now).await.unwrap()
}

async fn attempts_take_slots_before_they_are_checked(store: Arc<dyn Store>) {
    let e = email("lockout");
    assert_eq!(fail_once(&store, &e, T0).await, 1);
    assert_eq!(store.begin_attempt(&e, 3, T0).await.unwrap(), Attempt::Allowed);
    assert_eq!(store.record_failure(&e, "a-1", 3, DAY, T0).await.unwrap(), 2);
    assert_eq!(store.record_failure(&e, "a-1", 3, DAY, T0).await.unwrap(), 2, "a repeated failure counts once");
    store.clear_failures(&e).await.unwrap();
    for n in 1..=3 {
        assert_eq!(fail_once(&store, &e, T0).await, n);
    }
    assert_eq!(store.begin_attempt(&e, 3, T0).await.unwrap(), Attempt::Locked);
    assert_eq!(store.begin_attempt(&e, 3, T0 + 100 * DAY).await.unwrap(), Attempt::Locked, "a lock stays");
    assert_eq!(store.failures(&[e.clone(), email("clean")], T0 + 100 * DAY).await.unwrap(), [3, 0]);
    store.clear_failures(&e).await.unwrap();
    assert_eq!(store.failures(std::slice::from_ref(&e), T0).await.unwrap(), [0]);

    let busy = email("lockout-busy");
    for _ in 0..3 {
        assert_eq!(store.begin_attempt(&busy, 3, T0).await.unwrap(), Attempt::Allowed);
    }
    assert_eq!(store.begin_attempt(&busy, 3, T0).await.unwrap(), Attempt::Busy { retry_after: 60 }, "not locked");
    store.release_attempt(&busy).await.unwrap();
    assert_eq!(store.begin_attempt(&busy, 3, T0 + 1).await.unwrap(), Attempt::Allowed, "a slot came back");
    assert!(matches!(store.begin_attempt(&busy, 3, T0 + 60).await.unwrap(), Attempt::Busy { .. }));
    assert_eq!(store.begin_attempt(&busy, 3, T0 + 61).await.unwrap(), Attempt::Allowed, "stale slots come back");
    assert_eq!(store.failures(std::slice::from_ref(&busy), T0 + 61).await.unwrap(), [0], "no failure counted");
}

async fn fifty_concurrent_guesses_get_exactly_the_limit(store: Arc<dyn Store>) {
    let racing = email("lockout-race");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (store, racing) = (store.clone(), racing.clone());
        tasks.spawn(async move {
            let attempt = store.begin_attempt(&racing, 3, T0).await.unwrap();
            if attempt == Attempt::Allowed {
                store.record_failure(&racing, &format!("attempt-{i}"), 3, DAY, T0).await.unwrap();
            }
            attempt
        });
    }
    let answers = tasks.join_all().await;
    let checked = answers.iter().filter(|a| **a == Attempt::Allowed).count();
    assert_eq!(checked, 3, "fifty concurrent guesses get exactly three checks: {answers:?}");
    assert_eq!(store.begin_attempt(&racing, 3, T0).await.unwrap(), Attempt::Locked);

    let right = email("lockout-right");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (store, right) = (store.clone(), right.clone());
        tasks.spawn(async move {
            loop {
                match store.begin_attempt(&right, 3, T0).await.unwrap() {
                    Attempt::Allowed => break store.release_attempt(&right).await.unwrap(),
                    Attempt::Busy { .. } => tokio::task::yield_now().await,
                    Attempt::Locked => panic!("right answers never lock"),
                }
            }
        });
    }
    tasks.join_all().await;
    assert_eq!(store.failures(std::slice::from_ref(&right), T0).await.unwrap(), [0]);
}

async fn failures_below_the_lock_decay(store: Arc<dyn Store>) {
    let e = email("lockout-decay");
    assert_eq!(fail_once(&store, &e, T0).await, 1);
    assert_eq!(fail_once(&store, &e, T0 + 10).await, 2);
    let counted = |at| {
        let (store, e) = (store.clone(), e.clone());
        async move { store.failures(std::slice::from_ref(&e), at).await.unwrap()[0] }
    };
    assert_eq!(counted(T0 + 10 + DAY - 1).await, 2, "a window after the last failure");
    assert_eq!(counted(T0 + 10 + DAY).await, 0);
    assert_eq!(fail_once(&store, &e, T0 + 10 + DAY).await, 1, "a typo a day later starts again from one");
}

async fn a_released_attempt_takes_back_only_its_own_slot(store: Arc<dyn Store>) {
    let e = email("release");
    store.release_attempt(&e).await.unwrap();
    assert_eq!(store.failures(std::slice::from_ref(&e), T0).await.unwrap(), [0], "nothing to release");
    assert_eq!(fail_once(&store, &e, T0).await, 1);
    assert_eq!(store.begin_attempt(&e, 3, T0).await.unwrap(), Attempt::Allowed);
    store.release_attempt(&e).await.unwrap();
    store.release_attempt(&e).await.unwrap();
    assert_eq!(store.failures(std::slice::from_ref(&e), T0).await.unwrap(), [1], "the earlier failure stays");
    for _ in 0..2 {
        assert_eq!(store.begin_attempt(&e, 3, T0).await.unwrap(), Attempt::Allowed);
    }
    assert!(
        matches!(store.begin_attempt(&e, 3, T0).await.unwrap(), Attempt::Busy { .. }),
        "one failure, two in flight"
    );
}

async fn passwords_change_only_from_the_current_one(store: Arc<dyn Store>) {
    let u = stored_user(&store, "setpw", T0).await;
    let history = vec![u.password_hash.clone()];
    assert!(store.set_password(&u.id, &u.password_hash, "new-hash", &history).await.unwrap());
    assert!(!store.set_password(&u.id, &u.password_hash, "other-hash", &history).await.unwrap(), "stale old hash");
    let stored = store.user(&u.id).await.unwrap().expect("the user");
    assert_eq!(
        (stored.password_hash.as_str(), stored.password_history.clone(), stored.token_version),
        ("new-hash", history, 1)
    );
    assert!(!store.set_password("nobody", "x", "y", &[]).await.unwrap());
}

/// A moved-in hash is replaced only while it is still the one the login read; sessions and
/// history stay (docs/SECURITY.md, rule 53).
async fn rehashes_replace_only_the_hash_that_was_read(store: Arc<dyn Store>) {
    let u = stored_user(&store, "rehash", T0).await;
    assert!(store.rehash_password(&u.id, &u.password_hash, "argon2-of-the-same").await.unwrap());
    assert!(!store.rehash_password(&u.id, &u.password_hash, "stale").await.unwrap(), "the hash moved on");
    let stored = store.user(&u.id).await.unwrap().expect("the user");
    assert_eq!(
        (stored.password_hash.as_str(), stored.password_history.clone(), stored.token_version),
        ("argon2-of-the-same", u.password_history.clone(), u.token_version),
        "sessions and history stay"
    );
    assert!(!store.rehash_password("nobody", "x", "y").await.unwrap());
}

/// A user moved in is created once per email, locked when asked, in one transaction.
async fn moved_in_users_claim_their_email_once_and_may_start_locked(store: Arc<dyn Store>) {
    let e = email("moved");
    let u = user(&format!("m-{e}"), &e);
    assert_eq!(store.import_user(&u, true).await.unwrap(), Created::Created);
    let again = User { id: format!("n-{e}"), ..u.clone() };
    assert_eq!(store.import_user(&again, false).await.unwrap(), Created::EmailTaken, "the email is claimed");
    assert_eq!(store.user_by_email(&e).await.unwrap().map(|found| found.id), Some(u.id.clone()));
    assert_eq!(store.user(&again.id).await.unwrap(), None, "nothing half-done");
    assert!(store.failures(std::slice::from_ref(&e), T0).await.unwrap()[0] >= 1_000_000, "locked, without decay");
    let later = T0 + 365 * 24 * 3600;
    assert!(store.failures(std::slice::from_ref(&e), later).await.unwrap()[0] >= 1_000_000, "a year on, still locked");
}

fn reset_grant(token_hash: &str, u: &User, expires_at: i64) -> Grant {
    Grant { kind: GrantKind::PasswordReset, user_id: Some(u.id.clone()), ..grant(token_hash, &u.email, expires_at) }
}

async fn resets_use_their_grant_once(store: Arc<dyn Store>) {
    let u = stored_user(&store, "reset", T0).await;
    store.put_grant(&reset_grant("r1", &u, T0 + 900)).await.unwrap();
    assert_eq!(store.grant("r1", GrantKind::Signup, T0).await.unwrap(), None, "kinds do not mix");
    assert!(store.grant("r1", GrantKind::PasswordReset, T0).await.unwrap().is_some());
    assert_eq!(store.reset_password(&u.id, "r1", "stale", "h2", &[], T0).await.unwrap(), Reset::Conflict);
    assert_eq!(store.reset_password(&u.id, "r1", &u.password_hash, "h2", &[], T0).await.unwrap(), Reset::Reset);
    assert_eq!(store.reset_password(&u.id, "r1", "h2", "h3", &[], T0).await.unwrap(), Reset::GrantInvalid);
    store.put_grant(&reset_grant("r2", &u, T0 + 900)).await.unwrap();
    assert_eq!(
        store.reset_password(&u.id, "r2", "h2", "h3", &[], T0 + 900).await.unwrap(),
        Reset::GrantInvalid,
        "expired"
    );
    assert_eq!(store.reset_password("someone-else", "r2", "h2", "h3", &[], T0).await.unwrap(), Reset::GrantInvalid);
    let signup = grant("s1", &u.email, T0 + 900);
    store.put_grant(&signup).await.unwrap();
    assert_eq!(store.reset_password(&u.id, "s1", "h2", "h3", &[], T0).await.unwrap(), Reset::GrantInvalid);
}

async fn fifty_concurrent_resets_give_one_change(store: Arc<dyn Store>) {
    let u = stored_user(&store, "reset-race", T0).await;
    store.put_grant(&reset_grant("race", &u, T0 + 900)).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (store, u) = (store.clone(), u.clone());
        tasks.spawn(async move {
            store.reset_password(&u.id, "race", &u.password_hash, &format!("h{i}"), &[], T0).await.unwrap()
        });
    }
    let answers = tasks.join_all().await;
    assert_eq!(answers.iter().filter(|a| **a == Reset::Reset).count(), 1, "{answers:?}");
    assert_eq!(store.user(&u.id).await.unwrap().expect("the user").token_version, 1);
}

/// A picture is replaced only from the one read (so the upload it replaces is the one
/// deleted): two changes made from one read give one picture, whether it had one or not.
async fn pictures_change_only_from_the_one_read(store: Arc<dyn Store>) {
    let u = stored_user(&store, "picture", T0).await;
    let set = |picture: Option<&str>| ProfileChange {
        standard: BTreeMap::from([(Attribute::Picture, picture.map(str::to_owned))]),
        ..ProfileChange::default()
    };
    let ProfileUpdated::Updated(first) = store.update_profile(&u, &set(Some("s3:pictures/a"))).await.unwrap() else {
        panic!("the first picture")
    };
    assert_eq!(
        store.update_profile(&u, &set(Some("s3:pictures/b"))).await.unwrap(),
        ProfileUpdated::Conflict,
        "read before the first"
    );
    let ProfileUpdated::Updated(second) = store.update_profile(&first, &set(Some("s3:pictures/c"))).await.unwrap()
    else {
        panic!("replaced from the one read")
    };
    assert_eq!(
        store.update_profile(&first, &set(None)).await.unwrap(),
        ProfileUpdated::Conflict,
        "removed from a stale read"
    );
    // A change that leaves the picture alone does not ask for it.
    let renamed = ProfileChange { name: Some("Other".into()), ..ProfileChange::default() };
    assert!(matches!(store.update_profile(&first, &renamed).await.unwrap(), ProfileUpdated::Updated(_)));
    let ProfileUpdated::Updated(removed) = store.update_profile(&second, &set(None)).await.unwrap() else {
        panic!("removed")
    };
    assert_eq!(removed.profile.get(&Attribute::Picture), None);
}

async fn profiles_change_and_usernames_stay_unique(store: Arc<dyn Store>) {
    let u = stored_user(&store, "profile", T0).await;
    let other = stored_user(&store, "profile-other", T0).await;
    let name = format!("p{}", &u.id.replace(['@', '+', '.', '-'], "")[..20]);
    let change = ProfileChange {
        name: Some("Zoë".into()),
        standard: BTreeMap::from([
            (Attribute::GivenName, Some("Zoë".into())),
            (Attribute::PreferredUsername, Some(name.clone())),
        ]),
        custom: BTreeMap::from([
            ("plan".to_owned(), Some(CustomValue::String("pro".into()))),
            ("seats".to_owned(), Some(CustomValue::Number(12.into()))),
            ("trial".to_owned(), Some(CustomValue::Boolean(false))),
        ]),
    };
    let ProfileUpdated::Updated(changed) = store.update_profile(&u, &change).await.unwrap() else { panic!("updated") };
    let mut expected = u.clone();
    change.apply_to(&mut expected);
    assert_eq!(*changed, expected);
    assert_eq!(store.user(&u.id).await.unwrap().as_ref(), Some(&expected), "read back as written");

    // Another user cannot take it, in any case; a stale read of the owner cannot change it.
    let take = |username: &str| ProfileChange {
        standard: BTreeMap::from([(Attribute::PreferredUsername, Some(username.to_owned()))]),
        ..ProfileChange::default()
    };
    assert_eq!(store.update_profile(&other, &take(&name.to_uppercase())).await.unwrap(), ProfileUpdated::UsernameTaken);
    assert_eq!(
        store.update_profile(&u, &take("elsewhere1")).await.unwrap(),
        ProfileUpdated::Conflict,
        "stale: it has one now"
    );
    // A change of case keeps the claim; removing values and the username frees it.
    let ProfileUpdated::Updated(cased) = store.update_profile(&expected, &take(&name.to_uppercase())).await.unwrap()
    else {
        panic!("the same name in another case")
    };
    let remove = ProfileChange {
        standard: BTreeMap::from([(Attribute::PreferredUsername, None), (Attribute::GivenName, None)]),
        custom: BTreeMap::from([("plan".to_owned(), None)]),
        ..ProfileChange::default()
    };
    let ProfileUpdated::Updated(removed) = store.update_profile(&cased, &remove).await.unwrap() else {
        panic!("removed")
    };
    assert!(removed.profile.is_empty() && !removed.custom.contains_key("plan"), "{removed:?}");
    let ProfileUpdated::Updated(taken) = store.update_profile(&other, &take(&name)).await.unwrap() else {
        panic!("free")
    };
    // Deleting the holder frees it too.
    assert!(store.delete_user(&taken).await.unwrap());
    assert!(matches!(store.update_profile(&removed, &take(&name)).await.unwrap(), ProfileUpdated::Updated(_)));
    let gone = User { id: "nobody".into(), ..u.clone() };
    assert_eq!(store.update_profile(&gone, &take("nobody1")).await.unwrap(), ProfileUpdated::Conflict);
    assert_eq!(
        store
            .update_profile(&gone, &ProfileChange { name: Some("X".into()), ..ProfileChange::default() })
            .await
            .unwrap(),
        ProfileUpdated::Conflict
    );
    assert_eq!(store.user("nobody").await.unwrap(), None);
}

async fn twenty_users_racing_for_one_username_give_one_holder(store: Arc<dyn Store>) {
    let mut users = Vec::new();
    for i in 0..20 {
        users.push(stored_user(&store, &format!("name-race{i}"), T0).await);
    }
    let name = format!("r{}", &users[0].id.replace(['@', '+', '.', '-'], "")[..20]);
    let mut tasks = tokio::task::JoinSet::new();
    for u in users.clone() {
        let (store, name) = (store.clone(), name.clone());
        tasks.spawn(async move {
            let change = ProfileChange {
                standard: BTreeMap::from([(Attribute::PreferredUsername, Some(name))]),
                ..ProfileChange::default()
            };
            store.update_profile(&u, &change).await.unwrap()
        });
    }
    let answers = tasks.join_all().await;
    assert_eq!(answers.iter().filter(|a| matches!(a, ProfileUpdated::Updated(_))).count(), 1, "{answers:?}");
    assert!(answers.iter().all(|a| matches!(a, ProfileUpdated::Updated(_) | ProfileUpdated::UsernameTaken)));
    let mut holders = 0;
    for u in &users {
        holders += usize::from(
            store.user(&u.id).await.unwrap().expect("the user").profile.contains_key(&Attribute::PreferredUsername),
        );
    }
    assert_eq!(holders, 1);
}

async fn activity_pages_newest_first_and_expires(store: Arc<dyn Store>) {
    let user_id = format!("act-{}", unique_email("act"));
    for i in 0..7 {
        let entry = Activity {
            id: format!("e{i}"),
            at: T0 + i,
            event: format!("event_{i}"),
            method: (i == 3).then(|| "google+authenticator".to_owned()),
            source_ip: Some("203.0.113.9".into()),
            user_agent: (i % 2 == 0).then(|| "curl/8".to_owned()),
            actor: (i == 4).then(|| "admin-id".to_owned()),
        };
        let expires_at = if i == 0 { T0 + 50 } else { T0 + 1_000 };
        store.record_activity(&user_id, &entry, expires_at).await.unwrap();
    }
    let first = store.activity(&user_id, T0 + 10, 3, None).await.unwrap();
    let events = |p: &stepauth::model::Page<Activity>| p.items.iter().map(|a| a.event.clone()).collect::<Vec<_>>();
    assert_eq!(events(&first), ["event_6", "event_5", "event_4"]);
    assert_eq!(first.items[0].user_agent.as_deref(), Some("curl/8"));
    assert_eq!(first.items[2].actor.as_deref(), Some("admin-id"), "an admin's id is kept");
    let second = store.activity(&user_id, T0 + 10, 3, first.next.as_deref()).await.unwrap();
    assert_eq!(events(&second), ["event_3", "event_2", "event_1"]);
    let methods: Vec<Option<&str>> = second.items.iter().map(|e| e.method.as_deref()).collect();
    assert_eq!(methods, [Some("google+authenticator"), None, None]);
    let last = store.activity(&user_id, T0 + 10, 3, second.next.as_deref()).await.unwrap();
    assert_eq!((events(&last), last.next), (vec!["event_0".to_owned()], None));
    let later = store.activity(&user_id, T0 + 60, 10, None).await.unwrap();
    assert_eq!(later.items.len(), 6, "expired entries are not read, whatever TTL did");
    assert_eq!(store.activity("nobody", T0, 10, None).await.unwrap().items, []);
    store.delete_activity(&user_id).await.unwrap();
    assert_eq!(store.activity(&user_id, T0, 10, None).await.unwrap().items, [], "the whole log goes");
}

async fn users_page_newest_first(store: Arc<dyn Store>) {
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(stored_user(&store, "list", T0 + i).await.id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.users(2, cursor.as_deref()).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|u| u.id));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    let ours: Vec<&String> = seen.iter().filter(|id| created.contains(id)).collect();
    let newest_first: Vec<&String> = created.iter().rev().collect();
    assert_eq!(ours, newest_first);
}

async fn totp_enrols_once_and_steps_work_once(store: Arc<dyn Store>) {
    let u = stored_user(&store, "totp", T0).await;
    assert!(!store.accept_totp_step(&u.id, 10).await.unwrap(), "no TOTP yet");
    assert!(store.set_totp_pending(&u.id, "SECRETONE").await.unwrap());
    assert!(store.set_totp_pending(&u.id, "SECRETTWO").await.unwrap(), "a pending secret is replaced");
    assert!(!store.enable_totp(&u.id, "SECRETONE", 10, &["r1".into()]).await.unwrap(), "only the latest pending");
    let codes: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
    assert!(store.enable_totp(&u.id, "SECRETTWO", 10, &codes).await.unwrap());
    let on = store.user(&u.id).await.unwrap().expect("the user");
    assert!(on.mfa_enabled && on.totp_pending.is_none());
    assert_eq!((on.totp_secret.as_deref(), on.totp_last_step, on.token_version), (Some("SECRETTWO"), Some(10), 1));
    assert!(!store.set_totp_pending(&u.id, "SECRETTHREE").await.unwrap(), "an active secret is never replaced");
    assert!(!store.enable_totp(&u.id, "SECRETTWO", 11, &codes).await.unwrap());

    assert!(!store.accept_totp_step(&u.id, 10).await.unwrap(), "the confirming step is used");
    assert!(!store.accept_totp_step(&u.id, 9).await.unwrap(), "older steps too");
    assert!(store.accept_totp_step(&u.id, 11).await.unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (store, id) = (store.clone(), u.id.clone());
        tasks.spawn(async move { store.accept_totp_step(&id, 12).await.unwrap() });
    }
    assert_eq!(tasks.join_all().await.iter().filter(|ok| **ok).count(), 1, "one of fifty racers");

    assert!(store.use_recovery_code(&u.id, "r3").await.unwrap());
    assert!(!store.use_recovery_code(&u.id, "r3").await.unwrap(), "once");
    assert!(!store.use_recovery_code(&u.id, "nope").await.unwrap());
    assert_eq!(store.user(&u.id).await.unwrap().expect("the user").recovery_codes.len(), 9);

    assert!(store.disable_totp(&u.id).await.unwrap());
    let off = store.user(&u.id).await.unwrap().expect("the user");
    assert!(
        !off.mfa_enabled && off.totp_secret.is_none() && off.recovery_codes.is_empty() && off.totp_last_step.is_none()
    );
    assert!(!store.use_recovery_code(&u.id, "r4").await.unwrap());
    assert!(!store.accept_totp_step(&u.id, 13).await.unwrap());
}

async fn mfa_grants_allow_bounded_attempts_and_one_use(store: Arc<dyn Store>) {
    let u = stored_user(&store, "mfa-grant", T0).await;
    let mfa = Grant {
        kind: GrantKind::Mfa,
        user_id: Some(u.id.clone()),
        user_version: Some(7),
        first_factor: Some(Method::Google),
        ..grant("m1", &u.email, T0 + 300)
    };
    store.put_grant(&mfa).await.unwrap();
    assert_eq!(store.attempt_grant("m1", GrantKind::Signup, 5, T0).await.unwrap(), None, "kinds do not mix");
    for _ in 0..5 {
        assert_eq!(
            store.attempt_grant("m1", GrantKind::Mfa, 5, T0).await.unwrap().map(|g| (
                g.user_id,
                g.user_version,
                g.first_factor
            )),
            Some((Some(u.id.clone()), Some(7), Some(Method::Google)))
        );
    }
    assert_eq!(store.attempt_grant("m1", GrantKind::Mfa, 5, T0).await.unwrap(), None, "attempts are bounded");
    assert!(store.take_grant("m1").await.unwrap());
    assert!(!store.take_grant("m1").await.unwrap(), "once");
    store.put_grant(&Grant { token_hash: "m2".into(), ..mfa }).await.unwrap();
    assert_eq!(store.attempt_grant("m2", GrantKind::Mfa, 5, T0 + 300).await.unwrap(), None, "expired");
}

fn identity(subject: &str, email: &Email) -> Identity {
    Identity {
        issuer: "https://issuer.test".into(),
        subject: subject.into(),
        email: email.as_str().into(),
        linked_at: T0,
    }
}

async fn identities_link_once_and_find_their_user(store: Arc<dyn Store>) {
    let e = email("google");
    let google = identity(&format!("sub-{}", e.as_str()), &e);
    let u = User { password_hash: String::new(), identities: vec![google.clone()], ..user(&format!("g-{e}"), &e) };
    assert_eq!(store.create_user_with_identity(&u, &google).await.unwrap(), Created::Created);
    let found = store.user_by_identity(&google.issuer, &google.subject).await.unwrap().expect("linked");
    assert_eq!((found.id.as_str(), found.identities.clone()), (u.id.as_str(), vec![google.clone()]));
    let again = User { id: format!("h-{e}"), ..u.clone() };
    assert_eq!(store.create_user_with_identity(&again, &google).await.unwrap(), Created::IdentityTaken);
    let other = identity("another-subject", &e);
    assert_eq!(
        store.create_user_with_identity(&again, &other).await.unwrap(),
        Created::EmailTaken,
        "the email is claimed"
    );
    assert_eq!(store.user_by_identity(&other.issuer, &other.subject).await.unwrap(), None, "nothing half-done");

    let e2 = email("linked");
    let existing = stored_user(&store, "linked", T0).await;
    let second = identity(&format!("sub-{}", e2.as_str()), &e2);
    assert!(store.link_identity(&existing.id, &second).await.unwrap());
    assert!(!store.link_identity(&existing.id, &second).await.unwrap(), "once");
    assert!(!store.link_identity(&u.id, &second).await.unwrap(), "to one account only");
    let linked = store.user(&existing.id).await.unwrap().expect("the user");
    assert_eq!(linked.identities, vec![second.clone()]);
    assert_eq!(store.user_by_identity(&second.issuer, &second.subject).await.unwrap().map(|u| u.id), Some(existing.id));
    let nobody = identity("nobody", &e2);
    assert!(!store.link_identity("no-such-user", &nobody).await.unwrap());
    assert_eq!(store.user_by_identity(&nobody.issuer, &nobody.subject).await.unwrap(), None, "nothing half-done");
}

async fn identities_unlink_once_and_only_from_an_account_with_a_password(store: Arc<dyn Store>) {
    let owner = stored_user(&store, "unlink", T0).await;
    let e = owner.email.clone();
    let (first, second) = (identity(&format!("one-{}", e.as_str()), &e), identity(&format!("two-{}", e.as_str()), &e));
    assert!(store.link_identity(&owner.id, &first).await.unwrap());
    assert!(store.link_identity(&owner.id, &second).await.unwrap());
    assert!(!store.unlink_identity(&owner.id, &second, 0).await.unwrap(), "the position must hold that identity");
    assert!(!store.unlink_identity("no-such-user", &second, 1).await.unwrap(), "only from its own account");
    assert!(store.unlink_identity(&owner.id, &first, 0).await.unwrap());
    assert!(!store.unlink_identity(&owner.id, &first, 0).await.unwrap(), "once");
    let left = store.user(&owner.id).await.unwrap().expect("the user");
    assert_eq!(left.identities, vec![second.clone()]);
    assert_eq!(store.user_by_identity(&first.issuer, &first.subject).await.unwrap(), None, "the link is gone");
    assert_eq!(store.user_by_identity(&second.issuer, &second.subject).await.unwrap().map(|u| u.id), Some(owner.id));

    let g = email("unlink-google");
    let google = identity(&format!("sub-{}", g.as_str()), &g);
    let only_google =
        User { password_hash: String::new(), identities: vec![google.clone()], ..user(&format!("g-{g}"), &g) };
    assert_eq!(store.create_user_with_identity(&only_google, &google).await.unwrap(), Created::Created);
    assert!(
        !store.unlink_identity(&only_google.id, &google, 0).await.unwrap(),
        "not from an account without a password"
    );
    let kept = store.user(&only_google.id).await.unwrap().expect("the user");
    assert_eq!(kept.identities, vec![google.clone()], "nothing half-done");
    assert!(store.user_by_identity(&google.issuer, &google.subject).await.unwrap().is_some(), "nothing half-done");
}

async fn sign_in_flows_are_taken_once_before_they_expire(store: Arc<dyn Store>) {
    let tag = unique_email("flow");
    let state = |hash: &str| LoginState {
        state_hash: format!("{hash}-{tag}"),
        nonce: "n".into(),
        verifier: "v".into(),
        browser_hash: "b".into(),
        expires_at: T0 + 600,
    };
    store.put_login_state(&state("a")).await.unwrap();
    assert_eq!(store.take_login_state(&state("a").state_hash, T0).await.unwrap(), Some(state("a")));
    assert_eq!(store.take_login_state(&state("a").state_hash, T0).await.unwrap(), None, "once");
    store.put_login_state(&state("b")).await.unwrap();
    assert_eq!(store.take_login_state(&state("b").state_hash, T0 + 600).await.unwrap(), None, "expired");

    store.put_login_state(&state("c")).await.unwrap();
    let takes = (0..50).map(|_| {
        let store = store.clone();
        let hash = state("c").state_hash;
        tokio::spawn(async move { store.take_login_state(&hash, T0).await.unwrap().is_some() })
    });
    let taken = futures_count(takes).await;
    assert_eq!(taken, 1, "fifty concurrent callbacks with one state: one goes on");

    let nonce = format!("nonce-{tag}");
    assert!(store.use_nonce(&nonce, T0 + 60, T0).await.unwrap());
    assert!(!store.use_nonce(&nonce, T0 + 60, T0 + 30).await.unwrap(), "a nonce works once");
    assert!(store.use_nonce(&nonce, T0 + 120, T0 + 60).await.unwrap(), "its record ends with the token");
}

async fn futures_count(handles: impl Iterator<Item = tokio::task::JoinHandle<bool>>) -> usize {
    let mut count = 0;
    for handle in handles.collect::<Vec<_>>() {
        count += usize::from(handle.await.expect("the task"));
    }
    count
}

async fn a_discarded_code_no_longer_works(store: Arc<dyn Store>) {
    let limits = CodeLimits::default();
    let e = email("discard");
    store.issue_code(&e, Purpose::Signup, code("h", Some("Name")), T0, &limits).await.unwrap();
    store.discard_code(&e, Purpose::Signup).await.unwrap();
    assert_eq!(store.redeem_code(&e, Purpose::Signup, "h", T0 + 1, &limits).await.unwrap(), Redeemed::Rejected);
    assert_eq!(
        store.issue_code(&e, Purpose::Signup, code("i", None), T0 + 2, &limits).await.unwrap(),
        Issued::Throttled { retry_after: 58 },
        "the cooldown and the window's counts stay"
    );
    store.discard_code(&email("never-sent"), Purpose::Signup).await.unwrap();
}

/// A code whose mail did not leave is withdrawn: the address is as before it (the earlier
/// code live again, its send and cooldown not spent); with nothing before, as if never sent;
/// once guessed at, the code only dies.
async fn a_withdrawn_code_spends_nothing(store: Arc<dyn Store>) {
    let limits = CodeLimits::default();
    let e = email("withdraw");
    let issue = |hash: &'static str, at: i64| {
        let (store, e, limits) = (store.clone(), e.clone(), limits.clone());
        async move {
            match store.issue_code(&e, Purpose::Login, code(hash, None), at, &limits).await.unwrap() {
                Issued::Issued(sent) => sent,
                other => panic!("{hash} at {at}: {other:?}"),
            }
        }
    };
    issue("h1", T0).await;
    let second = issue("h2", T0 + 60).await;
    store.withdraw_code(&e, Purpose::Login, &second).await.unwrap();
    let third = issue("h3", T0 + 61).await;
    assert_eq!(third.issued.sends, 2, "the withdrawn send was not counted, nor its cooldown");
    assert_eq!(store.redeem_code(&e, Purpose::Login, "h2", T0 + 62, &limits).await.unwrap(), Redeemed::Rejected);
    assert!(matches!(
        store.redeem_code(&e, Purpose::Login, "h3", T0 + 62, &limits).await.unwrap(),
        Redeemed::Redeemed { .. }
    ));

    let earlier = email("withdraw-earlier");
    store.issue_code(&earlier, Purpose::Login, code("old", None), T0, &limits).await.unwrap();
    let Issued::Issued(new) =
        store.issue_code(&earlier, Purpose::Login, code("new", None), T0 + 60, &limits).await.unwrap()
    else {
        panic!("a resend after the cooldown")
    };
    store.withdraw_code(&earlier, Purpose::Login, &new).await.unwrap();
    assert!(
        matches!(
            store.redeem_code(&earlier, Purpose::Login, "old", T0 + 61, &limits).await.unwrap(),
            Redeemed::Redeemed { .. }
        ),
        "the code mailed before works again"
    );

    let fresh = email("withdraw-fresh");
    let Issued::Issued(sent) = store.issue_code(&fresh, Purpose::Signup, code("f", None), T0, &limits).await.unwrap()
    else {
        panic!("a first send")
    };
    store.withdraw_code(&fresh, Purpose::Signup, &sent).await.unwrap();
    assert!(matches!(
        store.issue_code(&fresh, Purpose::Signup, code("g", None), T0, &limits).await.unwrap(),
        Issued::Issued(_)
    ));

    let guessed = email("withdraw-guessed");
    let Issued::Issued(sent) = store.issue_code(&guessed, Purpose::Login, code("x", None), T0, &limits).await.unwrap()
    else {
        panic!("a first send")
    };
    assert_eq!(store.redeem_code(&guessed, Purpose::Login, "wrong", T0, &limits).await.unwrap(), Redeemed::Rejected);
    store.withdraw_code(&guessed, Purpose::Login, &sent).await.unwrap();
    assert_eq!(
        store.redeem_code(&guessed, Purpose::Login, "x", T0 + 1, &limits).await.unwrap(),
        Redeemed::Rejected,
        "it only dies"
    );
    assert!(
        matches!(
            store.issue_code(&guessed, Purpose::Login, code("y", None), T0 + 2, &limits).await.unwrap(),
            Issued::Throttled { .. }
        ),
        "and what was counted stays: the cooldown of its send"
    );
}

fn mail(id: &str, user: Option<&str>, to: &str, at: i64, nanos: u64) -> MailRecord {
    MailRecord {
        message_id: id.to_owned(),
        kind: "login_code".to_owned(),
        to: to.to_owned(),
        user_id: user.map(str::to_owned),
        sent_at: at,
        sent_nanos: nanos,
        status: MailStatus::Sent,
        status_at: at,
        detail: None,
    }
}

async fn mail_logs_merge_the_account_and_its_address_and_expire(store: Arc<dyn Store>) {
    let (user, to) = (format!("mail-user-{}", unique_email("m")), unique_email("mail-to"));
    let other = unique_email("mail-other");
    let ids: Vec<String> =
        (0..5).map(|i| format!("{}-{i}", unique_email("msg").replace(['@', '+', '.'], ""))).collect();
    store.record_mail(&mail(&ids[0], None, &to, T0, 5), T0 + 100).await.unwrap();
    store.record_mail(&mail(&ids[1], Some(&user), &to, T0, 9), T0 + 100).await.unwrap();
    store.record_mail(&mail(&ids[2], Some(&user), &to, T0 + 1, 1), T0 + 100).await.unwrap();
    store.record_mail(&mail(&ids[3], None, &other, T0 + 2, 1), T0 + 100).await.unwrap();
    store.record_mail(&mail(&ids[4], Some(&user), &to, T0 + 3, 1), T0 + 10).await.unwrap();

    let first = store.mails(&user, &to, T0 + 5, 2, None).await.unwrap();
    let ids_of = |page: &Page<MailRecord>| page.items.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids_of(&first), [ids[4].clone(), ids[2].clone()], "newest first, the user's and the address's");
    let rest = store.mails(&user, &to, T0 + 5, 2, first.next.as_deref()).await.unwrap();
    assert_eq!(ids_of(&rest), [ids[1].clone(), ids[0].clone()], "one second's mails by their nanoseconds");
    assert!(rest.next.is_none());
    assert_eq!(store.mails(&user, &to, T0 + 11, 10, None).await.unwrap().items.len(), 3, "an expired record is gone");
    assert!(store.mails(&user, &to, T0, 2, Some("not-a-cursor")).await.is_err());

    let event = |status: MailStatus, at: i64| DeliveryEvent {
        message_id: ids[1].clone(),
        status,
        at,
        recipients: vec![to.clone()],
        stops_mail: false,
        detail: None,
    };
    let delivered = store.record_delivery(&event(MailStatus::Delivered, T0 + 1), T0 + 1).await.unwrap().expect("known");
    assert_eq!((delivered.status, delivered.status_at), (MailStatus::Delivered, T0 + 1));
    let late =
        store.record_delivery(&event(MailStatus::DeliveryDelayed, T0 + 2), T0 + 2).await.unwrap().expect("known");
    assert_eq!(late.status, MailStatus::Delivered, "a late event does not move it back");
    let bounced = DeliveryEvent { detail: Some("Permanent/General".into()), ..event(MailStatus::Bounced, T0 + 3) };
    let now = store.record_delivery(&bounced, T0 + 3).await.unwrap().expect("known");
    assert_eq!((now.status, now.detail.as_deref()), (MailStatus::Bounced, Some("Permanent/General")));
    let unknown = DeliveryEvent { message_id: "nobody-sent-this".into(), ..bounced.clone() };
    assert_eq!(store.record_delivery(&unknown, T0 + 3).await.unwrap(), None);
    assert_eq!(store.record_delivery(&bounced, T0 + 101).await.unwrap(), None, "past its 90 days");

    assert!(!store.is_suppressed(&to).await.unwrap());
    store.suppress(&to, "bounced", T0).await.unwrap();
    assert!(store.is_suppressed(&to).await.unwrap() && !store.is_suppressed(&other).await.unwrap());

    store.delete_mails(&user).await.unwrap();
    let left = store.mails(&user, &to, T0 + 5, 10, None).await.unwrap();
    assert_eq!(ids_of(&left), [ids[0].clone()], "the mail to the address before the account stays");
}

macro_rules! contract {
    ($($group:ident: [$($name:ident),* $(,)?])*) => {
        $(
            mod $group {
                mod memory {
                    $(
                        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $name() {
                            super::super::$name(std::sync::Arc::new(stepauth::store::memory::MemoryStore::new())).await;
                        }
                    )*
                }
                mod dynamodb {
                    $(
                        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $name() {
                            super::super::$name(std::sync::Arc::new(stepauth_tests::moto_store().await)).await;
                        }
                    )*
                }
            }
        )*
    };
}

// One group per capability trait of `stepauth::store`.
contract! {
    codes: [
        codes_work_once_and_only_for_their_purpose,
        codes_expire_after_ten_minutes,
        five_wrong_guesses_kill_a_code,
        sends_have_a_cooldown_and_a_cap,
        resends_keep_the_context_and_the_failure_budget,
        fifty_concurrent_redemptions_give_one_success,
        a_withdrawn_code_spends_nothing,
    ]
    grants: [grants_expire_and_keep_their_kind, mfa_grants_allow_bounded_attempts_and_one_use]
    users: [
        users_are_created_once_per_email,
        fifty_concurrent_creations_give_one_user,
        logins_and_token_versions_are_recorded,
        passwords_change_only_from_the_current_one,
        rehashes_replace_only_the_hash_that_was_read,
        moved_in_users_claim_their_email_once_and_may_start_locked,
        resets_use_their_grant_once,
        fifty_concurrent_resets_give_one_change,
        profiles_change_and_usernames_stay_unique,
        pictures_change_only_from_the_one_read,
        twenty_users_racing_for_one_username_give_one_holder,
        emails_change_only_from_the_state_read_and_to_a_free_address,
        fifty_concurrent_changes_to_one_address_give_one_owner,
        users_delete_with_their_claim_and_links_only_from_the_state_read,
        deactivation_locks_the_address_until_reactivation,
        users_are_found_by_the_start_of_their_address,
        users_page_newest_first,
    ]
    sessions: [
        sessions_rotate_only_from_the_current_token,
        user_sessions_page_newest_first_and_only_live_ones,
        a_users_sessions_are_deleted_whatever_their_version,
    ]
    lockout: [
        attempts_take_slots_before_they_are_checked,
        fifty_concurrent_guesses_get_exactly_the_limit,
        failures_below_the_lock_decay,
        a_released_attempt_takes_back_only_its_own_slot,
    ]
    activity: [activity_pages_newest_first_and_expires]
    mails: [mail_logs_merge_the_account_and_its_address_and_expire]
    authenticator: [totp_enrols_once_and_steps_work_once]
    identities: [
        identities_link_once_and_find_their_user,
        identities_unlink_once_and_only_from_an_account_with_a_password,
        sign_in_flows_are_taken_once_before_they_expire,
        a_discarded_code_no_longer_works,
    ]
}

/// The DynamoDB store through the fault proxy (docs/SECURITY.md, rule 77): for each fault
/// kind (throttled, a 500, a cut connection, a hang), each shape of call the store makes (a
/// read, a conditional write, a transaction, a query fanned out over the users index) is
/// `Unavailable`, which the API answers 503, and never another error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_store_reports_every_fault_as_unavailable() {
    use stepauth::model::SourceCounter;
    use stepauth::store::Unavailable;
    use stepauth_tests::fault_proxy::{DYNAMODB, Fault, FaultProxy, kinds};

    for (name, kind) in kinds(DYNAMODB) {
        let proxy = FaultProxy::start(stepauth_tests::moto_endpoint(), Fault::every(DYNAMODB, kind)).await;
        let client = aws_sdk_dynamodb::Client::new(&stepauth_local::moto::sdk_config(&proxy.endpoint).await);
        let store: Arc<dyn Store> =
            Arc::new(stepauth::store::dynamo::DynamoStore::new(client, stepauth_tests::moto_table().await));
        let (e, limits) = (email("store-fault"), CodeLimits::default());
        let failures = [
            ("user_by_email", store.user_by_email(&e).await.err()),
            ("create_user", store.create_user(&user("fault", &e), "g", T0).await.err()),
            ("issue_code", store.issue_code(&e, Purpose::Login, code("h", None), T0, &limits).await.err()),
            ("redeem_code", store.redeem_code(&e, Purpose::Login, "h", T0, &limits).await.err()),
            ("begin_attempt", store.begin_attempt(&e, 3, T0).await.err()),
            ("record_failure", store.record_failure(&e, "a", 3, DAY, T0).await.err()),
            ("rotate_session", store.rotate_session("s", "old", "new", &used(T0)).await.err()),
            ("users", store.users(10, None).await.err()),
            ("take_source_slot", store.take_source_slot("198.51.100.7", SourceCounter::Mails, 5, T0).await.err()),
        ];
        for (call, error) in failures {
            let error = error.unwrap_or_else(|| panic!("{name}: {call} succeeded through the fault"));
            assert!(error.downcast_ref::<Unavailable>().is_some(), "{name}: {call}: {error:#}");
        }
        assert!(proxy.injected() >= 9, "{name}: the fault was met");
    }
}
