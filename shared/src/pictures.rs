//! Uploaded profile pictures (docs/SECURITY.md, "Profiles"): what may be uploaded, where it
//! goes, and how it is shown and forgotten.
//!
//! A person asks for an upload form ([`upload`]): a presigned POST whose policy lets S3
//! take one PNG, JPEG or WebP file of at most [`MAX_BYTES`] at a key of the person's own
//! under `uploads/`, within [`UPLOAD_LIFETIME`]. S3 enforces it; stepauth never sees the
//! bytes. Then the person hands the key back ([`adopt`]): stepauth checks the object is
//! theirs, of an allowed type and size, copies it to `pictures/` and deletes the upload.
//! What is left under `uploads/` (a form used but never handed back) the bucket's
//! lifecycle rule expires after a day. The profile's `picture` then holds
//! [`PICTURE_OBJECT`] and the key, shown as a presigned GET valid for [`VIEW_LIFETIME`]
//! ([`view`]); the object is deleted when the picture is replaced or removed and when the
//! account is deleted ([`forget`]).

use std::time::Duration;

use crate::app::App;
use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::model::User;
use crate::model::profile::PICTURE_OBJECT;
use crate::objects::{Bucket, PostForm};
use crate::random;

/// The largest picture S3 takes (the policy's `content-length-range`): 1 MiB.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The types a picture may have (the policy's `Content-Type`, one per form).
pub const TYPES: [&str; 3] = ["image/png", "image/jpeg", "image/webp"];

/// How long an upload form is good for.
pub const UPLOAD_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// How long a picture's URL is good for: the profile is read again for a new one.
pub const VIEW_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Where uploads go before they are adopted (the template's lifecycle rule expires them).
pub const UPLOADS: &str = "uploads/";

/// Where adopted pictures are kept.
pub const PICTURES: &str = "pictures/";

/// An upload form, and the key to hand back once the file is up.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The presigned POST.
    pub form: PostForm,
    /// The object's key.
    pub key: String,
    /// When the form stops working.
    pub expires_at: UnixTime,
}

fn bucket(app: &App) -> Result<&Bucket, ApiError> {
    app.pictures.as_ref().ok_or(ApiError::PicturesOff)
}

/// An upload form for one picture of `content_type` (one of [`TYPES`]) for `user`, at a key
/// nobody else can guess.
pub async fn upload(app: &App, user: &User, content_type: &str) -> Result<Upload, ApiError> {
    let bucket = bucket(app)?;
    let key = format!("{UPLOADS}{}/{}", user.id, random::token::<16>(&*app.random));
    let now = app.now();
    let form = bucket.post_form(&key, content_type, MAX_BYTES, now, UPLOAD_LIFETIME).await?;
    Ok(Upload { form, key, expires_at: now + UPLOAD_LIFETIME.as_secs() as i64 })
}

/// Takes the upload at `key` as `user`'s picture: it must be one of theirs, there, of an
/// allowed type and at most [`MAX_BYTES`] (S3 enforced both; checked again here). Answers
/// the value the profile's `picture` takes. The upload is gone afterwards.
pub async fn adopt(app: &App, user: &User, key: &str) -> Result<String, ApiError> {
    let bucket = bucket(app)?;
    let own = format!("{UPLOADS}{}/", user.id);
    let name = key.strip_prefix(&own).filter(|name| !name.is_empty() && !name.contains('/'));
    let Some(name) = name else {
        return Err(ApiError::PictureNotFound);
    };
    let Some(object) = bucket.head(key).await? else {
        return Err(ApiError::PictureNotFound);
    };
    let allowed = object.content_type.as_deref().is_some_and(|t| TYPES.contains(&t));
    if !allowed || object.size == 0 || object.size > MAX_BYTES {
        bucket.delete(key).await?;
        return Err(ApiError::PictureNotFound);
    }
    let kept = format!("{PICTURES}{}/{name}", user.id);
    bucket.copy(key, &kept).await?;
    bucket.delete(key).await?;
    Ok(format!("{PICTURE_OBJECT}{kept}"))
}

/// The key of the object a profile's `picture` value names, when it names one.
pub fn object_key(picture: &str) -> Option<&str> {
    picture.strip_prefix(PICTURE_OBJECT)
}

/// A profile's `picture` as it is shown: a URL the person gave as it is; an uploaded object
/// as a presigned GET ([`VIEW_LIFETIME`]), or nothing when it cannot be signed (logged).
pub async fn view(app: &App, picture: &str) -> Option<String> {
    let Some(key) = object_key(picture) else {
        return Some(picture.to_owned());
    };
    let bucket = app.pictures.as_ref()?;
    match bucket.presigned_get(key, VIEW_LIFETIME).await {
        Ok(url) => Some(url),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "presigning a picture's URL failed");
            None
        }
    }
}

/// Deletes the object a `picture` value named (nothing for a URL). A failure is logged, not
/// answered: the profile no longer names the object, which nobody can reach without a new
/// presigned URL.
pub async fn forget(app: &App, picture: Option<&str>) {
    let (Some(key), Some(bucket)) = (picture.and_then(object_key), app.pictures.as_ref()) else {
        return;
    };
    match bucket.delete(key).await {
        Ok(()) => tracing::info!("an old picture is deleted"),
        Err(error) => tracing::error!(error = format!("{error:#}"), "deleting an old picture failed"),
    }
}
