/* Refloop's referral widget for the merchant's own app: shows a signed-in user their referral
   link, share buttons, friends and rewards. The merchant's backend asks Refloop's API for a
   short-lived token for the user (POST /api/v1/participants/{id}/widget_tokens) and puts it on
   the element; the widget sends it to GET /api/v1/widget. No cookies, no Refloop session.
   <script src="https://refloop.example/widget.js" defer></script>
   <refloop-referral token="rfw_…"></refloop-referral>
   Styled by CSS variables on the element or above it: --refloop-accent, --refloop-text,
   --refloop-muted, --refloop-background, --refloop-border, --refloop-radius, --refloop-font.
   Everything is drawn in a shadow root: the page's CSS does not reach in, and this does not
   reach out. */
(function () {
  "use strict";
  if (!window.customElements || window.customElements.get("refloop-referral")) return;
  var script = document.currentScript;
  var origin = script ? new URL(script.src, window.location.href).origin : window.location.origin;

  var STYLE =
    ":host{display:block;font-family:var(--refloop-font,system-ui,sans-serif);color:var(--refloop-text,#1f2933);" +
    "background:var(--refloop-background,#fff);border:1px solid var(--refloop-border,#d9dee5);" +
    "border-radius:var(--refloop-radius,12px);padding:1.25rem;max-width:32rem;box-sizing:border-box}" +
    "*{box-sizing:border-box}h2{font-size:1.15rem;margin:0 0 .35rem}p{margin:.35rem 0}" +
    ".muted{color:var(--refloop-muted,#5f6b7a);font-size:.9rem}" +
    ".link{display:flex;gap:.5rem;margin:.75rem 0}" +
    "input{flex:1;min-width:0;font:inherit;padding:.5rem .6rem;border:1px solid var(--refloop-border,#d9dee5);" +
    "border-radius:calc(var(--refloop-radius,12px)/2);color:inherit;background:transparent}" +
    "button,a.share{font:inherit;cursor:pointer;border-radius:calc(var(--refloop-radius,12px)/2);padding:.45rem .8rem;" +
    "text-decoration:none;display:inline-block}" +
    "button{background:var(--refloop-accent,#3b5bdb);color:#fff;border:1px solid var(--refloop-accent,#3b5bdb)}" +
    "a.share{color:var(--refloop-accent,#3b5bdb);border:1px solid var(--refloop-accent,#3b5bdb);font-size:.9rem}" +
    ".shares{display:flex;flex-wrap:wrap;gap:.4rem;margin:.5rem 0 1rem}" +
    "h3{font-size:.95rem;margin:1rem 0 .35rem}ul{list-style:none;padding:0;margin:0}" +
    "li{display:flex;justify-content:space-between;gap:.5rem;padding:.35rem 0;border-top:1px solid var(--refloop-border,#d9dee5)}" +
    ".status{font-size:.85rem;color:var(--refloop-muted,#5f6b7a)}.status.qualified{color:var(--refloop-accent,#3b5bdb)}" +
    "[role=alert]{color:#b42318}";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c) node.appendChild(c);
    });
    return node;
  }

  function shares(view) {
    var message = view.share_text || "Join me on " + view.campaign_name;
    var link = encodeURIComponent(view.referral_link);
    var text = encodeURIComponent(message);
    return [
      ["Email", "mailto:?subject=" + text + "&body=" + text + "%20" + link],
      ["X", "https://twitter.com/intent/tweet?text=" + text + "&url=" + link],
      ["Facebook", "https://www.facebook.com/sharer/sharer.php?u=" + link],
      ["LinkedIn", "https://www.linkedin.com/sharing/share-offsite/?url=" + link],
      ["WhatsApp", "https://wa.me/?text=" + text + "%20" + link],
    ].map(function (s) {
      return el("a", { class: "share", href: s[1], target: "_blank", rel: "noopener noreferrer", text: s[0] });
    });
  }

  function render(root, view) {
    var input = el("input", { readonly: "", "aria-label": "Your referral link" });
    input.value = view.referral_link;
    var copy = el("button", { type: "button", text: "Copy" });
    copy.addEventListener("click", function () {
      input.select();
      var done = function () {
        copy.textContent = "Copied";
      };
      if (navigator.clipboard) navigator.clipboard.writeText(view.referral_link).then(done, done);
      else done();
    });
    var friends = view.friends.length
      ? el(
          "ul",
          { class: "friends" },
          view.friends.map(function (f) {
            return el("li", { "data-status": f.status }, [
              el("span", { text: f.name }),
              el("span", { class: "status " + f.status, text: f.status_label }),
            ]);
          }),
        )
      : el("p", { class: "muted", text: "No friends yet: share your link to invite them." });
    var rewards = view.rewards.length
      ? el(
          "ul",
          { class: "rewards" },
          view.rewards.map(function (r) {
            return el("li", { text: r });
          }),
        )
      : el("p", { class: "muted", text: "No rewards yet: they appear here when your friends qualify." });
    var counts =
      view.friends_joined +
      (view.friends_joined === 1 ? " friend joined, " : " friends joined, ") +
      view.friends_qualified +
      " qualified";
    root.replaceChildren(
      el("style", { text: STYLE }),
      el("section", { "aria-label": "Refer a friend" }, [
        el("h2", { text: "Invite friends to " + view.campaign_name }),
        view.friend_offer ? el("p", { class: "offer", text: view.friend_offer }) : null,
        el("div", { class: "link" }, [input, copy]),
        el("div", { class: "shares" }, shares(view)),
        el("h3", { text: "Your friends" }),
        el("p", { class: "muted counts", text: counts }),
        friends,
        el("h3", { text: "Your rewards" }),
        rewards,
      ]),
    );
  }

  function fail(root, message) {
    root.replaceChildren(el("style", { text: STYLE }), el("p", { role: "alert", text: message }));
  }

  class RefloopReferral extends HTMLElement {
    static get observedAttributes() {
      return ["token"];
    }
    constructor() {
      super();
      this.attachShadow({ mode: "open" });
    }
    connectedCallback() {
      this.started = true;
      this.load();
    }
    attributeChangedCallback(name, before, after) {
      // A new token (the page got a fresh one): show again.
      if (this.started && before !== after) this.load();
    }
    load() {
      var root = this.shadowRoot;
      var token = this.getAttribute("token");
      if (!token) return fail(root, "The referral widget needs a token from your backend.");
      var api = this.getAttribute("api") || origin;
      fetch(api + "/api/v1/widget", { headers: { authorization: "Bearer " + token }, credentials: "omit" })
        .then(function (r) {
          return r.json().then(function (body) {
            if (!r.ok) throw new Error((body.error && body.error.message) || "HTTP " + r.status);
            return body;
          });
        })
        .then(
          function (view) {
            render(root, view);
            this.dispatchEvent(new CustomEvent("refloop:loaded", { detail: view }));
          }.bind(this),
          function (e) {
            fail(root, "Your referral link cannot be shown: " + e.message);
          },
        );
    }
  }
  window.customElements.define("refloop-referral", RefloopReferral);
})();
