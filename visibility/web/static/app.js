// visibility pages: small enhancements on top of forms that work without JavaScript.
// No inline scripts (the pages' Content-Security-Policy forbids them) and no
// text is ever inserted as HTML: previews are built with DOM nodes.
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var LINK = "{link}";
  var TOKENS = /(\{link\})|(https?:\/\/[^\s<>"']+)|((?<![\p{L}\p{N}_&#])#[\p{L}\p{N}_]+)/gu;

  // -- the live count: the server measures (X counts a link as 23, an emoji as 2) --
  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  function showCount(output, note, result) {
    var text = result.limit ? result.length + " / " + result.limit : String(result.length);
    output.textContent = text;
    output.classList.toggle("over", !result.fits);
    output.classList.remove("pending");
    if (note) {
      note.textContent = result.fits ? "" :
        (output.getAttribute("data-over-text") || "").replace("{n}", result.length - result.limit);
    }
  }

  function setUpCounter(area) {
    var output = document.getElementById(area.getAttribute("data-count"));
    if (!output) { return; }
    var note = output.parentNode.querySelector("[data-over-note]");
    var kind = area.getAttribute("data-measure-kind");
    var asked = 0;
    var measure = debounce(function () {
      var mine = ++asked;
      fetch("/api/v1/measure", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ kind: kind, body: area.value })
      }).then(function (answer) {
        if (!answer.ok) { throw new Error(String(answer.status)); }
        return answer.json();
      }).then(function (result) {
        if (mine === asked) { showCount(output, note, result); }  // only the latest answer counts
      }).catch(function () {
        output.classList.remove("pending");
      });
    }, 250);
    area.addEventListener("input", function () {
      output.classList.add("pending");
      measure();
      updatePreview(area);
    });
  }

  // -- the preview follows the edit box ------------------------------------------
  function updatePreview(area) {
    var id = area.getAttribute("data-preview");
    var box = id && document.getElementById(id);
    var target = box && box.querySelector("[data-preview-text]");
    if (!target) { return; }
    var label = target.getAttribute("data-link-label") || LINK;
    var text = area.value;
    var nodes = [];
    var last = 0;
    text.replace(TOKENS, function (match, link, url, tag, offset) {
      nodes.push(document.createTextNode(text.slice(last, offset)));
      var span = document.createElement("span");
      span.className = link ? "chip" : (url ? "url" : "tag");
      span.textContent = link ? label : match;
      if (link) { span.title = LINK; }
      nodes.push(span);
      last = offset + match.length;
      return match;
    });
    nodes.push(document.createTextNode(text.slice(last)));
    target.replaceChildren.apply(target, nodes);
  }

  function setUpTitle(input) {
    var box = document.getElementById(input.getAttribute("data-title-for"));
    var title = box && box.querySelector("[data-preview-title]");
    if (!title) { return; }
    input.addEventListener("input", function () { title.textContent = input.value; });
  }

  // -- ask before what cannot be undone ----------------------------------------------
  function setUpConfirm(button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-measure-kind]").forEach(setUpCounter);
    document.querySelectorAll("input[data-title-for]").forEach(setUpTitle);
    document.querySelectorAll("[data-confirm]").forEach(setUpConfirm);
  });
})();
