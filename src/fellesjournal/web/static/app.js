// Progressive enhancement only: every page works without this file.
// Type-ahead for the patient search: fetches an HTML fragment of matches (same origin).
"use strict";
(function () {
  const input = document.querySelector("input[data-suggest]");
  const list = document.getElementById("suggestions");
  if (!input || !list) return;
  let timer = null;
  let last = "";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(async function () {
      const q = input.value.trim();
      if (q === last) return;
      last = q;
      if (q.length < 2 || /^\d+$/.test(q)) { list.hidden = true; list.textContent = ""; return; }
      const resp = await fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q),
                               { credentials: "same-origin" });
      if (!resp.ok || input.value.trim() !== q) return;
      const html = await resp.text();
      const doc = new DOMParser().parseFromString("<ul>" + html + "</ul>", "text/html");
      list.replaceChildren(...doc.body.firstChild.childNodes);
      list.hidden = list.children.length === 0;
    }, 150);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" && !list.hidden) {
      const first = list.querySelector("a");
      if (first) { e.preventDefault(); first.focus(); }
    }
  });
})();

// Diagnosis codes: the list of matches follows the typing (same fragment as without script).
(function () {
  const input = document.querySelector("input[data-matches]");
  const target = document.getElementById("diagnosis-matches");
  if (!input || !target) return;
  let timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(async function () {
      const q = input.value.trim();
      const resp = await fetch(input.dataset.matches + "&q=" + encodeURIComponent(q),
                               { credentials: "same-origin" });
      if (!resp.ok || input.value.trim() !== q) return;
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      target.replaceChildren(...doc.body.childNodes);
    }, 150);
  });
})();

// Starting a medication: the list of common medicines follows the typing; ArrowDown moves
// to the first one shown. (Without script the whole list is shown; each is a link.)
(function () {
  const input = document.querySelector("input[data-picks]");
  const list = input && document.getElementById(input.dataset.picks);
  if (!input || !list) return;
  const items = Array.from(list.querySelectorAll("li"));
  function filter() {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const li of items) {
      const text = li.textContent.toLowerCase();
      li.hidden = !words.every(function (w) { return text.includes(w); });
    }
  }
  input.addEventListener("input", filter);
  input.addEventListener("keydown", function (e) {
    if (e.key !== "ArrowDown") return;
    const first = items.find(function (li) { return !li.hidden; });
    if (first) { e.preventDefault(); first.querySelector("a").focus(); }
  });
  filter();
})();
