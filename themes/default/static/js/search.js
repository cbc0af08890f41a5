/* Client-side search for the `search` plugin's page (templates/search.html).
 *
 * Fetches the JSON index once, keeps only entries containing every query word (case- and
 * accent-insensitive), ranks title matches first, and keeps `?q=` in the address bar so
 * results can be shared and reloaded. Index text is only ever inserted with textContent:
 * a title such as "<script>" stays text.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-search-index]");
  if (!root) return;
  var form = root.querySelector("form");
  var input = root.querySelector("input[type=search]");
  var status = root.querySelector("[aria-live]");
  var list = root.querySelector("ol");

  var MAX_RESULTS = 50;
  var SNIPPET_BEFORE = 60;
  var SNIPPET_LENGTH = 220;
  var DEBOUNCE_MS = 150;
  var MARKS = /\p{M}/gu;
  var dateFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: "numeric",
    month: "long",
    day: "numeric",
    timeZone: "UTC",
  });

  var index = null; // {collections, entries} once loaded
  var failed = false;
  var timer = 0;

  /* Compatibility decomposition drops accents and splits ligatures; final sigma is folded
   * so that a whole string and its characters one by one fold alike. */
  function fold(text) {
    return text.normalize("NFKD").replace(MARKS, "").toLowerCase().replace(/ς/g, "σ");
  }

  /* The folded text plus, for each folded character, where its original character starts
   * and ends, so that matches found in folded text can be marked in the original. */
  function foldMapped(text) {
    var folded = "";
    var starts = [];
    var ends = [];
    for (var i = 0; i < text.length; ) {
      var ch = String.fromCodePoint(text.codePointAt(i));
      var f = fold(ch);
      if (f === "" && ends.length) {
        ends[ends.length - 1] = i + ch.length; // a combining mark stays with its letter
      }
      for (var k = 0; k < f.length; k++) {
        starts.push(i);
        ends.push(i + ch.length);
      }
      folded += f;
      i += ch.length;
    }
    return { folded: folded, starts: starts, ends: ends };
  }

  function queryWords(query) {
    var words = fold(query).split(/\s+/).filter(Boolean);
    return words.filter(function (w, i) { return words.indexOf(w) === i; });
  }

  function prepare(data) {
    data.entries.forEach(function (entry, position) {
      entry.position = position;
      entry.foldedTitle = fold(entry.title);
      entry.foldedTags = fold(entry.tags.join(" "));
      entry.foldedBody = fold(entry.summary + " " + entry.text);
    });
    return data;
  }

  function count(haystack, words) {
    return words.filter(function (w) { return haystack.indexOf(w) !== -1; }).length;
  }

  /* Entries containing every word; more words in the title first, then in the tags, then index order. */
  function search(words) {
    var hits = [];
    index.entries.forEach(function (entry) {
      var all = words.every(function (w) {
        return entry.foldedTitle.indexOf(w) !== -1 || entry.foldedTags.indexOf(w) !== -1 || entry.foldedBody.indexOf(w) !== -1;
      });
      if (all) hits.push({ entry: entry, title: count(entry.foldedTitle, words), tags: count(entry.foldedTags, words) });
    });
    hits.sort(function (a, b) {
      return b.title - a.title || b.tags - a.tags || a.entry.position - b.entry.position;
    });
    return hits.map(function (hit) { return hit.entry; });
  }

  /* Ranges [start, end) of the original text covered by any word, merged and in order. */
  function matchRanges(text, words) {
    var mapped = foldMapped(text);
    var ranges = [];
    words.forEach(function (word) {
      for (var at = mapped.folded.indexOf(word); at !== -1; at = mapped.folded.indexOf(word, at + word.length)) {
        ranges.push([mapped.starts[at], mapped.ends[at + word.length - 1]]);
      }
    });
    ranges.sort(function (a, b) { return a[0] - b[0]; });
    var merged = [];
    ranges.forEach(function (r) {
      var last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push(r.slice());
    });
    return merged;
  }

  function appendMarked(parent, text, words) {
    var pos = 0;
    matchRanges(text, words).forEach(function (r) {
      if (r[0] > pos) parent.appendChild(document.createTextNode(text.slice(pos, r[0])));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(r[0], r[1]);
      parent.appendChild(mark);
      pos = r[1];
    });
    if (pos < text.length) parent.appendChild(document.createTextNode(text.slice(pos)));
  }

  /* A window of the body around its first match (or its opening), cut at spaces. */
  function snippet(entry, words) {
    var sources = [entry.text, entry.summary];
    for (var s = 0; s < sources.length; s++) {
      var ranges = sources[s] ? matchRanges(sources[s], words) : [];
      if (ranges.length) return cut(sources[s], ranges[0][0]);
    }
    return cut(entry.summary || entry.text, 0);
  }

  function cut(text, at) {
    var start = Math.max(0, at - SNIPPET_BEFORE);
    if (start > 0) {
      var space = text.indexOf(" ", start);
      start = space !== -1 && space < at ? space + 1 : start;
    }
    var end = Math.min(text.length, start + SNIPPET_LENGTH);
    if (end < text.length) {
      var last = text.lastIndexOf(" ", end);
      end = last > at ? last : end;
    }
    return (start > 0 ? "… " : "") + text.slice(start, end) + (end < text.length ? " …" : "");
  }

  function safeHref(url) {
    try {
      var resolved = new URL(url, document.baseURI);
      return resolved.protocol === "http:" || resolved.protocol === "https:" ? resolved.href : null;
    } catch (e) {
      return null;
    }
  }

  function result(entry, words) {
    var item = document.createElement("li");
    item.className = "card search-result";
    var heading = document.createElement("h2");
    heading.className = "card__title";
    var href = safeHref(entry.url);
    var link = document.createElement(href ? "a" : "span");
    if (href) link.href = href;
    appendMarked(link, entry.title, words);
    heading.appendChild(link);
    item.appendChild(heading);

    var meta = document.createElement("p");
    meta.className = "card__meta";
    var collection = document.createElement("span");
    collection.textContent = index.collections[entry.collection] || entry.collection;
    meta.appendChild(collection);
    if (entry.date) {
      var sep = document.createElement("span");
      sep.className = "sep";
      sep.setAttribute("aria-hidden", "true");
      sep.textContent = "·";
      var time = document.createElement("time");
      time.dateTime = entry.date;
      var day = entry.date.slice(0, 10).split("-").map(Number);
      time.textContent = dateFormat.format(new Date(Date.UTC(day[0], day[1] - 1, day[2])));
      meta.append(" ", sep, " ", time);
    }
    item.appendChild(meta);

    var text = snippet(entry, words);
    if (text) {
      var p = document.createElement("p");
      p.className = "card__summary";
      appendMarked(p, text, words);
      item.appendChild(p);
    }
    return item;
  }

  function syncUrl(query) {
    var url = new URL(window.location.href);
    if (query) url.searchParams.set("q", query);
    else url.searchParams.delete("q");
    if (url.href !== window.location.href) history.replaceState(history.state, "", url.href);
  }

  function run() {
    window.clearTimeout(timer);
    var query = input.value.trim();
    syncUrl(query);
    list.replaceChildren();
    list.hidden = true;
    if (!query) {
      status.textContent = "";
      return;
    }
    if (failed) {
      status.textContent = "Search is unavailable: the search index could not be loaded.";
      return;
    }
    if (!index) {
      status.textContent = "Loading the search index…";
      return;
    }
    var words = queryWords(query);
    var hits = search(words);
    var quoted = "“" + query + "”";
    if (!hits.length) {
      status.textContent = "No results for " + quoted + ".";
      return;
    }
    var shown = hits.slice(0, MAX_RESULTS);
    list.replaceChildren.apply(list, shown.map(function (entry) { return result(entry, words); }));
    list.hidden = false;
    status.textContent =
      hits.length + (hits.length === 1 ? " result" : " results") + " for " + quoted +
      (hits.length > shown.length ? "; showing the first " + shown.length + "." : ".");
  }

  input.value = new URLSearchParams(window.location.search).get("q") || "";
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(run, DEBOUNCE_MS);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });

  fetch(root.getAttribute("data-search-index"), { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(function (data) {
      index = prepare(data);
    })
    .catch(function () {
      failed = true;
    })
    .then(run);
})();
