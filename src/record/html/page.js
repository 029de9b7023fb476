"use strict";
// Renders the rows of the embedded JSON a page at a time (more as the end of a list
// scrolls into view, or on "Show more"), so the DOM stays small with 10,000 files.
(function () {
  var PAGE = 120;
  var data = JSON.parse(document.getElementById("data").textContent);
  // The page's words, in the run's language (pixpipe writes them beside the data).
  var W = JSON.parse(document.getElementById("words").textContent);
  var SECTIONS = [
    { id: "delivered", title: W.delivered, states: ["written", "uploaded"], grid: true },
    { id: "there", title: W.there, states: ["already_there", "duplicate"] },
    { id: "failed", title: W.failed, states: ["failed"] },
    { id: "skipped", title: W.skipped, states: ["skipped"] },
    { id: "not_started", title: W.not_started, states: ["not_started", "pending"] }
  ];
  var ICON = '<svg viewBox="0 0 160 107" role="img" aria-label="video or other file, not shown">' +
    '<rect width="160" height="107" fill="#888" opacity=".25"/>' +
    '<path d="M64 33v41l34-20.5z" fill="currentColor"/></svg>';
  var filterBox = document.getElementById("filter");
  var toggles = Array.prototype.slice.call(document.querySelectorAll("input[name=state]"));
  var root = document.getElementById("sections");
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (seen) {
    seen.forEach(function (e) { if (e.isIntersecting) { e.target.click(); } });
  }) : null;

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = text; }
    return n;
  }
  function size(e) {
    var parts = [];
    if (e.width && e.height) { parts.push(e.width + "\u00d7" + e.height); }
    if (e.bytes !== undefined) {
      var b = e.bytes, u = ["B", "KiB", "MiB", "GiB"], i = 0;
      while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
      parts.push((i ? b.toFixed(1) : b) + " " + u[i]);
    }
    return parts.join(", ");
  }
  function name(e) { return e.path.split(/[\\/]/).pop(); }
  function links(e) {
    var p = el("p", "links");
    (e.links || []).forEach(function (l) {
      var a = el("a", null, W.links[l.label] || l.label);
      a.href = l.href;
      p.appendChild(a);
    });
    return p;
  }
  function dup(e, into) {
    if (e.dup) { into.appendChild(el("span", "dup", W.dup)); }
  }
  function card(e) {
    var c = el("li", "row card");
    c.dataset.state = e.state;
    if (e.thumb) {
      var img = el("img", "thumb");
      img.src = "data:image/jpeg;base64," + e.thumb;
      img.alt = e.title || name(e);
      img.width = 160;
      img.loading = "lazy";
      c.appendChild(img);
    } else {
      var icon = el("div", "icon");
      icon.innerHTML = ICON; // a constant: no data goes in here
      c.appendChild(icon);
    }
    var h = el("h3", null, e.title || name(e));
    dup(e, h);
    c.appendChild(h);
    c.appendChild(el("p", null, name(e)));
    if (e.date) { c.appendChild(el("p", null, e.date)); }
    if (e.src) { c.appendChild(el("p", "src", sources(e.src))); }
    c.appendChild(el("p", null, size(e)));
    if (e.target) { c.appendChild(el("p", null, e.target)); }
    c.appendChild(links(e));
    return c;
  }
  // "title: xmp_sidecar · date: takeout": where each value came from.
  function sources(src) {
    return Object.keys(src).map(function (k) { return k + ": " + src[k]; }).join(" \u00b7 ");
  }
  function item(e) {
    var li = el("li", "row");
    li.dataset.state = e.state;
    var head = el("strong", null, e.path);
    dup(e, head);
    li.appendChild(head);
    if (e.title) { li.appendChild(el("p", null, e.title)); }
    if (e.reason) { li.appendChild(el("p", "reason", e.reason)); }
    if (e.target) { li.appendChild(el("p", null, e.target)); }
    if (e.links && e.links.length) { li.appendChild(links(e)); }
    return li;
  }
  function matches(e, words, states) {
    if (!states[e.state]) { return false; }
    if (!words) { return true; }
    var hay = (e.path + "\n" + (e.title || "") + "\n" + (e.reason || "")).toLowerCase();
    return hay.indexOf(words) >= 0;
  }
  function render() {
    var words = filterBox.value.trim().toLowerCase();
    var states = {};
    toggles.forEach(function (t) { states[t.value] = t.checked; });
    if (!toggles.length) { data.forEach(function (e) { states[e.state] = true; }); }
    root.textContent = "";
    var total = 0;
    SECTIONS.forEach(function (s) {
      var all = data.filter(function (e) { return s.states.indexOf(e.state) >= 0; });
      if (!all.length) { return; }
      var rows = all.filter(function (e) { return matches(e, words, states); });
      total += rows.length;
      var sec = el("section");
      sec.id = s.id;
      sec.setAttribute("aria-labelledby", s.id + "-h");
      var h = el("h2", null, s.title + " (" + rows.length + " of " + all.length + ")");
      h.id = s.id + "-h";
      sec.appendChild(h);
      var list = el("ul", s.grid ? "grid" : "list");
      sec.appendChild(list);
      var more = el("button", "more", W.more);
      more.type = "button";
      var shown = 0;
      more.onclick = function () {
        rows.slice(shown, shown + PAGE).forEach(function (e) {
          list.appendChild(s.grid ? card(e) : item(e));
        });
        shown = Math.min(rows.length, shown + PAGE);
        more.hidden = shown >= rows.length;
        if (observer) {
          // Observed again, so a button still in view after this page asks for the next.
          observer.unobserve(more);
          if (!more.hidden) { observer.observe(more); }
        }
      };
      sec.appendChild(more);
      root.appendChild(sec);
      more.onclick();
    });
    document.getElementById("shown").textContent =
      W.shown.replace("{shown}", total).replace("{total}", data.length);
  }
  function fromFragment() {
    var m = /(?:^#|&)filter=([^&]*)/.exec(location.hash);
    if (m) {
      try { filterBox.value = decodeURIComponent(m[1].replace(/\+/g, " ")); } catch (err) { filterBox.value = m[1]; }
    }
  }
  var timer = null;
  filterBox.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(render, 150);
  });
  toggles.forEach(function (t) { t.addEventListener("change", render); });
  window.addEventListener("hashchange", function () { fromFragment(); render(); });
  fromFragment();
  render();
})();
