//! A campaign's Emails step. Any member may look; changing the emails needs Edit campaigns.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    domain::emails::{CampaignEmails, EmailForm, EmailPreview, EmailSettings, EmailTemplate},
    error::AppError,
};

#[cfg(feature = "ssr")]
use {
    super::{state, with_status},
    crate::{
        api::context::{require, require_member},
        campaigns::emails,
        domain::permissions::Permission,
    },
};

#[server(endpoint = "campaign_emails")]
pub async fn get_campaign_emails(campaign_id: String) -> Result<CampaignEmails, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            let s = state()?;
            emails::overview(&s.db, &s.mailer, &ctx, &campaign_id).await
        }
        .await,
    )
}

#[server(endpoint = "save_emails", input = Json)]
pub async fn save_emails(campaign_id: String, form: EmailForm) -> Result<EmailSettings, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            emails::save(&state()?.db, &ctx, &campaign_id, form).await
        }
        .await,
    )
}

/// The email a template (as it is being edited) writes, with a real participant's data.
#[server(endpoint = "preview_email", input = Json)]
pub async fn preview_email(
    campaign_id: String,
    sender_name: String,
    template: EmailTemplate,
) -> Result<EmailPreview, AppError> {
    with_status(
        async {
            let ctx = require_member().await?;
            let s = state()?;
            emails::preview(
                &s.db,
                &s.mailer,
                &s.stripe.public_url,
                &ctx,
                &campaign_id,
                &sender_name,
                template,
            )
            .await
        }
        .await,
    )
}

/// Sends that email to the teammate asking, as a test.
#[server(endpoint = "send_test_email", input = Json)]
pub async fn send_test_email(
    campaign_id: String,
    sender_name: String,
    template: EmailTemplate,
) -> Result<String, AppError> {
    with_status(
        async {
            let ctx = require(Permission::EditCampaigns).await?;
            let s = state()?;
            emails::send_test(
                &s.db,
                &s.mailer,
                &s.stripe.public_url,
                &ctx,
                &campaign_id,
                &sender_name,
                template,
            )
            .await
        }
        .await,
    )
}
