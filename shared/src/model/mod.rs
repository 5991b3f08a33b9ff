//! The entities stepauth keeps and the pure rules over them: what a user, a code, a grant,
//! a session and a lockout counter are, and how each may change. No I/O, no HTTP, no storage
//! format: the stores keep these, the flows decide with them.

pub mod activity;
pub mod code;
pub mod custom;
pub mod delivery;
pub mod email;
pub mod grant;
pub mod identity;
pub mod lockout;
pub mod profile;
pub mod session;
pub mod source;
pub mod user;

pub use activity::{Activity, Method, Page, SecondFactor};
pub use code::{Code, CodeState, Issued, NewCode, Pepper, Purpose, Redeemed, Sent};
pub use custom::{Custom, CustomValue};
pub use delivery::{DeliveryEvent, MailRecord, MailStatus};
pub use email::Email;
pub use grant::{Grant, GrantKind};
pub use identity::{Identity, LoginState};
pub use lockout::{Attempt, Lockout, MOVED_IN_LOCKED};
pub use profile::{Attribute, Profile, ProfileChange};
pub use session::{Session, SessionUse};
pub use source::{Origin, SOURCE_WINDOW_SECONDS, SourceCounter, SourceSlot};
pub use user::{PASSWORD_HISTORY, Role, User};
