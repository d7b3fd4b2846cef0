//! `/app/team`: teammates, roles, permissions, invitations and the participant limit.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::participants::{get_participant_usage, SetParticipantLimit},
    api::team::{
        get_team, InviteTeammate, RemoveMember, RevokeInvitation, SetMemberPermission,
        SetMemberRole, TransferOwnership,
    },
    domain::{
        permissions::{may_give_role, Permission, Role},
        team::{CurrentUser, Member},
        time::format_utc,
    },
    error::AppError,
    ui::components::{
        copy::CopyField,
        form::{action_error, successes, Explanation, FieldMessage, FormProblem},
        layout::{loaded, require_user, UserResource},
    },
};

/// Every action on this page; the team reloads after any of them.
#[derive(Clone, Copy)]
struct Actions {
    revoke: ServerAction<RevokeInvitation>,
    set_role: ServerAction<SetMemberRole>,
    set_permission: ServerAction<SetMemberPermission>,
    remove: ServerAction<RemoveMember>,
    transfer: ServerAction<TransferOwnership>,
}

impl Actions {
    fn new() -> Self {
        Actions {
            revoke: ServerAction::new(),
            set_role: ServerAction::new(),
            set_permission: ServerAction::new(),
            remove: ServerAction::new(),
            transfer: ServerAction::new(),
        }
    }

    fn versions(&self) -> [usize; 5] {
        [
            self.revoke.version().get(),
            self.set_role.version().get(),
            self.set_permission.version().get(),
            self.remove.version().get(),
            self.transfer.version().get(),
        ]
    }

    /// The newest failure among them.
    fn problem(&self) -> Signal<Option<AppError>> {
        let errors = [
            action_error(self.revoke),
            action_error(self.set_role),
            action_error(self.set_permission),
            action_error(self.remove),
            action_error(self.transfer),
        ];
        Signal::derive(move || errors.iter().find_map(|e| e.get()))
    }
}

/// `/app/team`: the members, their roles and permissions, and invitations.
#[component]
pub fn TeamPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let invite = ServerAction::<InviteTeammate>::new();
    let invited = successes(invite);
    let actions = Actions::new();
    let team = Resource::new(move || (invited.get(), actions.versions()), |_| get_team());
    let invite_error = action_error(invite);
    let problem = actions.problem();
    let set_limit = ServerAction::<SetParticipantLimit>::new();
    let limit_error = action_error(set_limit);
    let limit_set = successes(set_limit);
    let usage = Resource::new(move || limit_set.get(), |_| get_participant_usage());

    view! {
        <Title text="Team" />
        <h1>"Team"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading the team…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                let team = or_view!(loaded(team.await));
                let (participants, limit) = or_view!(loaded(usage.await));
                let can_manage = me.can(Permission::ManageTeam);
                let is_owner = me.can(Permission::ManageAccount);
                let rows = team
                    .members
                    .into_iter()
                    .map(|m| view! { <MemberRow member=m me=me.clone() actions /> })
                    .collect_view();
                let invitations = (!team.invitations.is_empty()).then(|| {
                    let items = team
                        .invitations
                        .into_iter()
                        .map(|inv| {
                            view! {
                                <li>
                                    <span>
                                        {format!("{} as {}, invited by {}; valid until {}",
                                            inv.email, inv.role, inv.invited_by, format_utc(inv.expires_at))}
                                    </span>
                                    <ActionForm action=actions.revoke>
                                        <input type="hidden" name="invitation_id" value=inv.id />
                                        <button type="submit" class="secondary small">"Revoke"</button>
                                    </ActionForm>
                                </li>
                            }
                        })
                        .collect_view();
                    view! {
                        <h3>"Pending invitations"</h3>
                        <ul class="invitations">{items}</ul>
                    }
                });
                view! {
                    <Explanation text=me.explain(Permission::ManageTeam) />
                    <FormProblem error=problem />
                    <section class="card" aria-labelledby="invite-heading">
                        <h2 id="invite-heading">"Invite a teammate"</h2>
                        <ActionForm action=invite>
                            <fieldset disabled=!can_manage>
                                <FormProblem error=invite_error />
                                <div class="row">
                                    <div class="grow">
                                        <label for="invite-email">"Email"</label>
                                        <input id="invite-email" name="email" type="email" required />
                                    </div>
                                    <div>
                                        <label for="invite-role">"Role"</label>
                                        <select id="invite-role" name="role">
                                            <option value="viewer">"Viewer"</option>
                                            <option value="manager">"Manager"</option>
                                            {is_owner.then(|| view! { <option value="admin">"Admin"</option> })}
                                        </select>
                                    </div>
                                    <button type="submit">"Create invitation"</button>
                                </div>
                                <FieldMessage error=invite_error field="email" />
                                <FieldMessage error=invite_error field="role" />
                            </fieldset>
                        </ActionForm>
                        <InvitationLink invite />
                    </section>
                    <section class="card" aria-labelledby="members-heading">
                        <h2 id="members-heading">"Members"</h2>
                        <table class="members">
                            <thead>
                                <tr><th>"Name"</th><th>"Role"</th><th>"Permissions"</th><th></th></tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                        {invitations}
                    </section>
                    <section class="card" aria-labelledby="limit-heading">
                        <h2 id="limit-heading">"Participant limit"</h2>
                        <p>{format!("{participants} of {limit} participants across all campaigns.")}</p>
                        {(!is_owner).then(|| view! { <p class="hint">"Only the account's Owner can change the limit."</p> })}
                        <ActionForm action=set_limit>
                            <fieldset disabled=!is_owner>
                                <FormProblem error=limit_error />
                                <div class="row">
                                    <div>
                                        <label for="participant-limit">"Limit"</label>
                                        <input id="participant-limit" name="limit" type="number" min="1" value=limit.to_string() />
                                    </div>
                                    <button type="submit" class="secondary">"Save limit"</button>
                                </div>
                                <FieldMessage error=limit_error field="limit" />
                            </fieldset>
                        </ActionForm>
                    </section>
                }
                .into_any()
            })}
        </Transition>
    }
}

/// The link of the invitation just created, to copy (and whether it is being emailed).
#[component]
fn InvitationLink(invite: ServerAction<InviteTeammate>) -> impl IntoView {
    move || {
        invite.value().get().and_then(Result::ok).map(|sent| {
            view! {
                <div class="notice notice-ok invitation-link" role="status">
                    <p>
                        {if sent.emailed {
                            format!("Invitation on its way to {} by email. You can also send this link yourself:", sent.email)
                        } else {
                            format!("Send this single-use link to {} (no mail server is configured):", sent.email)
                        }}
                    </p>
                    <CopyField id="invitation-link" label="Invitation link".into() value=sent.link />
                    <p class="hint">{format!("It works once, until {}.", format_utc(sent.expires_at))}</p>
                </div>
            }
        })
    }
}

/// One member: who, their role (changeable by those allowed), permissions, and actions.
#[component]
fn MemberRow(member: Member, me: CurrentUser, actions: Actions) -> impl IntoView {
    let (id, name) = (member.id.clone(), member.name.clone());
    let is_me = id == me.user_id;
    let can_manage = me.can(Permission::ManageTeam);
    let i_own = me.can(Permission::ManageAccount);
    // The roles the server would let me give this teammate; nobody changes their own role here.
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| {
            *r == member.role
                || may_give_role(me.role, &me.permissions, false, Some(member.role), *r).is_ok()
        })
        .collect();
    let may_change = can_manage && !is_me && roles.len() > 1;
    let role_cell = if may_change {
        let options = roles
            .iter()
            .map(
                |r| view! { <option value=r.key() selected=*r == member.role>{r.label()}</option> },
            )
            .collect_view();
        let (id, name) = (id.clone(), name.clone());
        view! {
            <ActionForm action=actions.set_role>
                <input type="hidden" name="member_id" value=id />
                <select name="role" aria-label=format!("Role of {name}")>{options}</select>
                <button type="submit" class="secondary small">"Save role"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! { <span>{member.role.label()}</span> }.into_any()
    };
    let chips = member
        .permissions
        .iter()
        .map(|p| view! { <li class="chip">{p.label()}</li> })
        .collect_view();
    // Single permissions on top of the role: owners only, and not for owners.
    let adjust = (i_own && member.role != Role::Owner).then(|| {
        let toggles = Permission::GRANTABLE
            .into_iter()
            .map(|p| {
                let has = member.permissions.contains(&p);
                let (id, name) = (id.clone(), name.clone());
                view! {
                    <li>
                        <ActionForm action=actions.set_permission>
                            <input type="hidden" name="member_id" value=id />
                            <input type="hidden" name="permission" value=p.key() />
                            <input type="hidden" name="allowed" value=(!has).to_string() />
                            <span class=if has { "has" } else { "lacks" }>{p.label()}</span>
                            <button type="submit" class="secondary small"
                                aria-label=format!("{} {} for {name}", if has { "Revoke" } else { "Grant" }, p.label())>
                                {if has { "Revoke" } else { "Grant" }}
                            </button>
                        </ActionForm>
                    </li>
                }
            })
            .collect_view();
        view! {
            <details class="adjust">
                <summary>"Adjust permissions"</summary>
                <ul class="toggles">{toggles}</ul>
            </details>
        }
    });
    let remove = may_change.then(|| {
        let (id, name) = (id.clone(), name.clone());
        view! {
            <ActionForm action=actions.remove>
                <input type="hidden" name="member_id" value=id />
                <button type="submit" class="secondary small danger"
                    aria-label=format!("Remove {name}")>"Remove"</button>
            </ActionForm>
        }
    });
    let transfer = (i_own && !is_me).then(|| {
        let (id, name) = (id.clone(), name.clone());
        view! {
            <ActionForm action=actions.transfer>
                <input type="hidden" name="member_id" value=id />
                <button type="submit" class="secondary small"
                    aria-label=format!("Make {name} the owner")>"Make owner"</button>
            </ActionForm>
        }
    });
    view! {
        <tr data-member=member.email.clone()>
            <td>
                <strong>{name}</strong>
                {is_me.then_some(" (you)")}
                <br />
                <span class="muted">{member.email.clone()}</span>
            </td>
            <td>{role_cell}</td>
            <td><ul class="chips">{chips}</ul>{adjust}</td>
            <td class="actions">{remove}{transfer}</td>
        </tr>
    }
}
