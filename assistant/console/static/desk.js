/*
 * The KCC desk: the live queue, callback requests and the employee's conversations.
 *
 * Served by assistant/console/desk_routes.py on the page templates/home.html. Plain JavaScript,
 * no dependencies. Every text from the server (residents' and employees' words, names, topics)
 * goes into the page with textContent or DOM APIs, never as HTML.
 *
 * Live: one WebSocket (/api/live, see assistant/console/live.py) brings the state of the queue
 * and the events of the employee's conversations. It reconnects with backoff and passes the last
 * event id it saw, so nothing is missed or shown twice; code 4401 means the session ended (to
 * /login). Messages are shown once: a message that arrives live and in a transcript has the same
 * message id.
 *
 * The root element #desk carries data-live="verbinden" | "open" | "weg", for tests and styling.
 */
(function () {
  "use strict";

  var root = document.getElementById("desk");
  if (!root) {
    return;
  }
  var csrfToken = root.dataset.csrfToken || "";
  var MAX_LENGTH = 1000;
  var TYPING_REPEAT_MS = 3000; // "typing: true" again while typing (the widget hides it after 10 s)
  var TYPING_IDLE_MS = 4000; // then "typing: false"
  var RESIDENT_TYPING_MS = 10000; // hide "Inwoner typt…" when it is not repeated
  var NEW_HIGHLIGHT_MS = 60000;
  var WARN_BEFORE_MS = 2 * 60 * 1000;
  var BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];

  // Dutch texts the employee reads (B1).
  var T = {
    title: document.title,
    resident: "Inwoner",
    assistant: "Digitale assistent",
    noTopic: "Onderwerp onbekend",
    take: "Overnemen",
    taking: "Bezig met overnemen…",
    done: "Afgehandeld",
    holds: function (name) {
      return name + " heeft dit gesprek";
    },
    waited: function (ms) {
      var minutes = Math.floor(ms / 60000);
      if (minutes < 1) {
        return "wacht minder dan 1 min";
      }
      if (minutes < 60) {
        return "wacht " + minutes + " min";
      }
      return "wacht " + Math.floor(minutes / 60) + " uur " + (minutes % 60) + " min";
    },
    question: "Vraag: ",
    due: function (when) {
      return "Terugbellen vanaf " + when;
    },
    overdue: "Nu terugbellen",
    phone: "Telefoon: ",
    conversationTitle: function (item) {
      return (item.topic || T.noTopic) + " – " + item.municipality_name;
    },
    takenAt: function (when) {
      return "Overgenomen om " + when;
    },
    // WhatsApp takes free messages until 24 hours after the resident's last one.
    replyUntil: function (when) {
      return "Antwoorden via WhatsApp kan tot " + when;
    },
    windowClosed: "WhatsApp-venster gesloten: de inwoner kan geen berichten meer van u krijgen",
    messages: "Berichten",
    loading: "Het gesprek wordt geladen…",
    typing: "Inwoner typt…",
    messageLabel: "Uw bericht aan de inwoner",
    messageHint: "Enter verstuurt het bericht. Shift + Enter begint een nieuwe regel.",
    send: "Versturen",
    answers: "Standaardantwoorden",
    handBack: "Terug naar de assistent",
    end: "Afsluiten",
    closeView: "Gesprek wegzetten",
    confirmHandBack: {
      title: "Gesprek teruggeven?",
      text: "De digitale assistent beantwoordt dan weer de vragen van deze inwoner.",
      yes: "Ja, teruggeven",
    },
    confirmEnd: {
      title: "Gesprek afsluiten?",
      text: "Het gesprek met deze inwoner stopt. Stelt de inwoner daarna nog een vraag, dan helpt de digitale assistent.",
      yes: "Ja, afsluiten",
    },
    handedBack: "Het gesprek is teruggegeven aan de digitale assistent.",
    ended: "Het gesprek is afgesloten.",
    closedElsewhere: "Dit gesprek is afgesloten. U kunt niet meer antwoorden.",
    took: "U heeft het gesprek overgenomen.",
    newWaiting: "Nieuw gesprek in de wachtrij",
    newWaitingMany: function (n) {
      return n + " nieuwe gesprekken in de wachtrij";
    },
    newMessageElsewhere: function (title) {
      return "Nieuw bericht in gesprek " + title;
    },
    unread: function (n) {
      return n === 1 ? "1 nieuw bericht" : n + " nieuwe berichten";
    },
    newBadge: "Nieuw",
    callbackDone: "Het terugbelverzoek is afgehandeld.",
    connecting: "Verbinden met de wachtrij…",
    live: "De wachtrij wordt live bijgewerkt.",
    reconnecting: function (s) {
      return "Geen verbinding met de wachtrij. Nieuwe poging over " + s + (s === 1 ? " seconde." : " seconden.");
    },
    failed: "Dat lukte niet. Controleer de verbinding en probeer het opnieuw.",
    sessionWarning: function (minutes) {
      return (
        "U bent een tijd niet actief geweest. Over " +
        (minutes <= 1 ? "1 minuut" : minutes + " minuten") +
        " wordt u uitgelogd."
      );
    },
    soundOn: "Het geluid bij een nieuw gesprek staat aan.",
    soundOff: "Het geluid bij een nieuw gesprek staat uit.",
    notificationsOn: "Meldingen staan aan.",
    notificationsBlocked: "Uw browser blokkeert meldingen. Dit kunt u veranderen in de instellingen van uw browser.",
  };

  // --- small helpers ------------------------------------------------------------------------------
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) {
          return;
        }
        if (key === "text") {
          el.textContent = value;
        } else if (key === "className") {
          el.className = value;
        } else if (key === "hidden") {
          el.hidden = true;
        } else {
          el.setAttribute(key, value === true ? "" : String(value));
        }
      });
    }
    (children || []).forEach(function (child) {
      if (child) {
        el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return el;
  }

  function $(id) {
    return document.getElementById(id);
  }

  var pageTitle = root.querySelector("h1");
  pageTitle.tabIndex = -1; // a place for the focus after "Ingelogd blijven"

  var announcer = $("aankondiging");
  function announce(text) {
    // Cleared first, so the same words are announced again.
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  var deskError = $("desk-fout");
  function showError(text) {
    deskError.textContent = text || "";
    deskError.hidden = !text;
  }

  // The server's clock, for waiting times: the difference is taken from each state.
  var clockOffset = 0;
  function serverNow() {
    return Date.now() + clockOffset;
  }

  var TIME = new Intl.DateTimeFormat("nl-NL", {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Europe/Amsterdam",
  });
  var DAY_AND_TIME = new Intl.DateTimeFormat("nl-NL", {
    weekday: "long",
    day: "numeric",
    month: "long",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Europe/Amsterdam",
  });
  function clock(iso) {
    var at = Date.parse(iso);
    return isNaN(at) ? "" : TIME.format(new Date(at));
  }

  // "14:32" today, "morgen 09:10" tomorrow.
  function dayAndClock(at) {
    var moment = new Date(at);
    var today = new Date().toDateString() === moment.toDateString();
    return (today ? "" : "morgen ") + TIME.format(moment);
  }

  // --- the API ------------------------------------------------------------------------------------
  function toLogin() {
    window.location.assign("/login?verlopen=1");
  }

  // Resolves {status, data}; rejects only when the server could not be reached.
  function api(method, path, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return window.fetch(path, options).then(function (response) {
      if (response.status === 401) {
        toLogin();
      }
      if (response.status === 204) {
        return { status: 204, data: {} };
      }
      return response.json().then(
        function (data) {
          return { status: response.status, data: data || {} };
        },
        function () {
          return { status: response.status, data: {} };
        }
      );
    });
  }

  function errorText(result) {
    return (result && result.data && typeof result.data.error === "string" && result.data.error) || T.failed;
  }

  function conversationPath(id, action) {
    return "/api/conversations/" + encodeURIComponent(id) + "/" + action;
  }

  // --- signals for a new waiting conversation --------------------------------------------------
  var audio = null;
  var soundButton = $("geluid");
  soundButton.addEventListener("click", function () {
    var on = soundButton.getAttribute("aria-pressed") !== "true";
    if (on && !audio) {
      var Context = window.AudioContext || window.webkitAudioContext;
      audio = Context ? new Context() : null;
    }
    if (on && audio && audio.state === "suspended") {
      audio.resume();
    }
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
    announce(on ? T.soundOn : T.soundOff);
    if (on) {
      tone();
    }
  });

  // Two short tones, made here (no audio file), only after the employee turned sound on.
  function tone() {
    if (!audio || soundButton.getAttribute("aria-pressed") !== "true") {
      return;
    }
    [0, 0.22].forEach(function (offset, i) {
      var start = audio.currentTime + offset;
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = i === 0 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.18);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.2);
    });
  }

  var notifyButton = $("meldingen");
  var notifyStatus = $("meldingen-status");
  function showNotificationState() {
    if (!("Notification" in window)) {
      return;
    }
    var permission = window.Notification.permission;
    notifyButton.hidden = permission !== "default";
    notifyStatus.hidden = permission === "default";
    notifyStatus.textContent = permission === "granted" ? T.notificationsOn : T.notificationsBlocked;
  }
  notifyButton.addEventListener("click", function () {
    var asked = window.Notification.requestPermission(showNotificationState);
    if (asked && asked.then) {
      asked.then(function () {
        showNotificationState();
        notifyStatus.focus();
      });
    }
  });
  notifyStatus.setAttribute("tabindex", "-1");
  showNotificationState();

  function notify(items) {
    if (!("Notification" in window) || window.Notification.permission !== "granted") {
      return;
    }
    if (!document.hidden && document.hasFocus()) {
      return; // the page itself shows it
    }
    var first = items[0];
    var note = new window.Notification(T.newWaiting, {
      body: first.municipality_name + (first.topic ? " – " + first.topic : ""),
      tag: "kcc-wachtrij",
    });
    note.onclick = function () {
      window.focus();
      note.close();
    };
  }

  function signalNew(items) {
    announce(items.length === 1 ? T.newWaiting : T.newWaitingMany(items.length));
    tone();
    notify(items);
  }

  function updateTitle(waiting) {
    document.title = (waiting > 0 ? "(" + waiting + ") " : "") + T.title;
  }

  // --- lists kept in step with the state (existing items stay, so focus stays) --------------------
  function syncList(list, emptyNote, items, build, update) {
    var existing = {};
    Array.prototype.forEach.call(list.children, function (li) {
      existing[li.dataset.id] = li;
    });
    var focusLost = false;
    var wanted = {};
    items.forEach(function (item, index) {
      wanted[item.id] = true;
      var li = existing[item.id];
      if (!li) {
        li = build(item);
        li.dataset.id = item.id;
      }
      update(li, item);
      if (list.children[index] !== li) {
        list.insertBefore(li, list.children[index] || null);
      }
    });
    Object.keys(existing).forEach(function (id) {
      if (!wanted[id]) {
        if (existing[id].contains(document.activeElement)) {
          focusLost = true;
        }
        list.removeChild(existing[id]);
      }
    });
    emptyNote.hidden = items.length > 0;
    if (focusLost) {
      // The item with the focus went (a colleague took it): focus the list's heading.
      var heading = $(list.closest("section").getAttribute("aria-labelledby"));
      heading.focus();
    }
  }

  function meta(item) {
    return item.channel_name + " · " + item.municipality_name;
  }

  // --- the queue ------------------------------------------------------------------------------
  var queueList = $("wachtrij");
  var knownWaiting = null; // ids seen in the queue before; null until the first state

  function buildWaiting(item) {
    var titleId = "wacht-" + item.id + "-titel";
    var button = h("button", {
      type: "button",
      className: "utrecht-button utrecht-button--primary-action kcc-take",
      text: T.take,
      "aria-describedby": titleId + " wacht-" + item.id + "-meta",
    });
    button.addEventListener("click", function () {
      take(item.id, button);
    });
    return h("li", { className: "kcc-card kcc-card--waiting", "data-handoff-id": item.id }, [
      h("p", { className: "kcc-badge", text: T.newBadge, hidden: true }),
      h("h3", { className: "kcc-card__title", id: titleId }),
      h("p", { className: "kcc-card__meta", id: "wacht-" + item.id + "-meta" }, [
        h("span", { className: "kcc-card__where" }),
        " · ",
        h("span", { className: "kcc-wait" }),
      ]),
      h("p", { className: "kcc-card__summary" }),
      button,
    ]);
  }

  function updateWaiting(li, item) {
    li.querySelector(".kcc-card__title").textContent = item.topic || T.noTopic;
    li.querySelector(".kcc-card__where").textContent = meta(item);
    var wait = li.querySelector(".kcc-wait");
    wait.dataset.since = item.requested_at;
    wait.textContent = T.waited(serverNow() - Date.parse(item.requested_at));
    var summary = li.querySelector(".kcc-card__summary");
    summary.textContent = item.summary ? T.question + "“" + item.summary + "”" : "";
    summary.hidden = !item.summary;
  }

  function markNew(li) {
    li.classList.add("kcc-card--new");
    li.querySelector(".kcc-badge").hidden = false;
    window.setTimeout(function () {
      li.classList.remove("kcc-card--new");
      li.querySelector(".kcc-badge").hidden = true;
    }, NEW_HIGHLIGHT_MS);
  }

  function tickWaitingTimes() {
    Array.prototype.forEach.call(document.querySelectorAll(".kcc-wait[data-since]"), function (el) {
      el.textContent = T.waited(serverNow() - Date.parse(el.dataset.since));
    });
  }
  window.setInterval(tickWaitingTimes, 15000);

  function take(id, button) {
    showError("");
    button.disabled = true;
    button.textContent = T.taking;
    api("POST", conversationPath(id, "take")).then(
      function (result) {
        if (result.status === 200 && result.data.conversation) {
          var panel = openConversation(result.data.conversation);
          select(panel.id, true);
          announce(T.took);
          return;
        }
        button.disabled = false;
        button.textContent = T.take;
        showError(errorText(result));
        $("wachtend-titel").focus();
      },
      function () {
        button.disabled = false;
        button.textContent = T.take;
        showError(T.failed);
      }
    );
  }

  // --- colleagues' conversations and callback requests ---------------------------------------------
  function buildHeld() {
    return h("li", { className: "kcc-card" }, [
      h("h3", { className: "kcc-card__title" }),
      h("p", { className: "kcc-card__meta" }),
      h("p", { className: "kcc-card__holder" }),
    ]);
  }

  function updateHeld(li, item) {
    li.querySelector(".kcc-card__title").textContent = item.topic || T.noTopic;
    li.querySelector(".kcc-card__meta").textContent = meta(item);
    li.querySelector(".kcc-card__holder").textContent = T.holds(item.employee);
  }

  function buildCallback(item) {
    var titleId = "terugbel-" + item.id + "-titel";
    var button = h("button", {
      type: "button",
      className: "utrecht-button utrecht-button--secondary-action",
      text: T.done,
      "aria-describedby": titleId,
    });
    button.addEventListener("click", function () {
      callbackDone(item.id, button);
    });
    return h("li", { className: "kcc-card kcc-card--callback", "data-callback-id": item.id }, [
      h("h3", { className: "kcc-card__title", id: titleId }),
      h("p", { className: "kcc-card__phone" }, [T.phone, h("a", { className: "utrecht-link" })]),
      h("p", { className: "kcc-card__meta" }),
      h("p", { className: "kcc-card__due" }),
      button,
    ]);
  }

  function updateCallback(li, item) {
    li.querySelector(".kcc-card__title").textContent = item.name + " – " + item.topic;
    var link = li.querySelector(".kcc-card__phone a");
    link.textContent = item.phone;
    link.setAttribute("href", "tel:" + item.phone.replace(/[^+0-9]/g, ""));
    li.querySelector(".kcc-card__meta").textContent = meta(item);
    var due = Date.parse(item.due_at);
    var overdue = due <= serverNow();
    li.querySelector(".kcc-card__due").textContent = overdue ? T.overdue : T.due(DAY_AND_TIME.format(new Date(due)));
    li.classList.toggle("kcc-card--due", overdue);
  }

  function callbackDone(id, button) {
    showError("");
    button.disabled = true;
    api("POST", "/api/callbacks/" + encodeURIComponent(id) + "/done").then(
      function (result) {
        var li = button.closest("li");
        if (result.status === 204 || result.status === 409) {
          var list = li.parentNode;
          list.removeChild(li);
          $("terugbel-leeg").hidden = list.children.length > 0;
          $("terugbel-titel").focus();
        } else {
          button.disabled = false;
        }
        if (result.status === 204) {
          announce(T.callbackDone);
        } else {
          showError(errorText(result));
        }
      },
      function () {
        button.disabled = false;
        showError(T.failed);
      }
    );
  }

  // --- the employee's conversations -----------------------------------------------------------
  var panels = {}; // handoff id -> conversation (see openConversation)
  var activeId = null;
  var mineList = $("mijn-gesprekken");
  var area = $("gesprekken");

  function buildMine(item) {
    var button = h("button", { type: "button", className: "kcc-tab" }, [
      h("span", { className: "kcc-tab__title" }),
      h("span", { className: "kcc-tab__unread", hidden: true }, [
        h("span", { className: "kcc-visually-hidden", text: ", " }),
        h("span", { className: "kcc-tab__count" }),
      ]),
    ]);
    button.addEventListener("click", function () {
      select(item.id, true);
    });
    return h("li", {}, [button]);
  }

  function updateMine(li, item) {
    var panel = panels[item.id];
    li.querySelector(".kcc-tab__title").textContent = T.conversationTitle(item);
    var unread = li.querySelector(".kcc-tab__unread");
    var count = panel ? panel.unread : 0;
    unread.hidden = count === 0;
    unread.querySelector(".kcc-tab__count").textContent = count ? T.unread(count) : "";
    var button = li.querySelector("button");
    if (item.id === activeId) {
      button.setAttribute("aria-current", "true");
    } else {
      button.removeAttribute("aria-current");
    }
  }

  var mineItems = [];
  function renderMine() {
    var shown = mineItems.slice();
    // A conversation closed elsewhere stays listed until the employee puts it away.
    Object.keys(panels).forEach(function (id) {
      if (panels[id].closed && !shown.some(function (item) { return item.id === id; })) {
        shown.push(panels[id].item);
      }
    });
    syncList(mineList, $("mijn-leeg"), shown, buildMine, updateMine);
  }

  function select(id, moveFocus) {
    activeId = id;
    Object.keys(panels).forEach(function (key) {
      panels[key].el.hidden = key !== id;
    });
    $("geen-gesprek").hidden = !!panels[id];
    var panel = panels[id];
    if (panel) {
      panel.unread = 0;
      scrollToEnd(panel);
      if (moveFocus) {
        (panel.closed ? panel.heading : panel.input).focus();
      }
    }
    renderMine();
  }

  function openConversation(item) {
    if (panels[item.id]) {
      panels[item.id].item = item;
      return panels[item.id];
    }
    var base = "gesprek-" + item.id;
    var heading = h("h2", { id: base + "-titel", className: "kcc-conversation__title", tabindex: "-1" });
    // A list inside the log region (a role on the list itself would hide that it is a list).
    var lines = h("ol", { className: "kcc-transcript__lines" });
    var log = h(
      "div",
      { className: "kcc-transcript", role: "log", "aria-label": T.messages, tabindex: "0", "aria-busy": "true" },
      [lines]
    );
    var typing = h("p", { className: "kcc-typing", "aria-live": "polite" });
    var input = h("textarea", {
      id: base + "-bericht",
      className: "utrecht-textarea kcc-composer__input",
      rows: "3",
      maxlength: String(MAX_LENGTH),
      "aria-describedby": base + "-hint",
    });
    var inputError = h("p", { id: base + "-fout", className: "kcc-field-error", hidden: true });
    var answers = h("ul", { className: "kcc-answers__list" });
    var answersBox = h("details", { className: "kcc-answers", hidden: true }, [
      h("summary", { text: T.answers }),
      answers,
    ]);
    var form = h("form", { className: "kcc-composer", novalidate: true }, [
      h("label", { className: "kcc-form-label", for: input.id, text: T.messageLabel }),
      h("p", { className: "kcc-form-hint", id: base + "-hint", text: T.messageHint }),
      inputError,
      input,
      h("div", { className: "kcc-composer__actions" }, [
        h("button", { type: "submit", className: "utrecht-button utrecht-button--primary-action", text: T.send }),
      ]),
      answersBox,
    ]);
    var handBack = h("button", {
      type: "button",
      className: "utrecht-button utrecht-button--secondary-action",
      text: T.handBack,
    });
    var end = h("button", {
      type: "button",
      className: "utrecht-button utrecht-button--secondary-action",
      text: T.end,
    });
    var putAway = h("button", {
      type: "button",
      className: "utrecht-button utrecht-button--secondary-action",
      text: T.closeView,
      hidden: true,
    });
    var closedNote = h("p", { className: "kcc-notice", role: "status" });
    var el = h(
      "article",
      { id: base, className: "kcc-conversation", "aria-labelledby": heading.id, "data-handoff-id": item.id, hidden: true },
      [
        heading,
        h("p", { className: "kcc-conversation__meta" }),
        h("p", { className: "kcc-conversation__summary" }),
        log,
        typing,
        closedNote,
        form,
        h("div", { className: "kcc-conversation__actions" }, [handBack, end, putAway]),
      ]
    );
    area.appendChild(el);
    var panel = {
      id: item.id,
      item: item,
      el: el,
      heading: heading,
      log: log,
      lines: lines,
      typing: typing,
      input: input,
      inputError: inputError,
      form: form,
      closedNote: closedNote,
      actions: [handBack, end],
      putAway: putAway,
      seen: {}, // message ids shown
      pending: [], // live lines that came before the transcript
      loaded: false,
      unread: 0,
      closed: false,
      inState: false, // listed in a state from the server (see applyState)
      typingSent: false,
      typingSentAt: 0,
      idleTimer: null,
      residentTimer: null,
    };
    panels[item.id] = panel;
    updatePanel(panel);
    closedNote.hidden = true;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      sendMessage(panel);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendMessage(panel);
      }
    });
    input.addEventListener("input", function () {
      employeeTyped(panel);
    });
    input.addEventListener("blur", function () {
      stopTyping(panel);
    });
    handBack.addEventListener("click", function () {
      confirmThen(T.confirmHandBack, handBack, function () {
        close(panel, "hand-back", T.handedBack);
      });
    });
    end.addEventListener("click", function () {
      confirmThen(T.confirmEnd, end, function () {
        close(panel, "end", T.ended);
      });
    });
    putAway.addEventListener("click", function () {
      removePanel(panel);
    });
    loadTranscript(panel);
    loadAnswers(panel, answers, answersBox);
    return panel;
  }

  function updatePanel(panel) {
    var item = panel.item;
    panel.heading.textContent = T.conversationTitle(item);
    var metaText = meta(item) + (item.taken_at ? " · " + T.takenAt(clock(item.taken_at)) : "");
    if (item.reply_until) {
      var until = Date.parse(item.reply_until);
      metaText += " · " + (until > Date.now() ? T.replyUntil(dayAndClock(until)) : T.windowClosed);
    }
    panel.el.querySelector(".kcc-conversation__meta").textContent = metaText;
    var summary = panel.el.querySelector(".kcc-conversation__summary");
    summary.textContent = item.summary ? T.question + "“" + item.summary + "”" : "";
    summary.hidden = !item.summary;
  }

  function loadTranscript(panel) {
    api("GET", conversationPath(panel.id, "transcript")).then(
      function (result) {
        if (result.status !== 200) {
          markClosed(panel, errorText(result));
          return;
        }
        // The history first, then what arrived live meanwhile (shown once, by message id).
        var live = panel.pending;
        panel.pending = [];
        panel.loaded = true;
        (result.data.lines || []).forEach(function (line) {
          addLine(panel, line, false);
        });
        live.forEach(function (line) {
          addLine(panel, line, true);
        });
        panel.log.removeAttribute("aria-busy");
        scrollToEnd(panel);
      },
      function () {
        var live = panel.pending;
        panel.pending = [];
        panel.loaded = true;
        live.forEach(function (line) {
          addLine(panel, line, true);
        });
        panel.log.removeAttribute("aria-busy");
        showError(T.failed);
      }
    );
  }

  function loadAnswers(panel, list, box) {
    api("GET", conversationPath(panel.id, "answers")).then(function (result) {
      var answers = (result.status === 200 && result.data.answers) || [];
      answers.forEach(function (answer) {
        var button = h("button", {
          type: "button",
          className: "utrecht-button utrecht-button--secondary-action kcc-answer",
          text: answer.title,
        });
        button.addEventListener("click", function () {
          insertAnswer(panel, answer.text);
          box.open = false;
        });
        list.appendChild(h("li", {}, [button]));
      });
      box.hidden = answers.length === 0;
    });
  }

  // The standard answer goes into the text box where the cursor is, to be edited before sending.
  function insertAnswer(panel, text) {
    var input = panel.input;
    var start = input.selectionStart || 0;
    var end = input.selectionEnd || 0;
    var before = input.value.slice(0, start);
    var glue = before && !/\s$/.test(before) ? " " : "";
    input.value = (before + glue + text + input.value.slice(end)).slice(0, MAX_LENGTH);
    var caret = Math.min(before.length + glue.length + text.length, input.value.length);
    input.focus();
    input.setSelectionRange(caret, caret);
    employeeTyped(panel);
  }

  function who(line) {
    if (line.role === "resident") {
      return T.resident;
    }
    if (line.role === "assistant") {
      return T.assistant;
    }
    return line.employee || "";
  }

  function addLine(panel, line, live) {
    if (!panel.loaded) {
      panel.pending.push(line);
      return;
    }
    if (line.id && panel.seen[line.id]) {
      return;
    }
    if (line.id) {
      panel.seen[line.id] = true;
    }
    var item;
    if (line.role === "notice") {
      item = h("li", { className: "kcc-line kcc-line--notice" }, [h("p", { className: "kcc-line__text", text: line.text })]);
    } else {
      item = h("li", { className: "kcc-line kcc-line--" + line.role }, [
        h("p", { className: "kcc-line__who" }, [
          h("span", { className: "kcc-line__name", text: who(line) }),
          h("span", { className: "kcc-visually-hidden", text: ", " }),
          h("time", { className: "kcc-line__time", datetime: line.at, text: clock(line.at) }),
          h("span", { className: "kcc-visually-hidden", text: ":" }),
        ]),
        h("p", { className: "kcc-line__text", text: line.text }),
      ]);
    }
    item.dataset.messageId = line.id || "";
    panel.lines.appendChild(item);
    if (live && line.role === "resident" && panel.id !== activeId) {
      panel.unread++;
      announce(T.newMessageElsewhere(T.conversationTitle(panel.item)));
      renderMine();
    }
    scrollToEnd(panel);
  }

  function scrollToEnd(panel) {
    panel.log.scrollTop = panel.log.scrollHeight;
  }

  function showInputError(panel, text) {
    panel.inputError.textContent = text || "";
    panel.inputError.hidden = !text;
    if (text) {
      panel.input.setAttribute("aria-invalid", "true");
      panel.input.setAttribute("aria-describedby", panel.inputError.id + " " + panel.el.id + "-hint");
    } else {
      panel.input.removeAttribute("aria-invalid");
      panel.input.setAttribute("aria-describedby", panel.el.id + "-hint");
    }
  }

  function sendMessage(panel) {
    if (panel.closed || panel.sending) {
      return;
    }
    var text = panel.input.value.trim();
    if (!text) {
      showInputError(panel, "Typ eerst een bericht.");
      panel.input.focus();
      return;
    }
    panel.sending = true;
    api("POST", conversationPath(panel.id, "messages"), { text: text }).then(
      function (result) {
        panel.sending = false;
        if (result.status === 201 && result.data.line) {
          showInputError(panel, "");
          panel.input.value = "";
          addLine(panel, result.data.line, false);
          stopTyping(panel);
          return;
        }
        showInputError(panel, errorText(result));
        if (result.status === 403 || result.status === 404 || result.status === 409) {
          markClosed(panel, errorText(result));
        }
      },
      function () {
        panel.sending = false;
        showInputError(panel, T.failed);
      }
    );
  }

  // The employee's typing, for the resident's chat: "true" at most every 3 seconds while typing,
  // "false" after 4 quiet seconds, on leaving the text box, and after sending.
  function employeeTyped(panel) {
    if (panel.closed) {
      return;
    }
    if (!panel.input.value.trim()) {
      stopTyping(panel);
      return;
    }
    var now = Date.now();
    if (!panel.typingSent || now - panel.typingSentAt >= TYPING_REPEAT_MS) {
      panel.typingSent = true;
      panel.typingSentAt = now;
      api("POST", conversationPath(panel.id, "typing"), { active: true }).catch(function () {});
    }
    window.clearTimeout(panel.idleTimer);
    panel.idleTimer = window.setTimeout(function () {
      stopTyping(panel);
    }, TYPING_IDLE_MS);
  }

  function stopTyping(panel) {
    window.clearTimeout(panel.idleTimer);
    if (panel.typingSent && !panel.closed) {
      api("POST", conversationPath(panel.id, "typing"), { active: false }).catch(function () {});
    }
    panel.typingSent = false;
  }

  function residentTyping(panel, active) {
    window.clearTimeout(panel.residentTimer);
    panel.typing.textContent = active ? T.typing : "";
    panel.typing.classList.toggle("kcc-typing--active", active);
    if (active) {
      panel.residentTimer = window.setTimeout(function () {
        residentTyping(panel, false);
      }, RESIDENT_TYPING_MS);
    }
  }

  // "Terug naar de assistent" and "Afsluiten" ask first, in a modal dialog.
  var dialog = $("bevestigen");
  var dialogYes = $("bevestigen-ja");
  var dialogNo = $("bevestigen-nee");
  var onConfirm = null;
  var dialogOpener = null;
  function confirmThen(texts, opener, action) {
    $("bevestigen-titel").textContent = texts.title;
    $("bevestigen-tekst").textContent = texts.text;
    dialogYes.textContent = texts.yes;
    onConfirm = action;
    dialogOpener = opener;
    dialog.showModal();
    dialogNo.focus();
  }
  dialogYes.addEventListener("click", function () {
    var action = onConfirm;
    onConfirm = null;
    dialog.close();
    if (action) {
      action();
    }
  });
  dialogNo.addEventListener("click", function () {
    dialog.close();
  });
  dialog.addEventListener("close", function () {
    if (onConfirm !== null && dialogOpener) {
      dialogOpener.focus(); // cancelled (button or Escape): back where the employee was
    }
    onConfirm = null;
  });

  function close(panel, action, done) {
    showError("");
    stopTyping(panel);
    api("POST", conversationPath(panel.id, action)).then(
      function (result) {
        if (result.status === 204) {
          removePanel(panel);
          announce(done);
          return;
        }
        showError(errorText(result));
        if (result.status === 409 || result.status === 404) {
          markClosed(panel, errorText(result));
        }
        panel.heading.focus();
      },
      function () {
        showError(T.failed);
        panel.heading.focus();
      }
    );
  }

  function markClosed(panel, text) {
    if (panel.closed) {
      return;
    }
    panel.closed = true;
    window.clearTimeout(panel.idleTimer);
    residentTyping(panel, false);
    panel.closedNote.textContent = text || T.closedElsewhere;
    panel.closedNote.hidden = false;
    panel.form.hidden = true;
    panel.actions.forEach(function (button) {
      button.hidden = true;
    });
    panel.putAway.hidden = false;
    renderMine();
  }

  function removePanel(panel) {
    delete panels[panel.id];
    mineItems = mineItems.filter(function (item) {
      return item.id !== panel.id;
    });
    panel.el.parentNode.removeChild(panel.el);
    var next = Object.keys(panels)[0] || null;
    if (activeId === panel.id) {
      activeId = null;
      select(next, false);
    } else {
      renderMine();
    }
    var tab = next && mineList.querySelector("[data-id='" + next + "'] button");
    (tab || $("wachtend-titel")).focus();
  }

  // --- state and events from the live feed -------------------------------------------------------
  function applyState(state) {
    var now = Date.parse(state.now);
    if (!isNaN(now)) {
      clockOffset = now - Date.now();
    }
    var queue = state.queue || [];
    var fresh = knownWaiting
      ? queue.filter(function (item) {
          return !knownWaiting[item.id];
        })
      : [];
    knownWaiting = knownWaiting || {};
    queue.forEach(function (item) {
      knownWaiting[item.id] = true;
    });
    syncList(queueList, $("wachtrij-leeg"), queue, buildWaiting, updateWaiting);
    fresh.forEach(function (item) {
      markNew(queueList.querySelector("[data-id='" + item.id + "']"));
    });
    $("wachtend-aantal").textContent = String(queue.length);
    updateTitle(queue.length);
    if (fresh.length) {
      signalNew(fresh);
    }

    mineItems = state.mine || [];
    var mine = {};
    mineItems.forEach(function (item) {
      mine[item.id] = true;
      var existed = !!panels[item.id];
      var panel = openConversation(item);
      panel.inState = true;
      updatePanel(panel);
      if (!existed && activeId === null) {
        select(item.id, false);
      }
    });
    // Gone from the employee's conversations without an event (closed in another tab). A panel
    // opened by "Overnemen" is not closed by a state that was made before the take.
    Object.keys(panels).forEach(function (id) {
      if (!mine[id] && panels[id].inState) {
        markClosed(panels[id]);
      }
    });
    renderMine();
    syncList($("collega-gesprekken"), $("collega-leeg"), state.held || [], buildHeld, updateHeld);
    syncList($("terugbelverzoeken"), $("terugbel-leeg"), state.callbacks || [], buildCallback, updateCallback);
  }

  var LINE_ROLES = {
    resident: "resident",
    employee: "employee",
    assistant: "assistant",
    joined: "notice",
    assistant_back: "notice",
    closed: "notice",
  };

  function applyEvent(event) {
    var panel = panels[event.conversation];
    if (!panel) {
      return;
    }
    if (event.kind === "typing") {
      if (!event.employee) {
        residentTyping(panel, event.active === true);
      }
      return;
    }
    var role = LINE_ROLES[event.kind];
    if (role && event.text) {
      if (event.kind === "resident") {
        residentTyping(panel, false);
      }
      addLine(panel, { id: event.message_id, role: role, text: event.text, at: event.at, employee: event.employee }, true);
    }
    if (event.kind === "assistant_back" || event.kind === "closed") {
      markClosed(panel);
    }
  }

  // --- the session: a warning before it ends ---------------------------------------------------
  var warning = $("sessie-waarschuwing");
  var warningTimer = null;
  var expiresAt = 0;
  function sessionEndsAt(iso, serverIso) {
    var ends = Date.parse(iso);
    var now = Date.parse(serverIso);
    if (isNaN(ends) || isNaN(now)) {
      return;
    }
    expiresAt = Date.now() + (ends - now); // in this browser's clock
    hideWarning();
    window.clearTimeout(warningTimer);
    warningTimer = window.setTimeout(showWarning, Math.max(0, expiresAt - Date.now() - WARN_BEFORE_MS));
  }
  function showWarning() {
    var left = Math.ceil((expiresAt - Date.now()) / 60000);
    warning.hidden = false;
    $("sessie-tekst").textContent = T.sessionWarning(left);
  }
  function hideWarning() {
    warning.hidden = true;
    $("sessie-tekst").textContent = "";
  }
  $("ingelogd-blijven").addEventListener("click", function () {
    api("POST", "/api/session").then(function (result) {
      if (result.status === 200) {
        sessionEndsAt(result.data.expires_at, result.data.now);
        pageTitle.focus();
      }
    });
  });

  // --- the live connection -------------------------------------------------------------------------
  var connectionText = $("verbinding");
  var lastId = "";
  var attempts = 0;
  var socket = null;

  function setLive(state, text) {
    root.dataset.live = state;
    connectionText.textContent = text;
  }

  function connect() {
    var url = new URL("/api/live", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("csrf_token", csrfToken);
    if (lastId) {
      url.searchParams.set("after", lastId);
    }
    var opened = false;
    socket = new WebSocket(url.href);
    socket.addEventListener("open", function () {
      opened = true;
      attempts = 0;
      setLive("open", T.live);
    });
    socket.addEventListener("message", function (message) {
      var data;
      try {
        data = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      if (data.type === "state") {
        applyState(data.state || {});
      } else if (data.type === "event") {
        applyEvent(data);
        lastId = data.id || lastId;
      } else if (data.type === "cursor") {
        lastId = data.after || lastId;
      } else if (data.type === "session") {
        sessionEndsAt(data.expires_at, data.now);
      }
    });
    socket.addEventListener("close", function (event) {
      socket = null;
      if (event.code === 4401) {
        toLogin();
        return;
      }
      if (opened) {
        retry();
        return;
      }
      // Refused before it opened: perhaps the session ended (the API then says 401).
      api("GET", "/api/state").then(retry, retry);
    });
  }

  function retry() {
    var delay = BACKOFF_MS[Math.min(attempts, BACKOFF_MS.length - 1)];
    attempts++;
    setLive("weg", T.reconnecting(Math.round(delay / 1000)));
    window.setTimeout(connect, delay);
  }

  setLive("verbinden", T.connecting);
  connect();
})();
