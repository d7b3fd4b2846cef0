//! Secrets at rest (Stripe keys, webhook secrets) are sealed with XChaCha20-Poly1305 under the
//! instance's secret key: `REFLOOP_SECRET_KEY` (32 bytes, base64), or a key generated on first
//! start and kept in a file beside the database (`REFLOOP_SECRET_KEY_FILE`, mode 0600).

use std::path::Path;

use base64::{engine::general_purpose::STANDARD, Engine};
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng},
    XChaCha20Poly1305, XNonce,
};

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    /// A key derived from the secret key, never the key itself: for tokens other parts of this
    /// instance share (`derive`) and the fingerprint kept in the database.
    derived: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key hidden>)")
    }
}

impl Sealer {
    /// From a base64 key, or the key file (created with a new random key if missing).
    pub fn load(key_b64: Option<&str>, key_file: &Path) -> Result<Sealer, String> {
        if let Some(sealer) = Sealer::load_existing(key_b64, key_file)? {
            return Ok(sealer);
        }
        let (sealer, key) = Sealer::generate();
        match write_key_file(key_file, &key) {
            Ok(()) => {
                tracing::info!(file = %key_file.display(), "generated the secret key for secrets at rest");
                Ok(sealer)
            }
            // Another process starting at the same moment made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::thread::sleep(std::time::Duration::from_millis(50));
                Sealer::load_existing(None, key_file)?
                    .ok_or_else(|| format!("{} vanished", key_file.display()))
            }
            Err(e) => Err(format!(
                "cannot create {} (REFLOOP_SECRET_KEY_FILE): {e}",
                key_file.display()
            )),
        }
    }

    /// From a base64 key, or the key file if there is one; `None` when neither exists (the
    /// operator's commands must not make up a key a database was never sealed with).
    pub fn load_existing(key_b64: Option<&str>, key_file: &Path) -> Result<Option<Sealer>, String> {
        if let Some(k) = key_b64.filter(|k| !k.is_empty()) {
            return Sealer::from_base64(k)
                .map(Some)
                .map_err(|e| format!("REFLOOP_SECRET_KEY {e}"));
        }
        if !key_file.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(key_file).map_err(|e| {
            format!(
                "cannot read {} (REFLOOP_SECRET_KEY_FILE): {e}",
                key_file.display()
            )
        })?;
        Sealer::from_base64(text.trim())
            .map(Some)
            .map_err(|e| format!("{} (REFLOOP_SECRET_KEY_FILE) {e}", key_file.display()))
    }

    /// From 32 bytes in base64; the error says what is wrong with it.
    pub fn from_base64(key: &str) -> Result<Sealer, String> {
        Ok(Sealer::from_key(&decode_key(key)?))
    }

    /// A new random key, and the key in base64 (to keep in a file or a setting).
    pub fn generate() -> (Sealer, String) {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        (Sealer::from_key(&key), STANDARD.encode(key))
    }

    fn from_key(key: &[u8]) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new_from_slice(key).expect("a 32-byte key"),
            derived: mac(key, b"refloop derived key v1"),
        }
    }

    /// A sealer with a fresh random key, for tests.
    pub fn random() -> Sealer {
        Sealer::from_key(&XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// A token for `purpose`, the same in every process that has this secret key, and telling
    /// nothing about the key (HMAC-SHA256), in hex.
    pub fn derive(&self, purpose: &str) -> String {
        hex(&mac(&self.derived, purpose.as_bytes()))
    }

    /// Names the secret key without revealing it: processes started with another key have
    /// another fingerprint.
    pub fn fingerprint(&self) -> String {
        self.derive("fingerprint")[..16].to_string()
    }

    /// base64(nonce ‖ ciphertext).
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("encryption of a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Result<String, String> {
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| "not base64".to_string())?;
        if bytes.len() < 24 {
            return Err("too short".into());
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| "sealed with another key, or altered".to_string())?;
        String::from_utf8(plain).map_err(|_| "not text".into())
    }
}

fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut m =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(message);
    m.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_key(text: &str) -> Result<Vec<u8>, String> {
    let key = STANDARD.decode(text).map_err(|_| {
        "must be 32 bytes in base64 (e.g. from `openssl rand -base64 32`)".to_string()
    })?;
    if key.len() != 32 {
        return Err(format!(
            "must be 32 bytes in base64; it decodes to {} bytes",
            key.len()
        ));
    }
    Ok(key)
}

/// Writes a key file readable by its owner only; never over an existing file.
pub fn write_key_file(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let a = Sealer::random();
        let sealed = a.seal("rk_test_abc123");
        assert!(!sealed.contains("rk_test"));
        assert_ne!(sealed, a.seal("rk_test_abc123"), "a fresh nonce each time");
        assert_eq!(a.open(&sealed).unwrap(), "rk_test_abc123");
        assert!(Sealer::random().open(&sealed).is_err());
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data/secret.key");
        let first = Sealer::load(None, &file).unwrap();
        let sealed = first.seal("whsec_x");
        let again = Sealer::load(None, &file).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "whsec_x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn derived_tokens_depend_on_the_key_and_the_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret.key");
        let (a, again) = (
            Sealer::load(None, &file).unwrap(),
            Sealer::load(None, &file).unwrap(),
        );
        assert_eq!(a.derive("x"), again.derive("x"));
        assert_eq!(a.fingerprint(), again.fingerprint());
        assert_ne!(a.derive("x"), a.derive("y"));
        assert_ne!(a.derive("x"), Sealer::random().derive("x"));
        assert_eq!(a.derive("x").len(), 64);
    }

    #[test]
    fn a_bad_configured_key_is_refused_with_the_setting_named() {
        let err = Sealer::load(Some("c2hvcnQ="), Path::new("/nonexistent")).unwrap_err();
        assert!(
            err.contains("REFLOOP_SECRET_KEY") && err.contains("5 bytes"),
            "{err}"
        );
    }
}
