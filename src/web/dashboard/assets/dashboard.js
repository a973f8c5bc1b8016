/* global document, window, EventSource, fetch, location, URL, URLSearchParams, CSS */
/**
 * The dashboard's only script, served by Drover itself: stories fold and unfold, and the page follows
 * Drover's events live (server-sent events from /drover/api/events): the feed grows, and the part of the
 * page that shows state is fetched again from the server, which draws it as the first load did.
 */
(function () {
  "use strict";
  var body = document.body;

  function toggleStory(label) {
    var story = label.getAttribute("data-toggle");
    var group = label.closest("g.story");
    if (!group) return;
    var collapsed = group.classList.toggle("collapsed");
    // Folded, the story's box shrinks to its label; its place in the layout stays, so nothing jumps.
    var box = group.querySelector("rect.story-box");
    if (box) {
      if (!box.getAttribute("data-height")) box.setAttribute("data-height", box.getAttribute("height"));
      box.setAttribute("height", collapsed ? "28" : box.getAttribute("data-height"));
    }
    label.textContent = (collapsed ? "▸" : "▾") + label.textContent.slice(1);
    var hidden = {};
    document.querySelectorAll('.node[data-story="' + CSS.escape(story) + '"]').forEach(function (node) {
      hidden[node.getAttribute("data-key")] = true;
      var holder =
        node.parentElement && node.parentElement.tagName.toLowerCase() === "a" ? node.parentElement : node;
      holder.classList.toggle("hidden", collapsed);
    });
    document.querySelectorAll("path.edge").forEach(function (edge) {
      if (hidden[edge.getAttribute("data-from")] || hidden[edge.getAttribute("data-to")])
        edge.classList.toggle("hidden", collapsed);
    });
  }
  document.addEventListener("click", function (event) {
    var label = event.target.closest && event.target.closest("[data-toggle]");
    if (label) toggleStory(label);
  });
  document.addEventListener("keydown", function (event) {
    var label = event.target.closest && event.target.closest("[data-toggle]");
    if (label && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggleStory(label);
    }
  });

  if (!body.getAttribute("data-live") || typeof EventSource === "undefined") return;

  var issue = body.getAttribute("data-issue");
  var status = document.getElementById("live-status");

  function feedItem(event) {
    var li = document.createElement("li");
    li.setAttribute("data-seq", String(event.seq));
    li.className = "fresh";
    var time = document.createElement("time");
    time.textContent = String(event.at || "").slice(11, 19);
    var what = document.createElement("span");
    var name = String(event.type || "").replace(/^task\./, "");
    what.className = "badge ev ev-" + name.replace(/\W/g, "-");
    what.textContent = name;
    li.append(time, " ", what, " ");
    if (event.repo && event.issue !== null && event.issue !== undefined) {
      var link = document.createElement("a");
      var parts = String(event.repo).split("/").map(encodeURIComponent);
      link.href = "/drover/tasks/" + parts.join("/") + "/" + Number(event.issue);
      link.textContent = event.repo + "#" + event.issue;
      li.append(link);
    }
    if (event.actor) {
      var actor = document.createElement("span");
      actor.className = "actor";
      actor.textContent = " by " + event.actor;
      li.append(actor);
    }
    return li;
  }

  var pending = null;
  function refreshSoon() {
    if (pending) return;
    pending = window.setTimeout(function () {
      pending = null;
      refresh();
    }, 200);
  }

  function fragment(name) {
    var url = new URL(location.href);
    url.searchParams.set("fragment", name);
    url.searchParams.delete("control");
    return fetch(url.toString(), { credentials: "same-origin", headers: { accept: "text/html" } }).then(
      function (response) {
        if (!response.ok) throw new Error("fragment " + name + ": " + response.status);
        return response.text();
      },
    );
  }

  function refresh() {
    if (document.querySelector("svg.graph")) {
      fragment("states")
        .then(function (text) {
          var states = JSON.parse(text);
          document.querySelectorAll(".node[data-key]").forEach(function (node) {
            var state = states[node.getAttribute("data-key")];
            if (!state) return;
            node.setAttribute("class", "node state-" + state);
            var label = node.querySelector(".node-state");
            if (label) label.textContent = state;
          });
        })
        .catch(function () {});
    }
    var task = document.getElementById("task-live");
    if (task && !task.contains(document.activeElement)) {
      fragment("task")
        .then(function (html) {
          var current = document.getElementById("task-live");
          if (current) current.outerHTML = html;
        })
        .catch(function () {});
    }
    var queues = document.getElementById("queues");
    if (queues) {
      fragment("queues")
        .then(function (html) {
          queues.innerHTML = html;
        })
        .catch(function () {});
    }
  }

  function onEvent(message) {
    var event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (issue && String(event.issue) !== issue) return;
    var list = document.getElementById("feed");
    if (list && !list.querySelector('[data-seq="' + Number(event.seq) + '"]')) {
      list.prepend(feedItem(event));
      while (list.children.length > 100) list.lastElementChild.remove();
      var empty = document.getElementById("feed-empty");
      if (empty) empty.remove();
    }
    refreshSoon();
  }

  var params = new URLSearchParams({ format: "sse" });
  var repo = body.getAttribute("data-repo");
  if (repo) params.set("repo", repo);
  var after = body.getAttribute("data-after");
  if (after) params.set("after", after);
  var source = new EventSource("/drover/api/events?" + params.toString());
  source.onmessage = onEvent;
  source.onopen = function () {
    if (status) status.className = "live on";
    body.setAttribute("data-connected", "1");
  };
  source.onerror = function () {
    if (status) status.className = "live off";
  };
})();
