/* The distributor centre's small interactions, first-party and dependency-free:
 * - the earnings page polls its pulse endpoint every 2 s and redraws the balances and the
 *   newest commissions, so a commission shows within seconds of the payment callback;
 * - the withdrawal form shows the real-name field from the real-name amount (¥2,000);
 * - "Confirm receipt in WeChat" hands a transfer's package to WeChat
 *   (requestMerchantTransfer), or says to open the page in WeChat;
 * - "Copy" buttons copy the invite link.
 * Every page works without it; it only saves reloads. */
(function () {
  "use strict";

  function yuan(fen) {
    var sign = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    var cents = fen % 100;
    return sign + Math.floor(fen / 100) + "." + (cents < 10 ? "0" : "") + cents;
  }

  function startPulse(box) {
    var url = box.getAttribute("data-pulse-url");
    var list = document.getElementById("commission-rows");
    var seen = list ? list.innerHTML : "";
    var known = {};
    if (list) {
      Array.prototype.forEach.call(list.querySelectorAll("[data-id]"), function (row) {
        known[row.getAttribute("data-id")] = true;
      });
    }
    function apply(data) {
      Object.keys(data.balances || {}).forEach(function (name) {
        var target = document.querySelector('[data-balance="' + name + '"]');
        if (target) { target.textContent = yuan(data.balances[name]); }
      });
      if (list && data.rows_html !== undefined && data.rows_html !== seen) {
        list.innerHTML = data.rows_html;
        seen = data.rows_html;
        Array.prototype.forEach.call(list.querySelectorAll("[data-id]"), function (row) {
          var id = row.getAttribute("data-id");
          if (!known[id]) { row.classList.add("new-row"); known[id] = true; }
        });
      }
    }
    function poll() {
      // Every 2 s from the start of the last request (not its end), so a new commission
      // shows at most 2 s and one round trip after it was recorded.
      var started = Date.now();
      function next(delay) { setTimeout(poll, Math.max(0, delay - (Date.now() - started))); }
      if (document.hidden) { next(2000); return; }
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("pulse " + response.status); }
          return response.json();
        })
        .then(function (data) { apply(data); next(2000); })
        .catch(function () { next(6000); });
    }
    setTimeout(poll, 2000);
  }

  function realNameToggle(form) {
    var from = parseInt(form.getAttribute("data-real-name-from"), 10);
    var amount = form.querySelector("[name=amount]");
    var field = document.getElementById("real-name-field");
    if (!amount || !field || !from) { return; }
    function update() {
      var match = /^\s*[¥￥]?\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(amount.value);
      var fen = match ? parseInt(match[1], 10) * 100 + parseInt((match[2] || "").concat("00").slice(0, 2), 10) : 0;
      if (fen >= from) { field.hidden = false; }
      else if (!field.querySelector(".errorlist")) { field.hidden = true; }
    }
    amount.addEventListener("input", update);
    update();
  }

  function inWeChat() { return /MicroMessenger/i.test(navigator.userAgent); }

  function wxConfigured(then) {
    var called = false;
    function callback(ok) { if (!called) { called = true; then(ok); } }
    var config = document.getElementById("wx-config");
    if (!config || !window.wx) { callback(false); return; }
    var settings = JSON.parse(config.textContent);
    window.wx.config(settings);
    window.wx.ready(function () {
      window.wx.checkJsApi({
        jsApiList: ["requestMerchantTransfer"],
        success: function (result) {
          callback(!!(result.checkResult && result.checkResult.requestMerchantTransfer));
        },
        fail: function () { callback(false); }
      });
    });
    window.wx.error(function () { callback(false); });
  }

  function requestTransfer(button) {
    var params = {
      mchId: button.getAttribute("data-mch-id"),
      subMchId: button.getAttribute("data-sub-mch-id"),
      appId: button.getAttribute("data-app-id"),
      package: button.getAttribute("data-package")
    };
    var help = button.parentNode.parentNode.querySelector(".transfer-help");
    function say(text) { if (help) { help.textContent = text; help.hidden = false; } }
    function done(result) {
      var message = (result && (result.err_msg || result.errMsg)) || "";
      if (/:ok$/.test(message)) {
        say(button.getAttribute("data-done"));
        button.disabled = true;
        setTimeout(function () { window.location.reload(); }, 3000);
      } else if (!/cancel/.test(message)) {
        say(button.getAttribute("data-failed"));
      }
    }
    if (!inWeChat()) { say(button.getAttribute("data-outside")); return; }
    if (window.wx && typeof window.wx.requestMerchantTransfer === "function") {
      params.success = done; params.fail = done;
      window.wx.requestMerchantTransfer(params);
      return;
    }
    function invoke() {
      window.WeixinJSBridge.invoke("requestMerchantTransfer", params, done);
    }
    if (window.WeixinJSBridge) { invoke(); }
    else { document.addEventListener("WeixinJSBridgeReady", invoke, false); }
  }

  function copyButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
      button.addEventListener("click", function () {
        var input = document.querySelector(button.getAttribute("data-copy"));
        if (!input) { return; }
        input.select();
        var copied = function () { button.textContent = button.getAttribute("data-copied"); };
        if (navigator.clipboard) {
          navigator.clipboard.writeText(input.value).then(copied, function () {});
        } else if (document.execCommand("copy")) { copied(); }
      });
    });
  }

  function ready() {
    var live = document.querySelector("[data-pulse-url]");
    if (live && window.fetch) { startPulse(live); }
    var form = document.getElementById("withdraw-form");
    if (form) { realNameToggle(form); }
    var buttons = document.querySelectorAll(".confirm-transfer");
    if (buttons.length) {
      var bind = function () {
        Array.prototype.forEach.call(buttons, function (button) {
          button.addEventListener("click", function () { requestTransfer(button); });
        });
      };
      if (inWeChat()) { wxConfigured(bind); } else { bind(); }
    }
    copyButtons();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); }
  else { ready(); }
})();
