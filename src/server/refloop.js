/* Refloop's snippet for the merchant's site: keeps the referral code a visitor arrived with
   (?ref=…, and ?promo=… from Refloop's /r/ redirect) in this site's own storage for the
   campaign's attribution window, and adds it to every Stripe Payment Link, Buy Button, Pricing
   Table and element marked data-refloop-checkout. No dependencies, no cookies.
   <script src="https://refloop.example/refloop.js" data-campaign="spring" data-days="30" defer></script> */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var campaign = script.getAttribute("data-campaign") || "default";
  var days = parseInt(script.getAttribute("data-days") || "30", 10);
  if (!(days > 0)) days = 30;
  var key = "refloop:" + campaign;
  var shape = /^[A-Za-z0-9_-]{1,200}$/;

  function read() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(key) || "null");
      if (saved && saved.until > Date.now() && shape.test(saved.ref)) return saved;
      window.localStorage.removeItem(key);
    } catch (e) {}
    return null;
  }

  var params = new URLSearchParams(window.location.search);
  var arrived = params.get("ref");
  var saved = read();
  if (arrived && shape.test(arrived)) {
    var promo = params.get("promo");
    saved = {
      ref: arrived,
      promo: promo && /^[A-Za-z0-9-]{1,500}$/.test(promo) ? promo : null,
      until: Date.now() + days * 86400000,
    };
    try {
      window.localStorage.setItem(key, JSON.stringify(saved));
    } catch (e) {}
  }
  window.Refloop = {
    referral: saved ? saved.ref : null,
    promotionCode: saved ? saved.promo : null,
  };
  if (!saved) return;

  function isPaymentLink(url) {
    return url.hostname === "buy.stripe.com" || /\/pay\/plink_[A-Za-z0-9]+$/.test(url.pathname);
  }

  function tagLink(a) {
    var url;
    try {
      url = new URL(a.href, window.location.href);
    } catch (e) {
      return;
    }
    if (!a.hasAttribute("data-refloop-checkout") && !isPaymentLink(url)) return;
    url.searchParams.set("client_reference_id", saved.ref);
    if (saved.promo && !url.searchParams.has("prefilled_promo_code")) {
      url.searchParams.set("prefilled_promo_code", saved.promo);
    }
    a.href = url.toString();
  }

  function tagForm(form) {
    var input = form.querySelector('input[name="client_reference_id"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "client_reference_id";
      form.appendChild(input);
    }
    input.value = saved.ref;
  }

  function tag(root) {
    var links = root.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i++) tagLink(links[i]);
    var marked = root.querySelectorAll("[data-refloop-checkout]:not(a)");
    for (var j = 0; j < marked.length; j++) {
      if (marked[j].tagName === "FORM") tagForm(marked[j]);
      else marked[j].setAttribute("client-reference-id", saved.ref);
    }
    var stripe = root.querySelectorAll("stripe-buy-button, stripe-pricing-table");
    for (var k = 0; k < stripe.length; k++) stripe[k].setAttribute("client-reference-id", saved.ref);
  }

  function start() {
    tag(document);
    new MutationObserver(function () {
      tag(document);
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
