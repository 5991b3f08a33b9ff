//! Google Authenticator: TOTP (RFC 6238) with the parameters every authenticator app accepts
//! (SHA-1, 6 digits, 30-second steps; docs/SECURITY.md, "Second factor"), the otpauth URI and its QR
//! code as a PNG data URL, and recovery codes.

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::clock::UnixTime;
use crate::invalid::Invalid;
use crate::random::{self, Random};

/// Seconds per step.
pub const STEP: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Steps accepted either side of the current one.
pub const SKEW: u16 = 1;
/// Recovery codes handed out at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// A fresh 160-bit secret (RFC 4226 §4), base32 as apps and the store take it.
pub fn new_secret(random: &dyn Random) -> String {
    Secret::from(random::bytes::<20>(random)).to_base32()
}

/// The shortest secret accepted: 80 bits, what Google Authenticator-era libraries (pyotp's
/// old default of 16 base32 characters) made. Secrets made here are 160 bits; shorter ones
/// come only from the Django import, so that its users' app entries keep working.
pub const MIN_SECRET_BYTES: usize = 10;

/// The TOTP of a base32 secret, labelled with `issuer` and `account` for the app.
pub fn totp(secret: &str, issuer: &str, account: &str) -> anyhow::Result<Totp> {
    let secret = Secret::try_from_base32(secret).map_err(|e| anyhow::anyhow!("stored TOTP secret: {e}"))?;
    let bytes = secret.as_ref().len();
    let builder = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW)
        .with_step_duration(STEP)
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account);
    if bytes < MIN_SECRET_BYTES {
        anyhow::bail!("a TOTP secret of {bytes} bytes is too short");
    }
    // totp-rs wants 128 bits; a moved-in secret of 80 to 120 is built without that check
    // (the issuer and account name are the same as for a 160-bit one, which `build` checks).
    if bytes < 16 {
        Ok(builder.build_noncompliant())
    } else {
        builder.build().map_err(|e| anyhow::anyhow!("building the TOTP: {e}"))
    }
}

/// A base32 secret moved in from elsewhere, normalised (upper case, no spaces or padding)
/// and checked: `None` if it is not base32 or under [`MIN_SECRET_BYTES`].
pub fn parse_moved_in_secret(text: &str) -> Option<String> {
    let secret: String = text.chars().filter(|c| !c.is_whitespace() && *c != '=').collect::<String>().to_uppercase();
    let bytes = Secret::try_from_base32(&secret).ok()?;
    (bytes.as_ref().len() >= MIN_SECRET_BYTES).then_some(secret)
}

/// The step a code belongs to, if it is right for the current step or one either side.
pub fn matching_step(totp: &Totp, code: &str, now: UnixTime) -> Option<u64> {
    totp.check(code, u64::try_from(now).ok()?)
}

/// The code of the step holding `at` (for tests and the documented helper).
pub fn code_at(totp: &Totp, at: UnixTime) -> String {
    totp.generate(u64::try_from(at).unwrap_or(0)).to_string()
}

/// A code as typed: six digits, spaces ignored ("123 456" is how apps show them).
pub fn parse_code(text: &str) -> Result<String, Invalid> {
    let code: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() == usize::from(DIGITS) && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err("must be the 6-digit code from your authenticator app".into())
    }
}

/// The otpauth URI's QR code, as a `data:image/png;base64,…` URL: 8 pixels a module, a
/// 4-module quiet zone, one bit a pixel (black on white), fast deflate. One bit a pixel makes
/// the image data an eighth of 8-bit grey's, so encoding it costs a fraction as much.
pub fn qr_png_data_url(uri: &str) -> anyhow::Result<String> {
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::new(uri.as_bytes()).context("encoding the QR code")?;
    let modules = code.width();
    let colors = code.to_colors();
    let size = (modules + 2 * QUIET) * SCALE;
    // SCALE is 8, so every module is exactly one byte of a row: 0x00 dark, 0xFF light.
    const _: () = assert!(SCALE == 8);
    let row_bytes = size / 8;
    let mut rows = vec![0xFFu8; row_bytes * size];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (column, y0) = (i % modules + QUIET, (i / modules + QUIET) * SCALE);
            for y in y0..y0 + SCALE {
                rows[y * row_bytes + column] = 0x00;
            }
        }
    }
    let mut png = Vec::new();
    let side = u32::try_from(size).context("QR size")?;
    let mut encoder = png::Encoder::new(&mut png, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::Fast);
    encoder.write_header().context("PNG header")?.write_image_data(&rows).context("PNG data")?;
    Ok(format!("data:image/png;base64,{}", STANDARD.encode(png)))
}

/// Ten fresh recovery codes, `xxxxx-xxxxx` in a lower-case alphabet without look-alikes
/// (50 bits each).
pub fn new_recovery_codes(random: &dyn Random) -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String =
                (0..10).map(|_| char::from(ALPHABET[random::below(random, ALPHABET.len() as u32) as usize])).collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A recovery code as typed: case, spaces and dashes ignored.
pub fn parse_recovery_code(text: &str) -> Result<String, Invalid> {
    let code: String =
        text.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_lowercase()).collect();
    if code.len() == 10 && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(format!("{}-{}", &code[..5], &code[5..]))
    } else {
        Err("must be one of your recovery codes".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    /// RFC 6238 Appendix B, SHA-1 rows: the reference secret and its 8-digit codes.
    const RFC_SECRET: &[u8] = b"12345678901234567890";
    const RFC_VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc_6238_appendix_b_vectors_pass() {
        let eight = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_step_duration(STEP)
            .with_secret(RFC_SECRET)
            .with_account_name("rfc")
            .build()
            .expect("totp");
        let secret = Secret::from(RFC_SECRET).to_base32();
        let six = totp(&secret, "stepauth", "rfc@example.com").expect("totp");
        for (time, code) in RFC_VECTORS {
            assert_eq!(eight.generate(time).to_string(), code, "t = {time}");
            // Six digits are the same HOTP value modulo 10^6.
            assert_eq!(code_at(&six, time as i64), &code[2..], "t = {time}");
        }
    }

    #[test]
    fn one_step_of_skew_either_side_and_no_more() {
        let t = totp(&new_secret(&SeededRandom::new(1)), "stepauth", "a@example.com").expect("totp");
        let now: i64 = 1_800_000_015;
        let step = (now as u64) / STEP;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_at(&t, now + offset * STEP as i64);
            let expected = accepted.then_some((step as i64 + offset) as u64);
            assert_eq!(matching_step(&t, &code, now), expected, "offset {offset}");
        }
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let secret = new_secret(&SeededRandom::new(2));
        assert_eq!(Secret::try_from_base32(&secret).expect("base32").len(), 20, "160 bits");
        let uri = totp(&secret, "stepauth", "ann@example.com").expect("totp").to_url().expect("uri");
        assert!(uri.starts_with("otpauth://totp/stepauth:ann%40example.com?"), "{uri}");
        for part in [format!("secret={secret}"), "issuer=stepauth".to_owned()] {
            assert!(uri.contains(&part), "{uri} lacks {part}");
        }
    }

    #[test]
    fn the_qr_code_is_a_png_data_url() {
        let url = qr_png_data_url("otpauth://totp/stepauth:a?secret=JBSWY3DPEHPK3PXP&issuer=stepauth").expect("qr");
        let png = STANDARD.decode(url.strip_prefix("data:image/png;base64,").expect("prefix")).expect("base64");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn recovery_codes_are_distinct_and_parse_back() {
        let codes = new_recovery_codes(&SeededRandom::new(3));
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        for code in &codes {
            assert_eq!(parse_recovery_code(&code.to_uppercase().replace('-', " ")).as_ref(), Ok(code));
        }
        assert!(parse_recovery_code("short").is_err());
    }

    #[test]
    fn codes_parse_with_spaces_only() {
        assert_eq!(parse_code("123 456"), Ok("123456".to_owned()));
        assert!(parse_code("12345").is_err() && parse_code("abcdef").is_err());
    }
}
