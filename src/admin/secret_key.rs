//! `refloop admin rotate-secret-key`: every secret re-sealed under a new key in one
//! transaction, with the database's fingerprint of the key; the old key kept for the backups
//! made before.

use std::path::PathBuf;

use super::with_suffix;
use crate::{
    config::Config,
    db::{self, sealed, Db},
    notifications::team::TEAM,
    secrets::{write_key_file, Sealer},
    state::check_secret_key,
};

/// What the rotation did.
#[derive(Debug)]
pub struct Rotated {
    pub resealed: usize,
    pub old_fingerprint: String,
    pub new_fingerprint: String,
    /// The new key, when it was generated and the configuration gives the key itself
    /// (`REFLOOP_SECRET_KEY`): the operator sets it on every process.
    pub new_key: Option<String>,
    /// Where the old key was kept, when the key lives in `REFLOOP_SECRET_KEY_FILE`.
    pub old_key_file: Option<PathBuf>,
}

/// Re-seals every secret under `new_key` (base64; generated when `None`). With the key in a
/// file, the file is replaced and the old key kept beside it as `FILE.FINGERPRINT`. Stop every
/// Refloop process first: one still holding the old key can no longer open the secrets.
pub async fn rotate(db: &Db, config: &Config, new_key: Option<&str>) -> Result<Rotated, String> {
    let given = config.secret_key.as_ref().map(|k| k.0.as_str());
    let old = Sealer::load_existing(given, &config.secret_key_file)?.ok_or_else(|| {
        format!(
            "there is no secret key to rotate: neither REFLOOP_SECRET_KEY nor the file {} (REFLOOP_SECRET_KEY_FILE)",
            config.secret_key_file.display()
        )
    })?;
    check_secret_key(db, &old).await?;
    let (new, generated) = match new_key {
        Some(key) => (
            Sealer::from_base64(key).map_err(|e| format!("REFLOOP_NEW_SECRET_KEY {e}"))?,
            None,
        ),
        None => {
            let (sealer, key) = Sealer::generate();
            (sealer, Some(key))
        }
    };
    if new.fingerprint() == old.fingerprint() {
        return Err("the new secret key is the one in use: give another".into());
    }
    let key_file = config.secret_key_file.clone();
    let in_file = given.is_none_or(str::is_empty);
    // The new key is on disk before any secret is sealed with it.
    let staged = with_suffix(&key_file, ".new");
    if in_file {
        let key = generated
            .clone()
            .or(new_key.map(str::to_string))
            .expect("a key was given or generated");
        write_key_file(&staged, &key).map_err(|e| {
            format!(
                "could not write the new key to {}: {e} (if it is left from a rotation that stopped, \
                 the database's fingerprint tells which key it needs: `refloop admin check`)",
                staged.display()
            )
        })?;
    }
    let resealed = match reseal(db, &old, &new).await {
        Ok(n) => n,
        Err(e) => {
            if in_file {
                let _ = std::fs::remove_file(&staged);
            }
            return Err(e);
        }
    };
    let old_key_file = if in_file {
        let kept = with_suffix(&key_file, &format!(".{}", old.fingerprint()));
        std::fs::rename(&key_file, &kept)
            .and_then(|()| std::fs::rename(&staged, &key_file))
            .map_err(|e| {
                format!(
                    "every secret is sealed with the new key, which is in {}; moving it to {} failed: {e}. Move it there by hand",
                    staged.display(),
                    key_file.display()
                )
            })?;
        Some(kept)
    } else {
        None
    };
    Ok(Rotated {
        resealed,
        old_fingerprint: old.fingerprint(),
        new_fingerprint: new.fingerprint(),
        new_key: if in_file { None } else { generated },
        old_key_file,
    })
}

/// In one transaction: every sealed value opened with `old` and sealed with `new`, and the
/// database's fingerprint set to `new`'s. Nothing changes if one cannot be opened.
async fn reseal(db: &Db, old: &Sealer, new: &Sealer) -> Result<usize, String> {
    let failed = |e: sqlx::Error| format!("could not re-seal the secrets (nothing changed): {e}");
    let mut tx = db.begin().await.map_err(failed)?;
    let rows = sealed::all(&mut tx, TEAM).await.map_err(failed)?;
    for row in &rows {
        let resealed = match row.place {
            sealed::Place::JobPayload => {
                let mut payload: serde_json::Value = serde_json::from_str(&row.value)
                    .map_err(|e| format!("job {} has a payload that is not JSON: {e}", row.id))?;
                let text = payload["text"].as_str().unwrap_or_default();
                payload["text"] = new.seal(&open(old, row, text)?).into();
                payload.to_string()
            }
            _ => new.seal(&open(old, row, &row.value)?),
        };
        sealed::replace(&mut tx, row, &resealed)
            .await
            .map_err(failed)?;
    }
    db::settings::set_in(&mut tx, "secret_key_fingerprint", &new.fingerprint())
        .await
        .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(rows.len())
}

fn open(old: &Sealer, row: &sealed::SealedRow, sealed: &str) -> Result<String, String> {
    old.open(sealed).map_err(|e| {
        format!(
            "the secret of {:?} {} cannot be opened with the current key ({e}); nothing changed",
            row.place, row.id
        )
    })
}
