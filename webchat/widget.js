/*
 * Web chat widget of the municipal virtual assistant.
 *
 * Embed with one tag (the server address is taken from the tag's own src):
 *   <script src="https://assistent.example.nl/webhooks/webchat/widget.js"
 *           data-municipality="utrecht" data-title="Chat met de gemeente" defer></script>
 * Optional: data-server="https://assistent.example.nl" when the script is served elsewhere.
 *
 * Plain JavaScript, no dependencies, nothing loaded from other servers. Every piece of text from
 * the server is inserted with textContent / DOM APIs; bot text is never parsed as HTML. Links in
 * bot text ([tekst](https://...) and bare https:// addresses) become <a> elements.
 * The WebSocket protocol is documented in channels/webchat.py.
 *
 * The widget's root element carries data-busy="true" from the moment the resident's message is
 * sent (or the assistant starts working) until the assistant's `typing active:false` frame: the
 * signal that an answer is complete, for tests and host pages. It is not a live region hint
 * (aria-busy on the log would make screen readers hold back or drop the answer).
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__gemeenteAssistentLoaded) {
    return;
  }
  window.__gemeenteAssistentLoaded = true;

  var THEMES = ["utrecht", "zwolle"];
  var MAX_LENGTH = 1000;
  var PREFIX = "gemeente-assistent";

  // Dutch texts the resident reads (B1, formal "u").
  var T = {
    launcher: "Stel uw vraag",
    defaultTitle: "Chat met de gemeente",
    close: "Sluiten",
    closeLabel: "Chat sluiten",
    newConversation: "Nieuw gesprek",
    intro:
      "Stel hier uw vraag, bijvoorbeeld over een paspoort, afval of een afspraak. " +
      "U chat met een digitale assistent: een computer, geen medewerker. " +
      "Deel geen persoonlijke gegevens, zoals uw BSN.",
    transcript: "Gesprek",
    log: "Nieuwe berichten",
    you: "U: ",
    assistant: "Assistent: ",
    notice: "Let op: ",
    inputLabel: "Uw vraag",
    placeholder: "Typ uw vraag",
    send: "Verstuur",
    empty: "Typ eerst uw vraag.",
    offline: "Er is nu geen verbinding. Uw vraag is niet verstuurd. Probeer het zo opnieuw.",
    noConnection: "Er is nu geen verbinding. Probeer het zo opnieuw.",
    typing: "De assistent schrijft een antwoord…",
    employeeTyping: function (name) {
      return name + " typt…";
    },
    employee: function (name) {
      return name + " van de gemeente";
    },
    choices: "Kies een antwoord",
    helpfulQuestion: "Was dit antwoord nuttig?",
    helpful: "Dit antwoord was nuttig",
    notHelpful: "Dit antwoord was niet nuttig",
    thanks: "Bedankt voor uw beoordeling.",
    waiting: "U wacht op een medewerker.",
    queuePosition: function (n) {
      return "U bent nummer " + n + " in de wachtrij.";
    },
    talkingWith: function (name) {
      return "U praat met " + (name ? name : "een medewerker") + " van de gemeente.";
    },
    stopWaiting: "Stop met wachten",
    rateConversation: "Beoordeel dit gesprek",
    scoreLegend: "Welk cijfer geeft u dit gesprek?",
    employeeLegend: "Hoe tevreden bent u over de hulp van de medewerker?",
    scoreHint: "1 is heel slecht, 10 is heel goed.",
    scoreSend: "Cijfer versturen",
    scoreMissing: "Kies eerst een cijfer.",
    scoreThanks: function (n) {
      return "Bedankt! U gaf dit gesprek een " + n + ".";
    },
    employeeScoreThanks: function (n) {
      return "Bedankt! U gaf de hulp van de medewerker een " + n + ".";
    },
    connecting: "Verbinden met de assistent…",
    reconnecting: function (s) {
      return "Geen verbinding. Nieuwe poging over " + s + (s === 1 ? " seconde." : " seconden.");
    },
    reconnectNow: "Nu opnieuw verbinden",
    restored: "De verbinding is hersteld.",
    newStarted: "Er is een nieuw gesprek gestart.",
  };

  // --- configuration from the embed tag ------------------------------------------------------
  var data = script.dataset || {};
  var municipality = String(data.municipality || "").trim().toLowerCase();
  if (!/^[a-z0-9-]{1,64}$/.test(municipality)) {
    municipality = "";
  }
  var title = String(data.title || "").trim() || T.defaultTitle;
  var base = data.server
    ? new URL("/webhooks/webchat/", data.server)
    : new URL("./", script.src);
  var wsUrl = new URL("ws", base);
  wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
  var storageKey = PREFIX + ":session:" + (municipality || "default");

  // --- small DOM helpers ------------------------------------------------------------------------
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

  function icon(pathData) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "ga-icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    svg.appendChild(path);
    return svg;
  }

  var ICON_CHAT =
    "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var ICON_THUMB_UP =
    "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3a1.5 1.5 0 0 0-.4-1L13.2 1 6.6 7.6A2 2 0 0 0 6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z";
  var ICON_THUMB_DOWN =
    "M22 3h-4v12h4V3zM2 14a2 2 0 0 0 2 2h6.3l-1 4.6v.3c0 .4.2.8.4 1l1.1 1.1 6.6-6.6c.4-.4.6-.9.6-1.4V5a2 2 0 0 0-2-2H7a2 2 0 0 0-1.8 1.2l-3 7.1c-.1.2-.2.5-.2.7v2z";

  // --- rich text: paragraphs, line breaks and safe links ---------------------------------------
  var LINK = /\[([^\]\n]{1,300})\]\(((?:https:\/\/|mailto:|tel:)[^\s)]{1,2000})\)|(https:\/\/[^\s<>"]+)/g;

  function safeHref(raw) {
    try {
      var url = new URL(raw);
      return ["https:", "mailto:", "tel:"].indexOf(url.protocol) >= 0 ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function appendLine(parent, line) {
    var last = 0;
    var match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(line)) !== null) {
      var label = match[1];
      var target = match[2];
      var trailing = "";
      if (!label) {
        // A bare address: punctuation at its end belongs to the sentence.
        target = match[3];
        var stripped = target.replace(/[.,;:!?)\]]+$/, "");
        trailing = target.slice(stripped.length);
        target = stripped;
        label = target.replace(/^https:\/\//, "");
      }
      var href = safeHref(target);
      parent.appendChild(document.createTextNode(line.slice(last, match.index)));
      if (href) {
        parent.appendChild(h("a", { href: href, className: "ga-link", text: label }));
      } else {
        parent.appendChild(document.createTextNode(match[0].slice(0, match[0].length - trailing.length)));
      }
      if (trailing) {
        parent.appendChild(document.createTextNode(trailing));
      }
      last = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(line.slice(last)));
  }

  function richText(text) {
    var fragment = document.createDocumentFragment();
    String(text || "")
      .split(/\n{2,}/)
      .forEach(function (paragraph) {
        if (!paragraph.trim()) {
          return;
        }
        var p = h("p", { className: "ga-paragraph" });
        paragraph.split("\n").forEach(function (line, i) {
          if (i > 0) {
            p.appendChild(h("br"));
          }
          appendLine(p, line);
        });
        fragment.appendChild(p);
      });
    return fragment;
  }

  // --- session id (the key to the conversation; kept across page loads) ------------------------
  function newSessionId() {
    var bytes = new Uint8Array(18);
    window.crypto.getRandomValues(bytes);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  var memoryStore = {};
  function stored(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return memoryStore[key] || null; // storage blocked: the conversation lasts for this page
    }
  }
  function store(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      memoryStore[key] = value;
    }
  }

  var sessionId = stored(storageKey);
  if (!sessionId || !/^[A-Za-z0-9_-]{22,64}$/.test(sessionId)) {
    sessionId = newSessionId();
    store(storageKey, sessionId);
  }

  // --- the DOM ----------------------------------------------------------------------------------
  var ids = {
    panel: PREFIX + "-panel",
    title: PREFIX + "-title",
    input: PREFIX + "-input",
    inputError: PREFIX + "-input-error",
    rating: PREFIX + "-rating",
    scoreHint: PREFIX + "-score-hint",
  };

  var launcher = h("button", {
    type: "button",
    className: "ga-launcher",
    "aria-expanded": "false",
    "aria-controls": ids.panel,
  }, [icon(ICON_CHAT), h("span", { text: T.launcher })]);

  var newButton = h("button", { type: "button", className: "ga-button ga-button--header", text: T.newConversation });
  var closeButton = h("button", {
    type: "button",
    className: "ga-button ga-button--header",
    "aria-label": T.closeLabel,
    text: T.close,
  });
  var connectionText = h("span", { className: "ga-connection-text" });
  var reconnectButton = h("button", {
    type: "button",
    className: "ga-button ga-button--secondary ga-button--small",
    text: T.reconnectNow,
    hidden: true,
  });
  var connection = h("div", { className: "ga-connection", hidden: true }, [
    h("p", { role: "status", className: "ga-connection-status" }, [connectionText]),
    reconnectButton,
  ]);

  var earlier = h("div", { className: "ga-earlier" });
  var log = h("div", { className: "ga-log", role: "log", "aria-live": "polite", "aria-label": T.log });
  var transcript = h("div", {
    className: "ga-transcript",
    tabindex: "0",
    role: "region",
    "aria-label": T.transcript,
  }, [h("p", { className: "ga-intro", text: T.intro }), earlier, log]);

  var typingText = h("span", { className: "ga-typing-text" });
  var typing = h("div", { className: "ga-typing", role: "status" }, [
    h("span", { className: "ga-dots", "aria-hidden": "true" }, [h("span"), h("span"), h("span")]),
    typingText,
  ]);

  var input = h("input", {
    id: ids.input,
    className: "ga-input",
    type: "text",
    maxlength: String(MAX_LENGTH),
    autocomplete: "off",
    enterkeyhint: "send",
    placeholder: T.placeholder,
  });
  // The conversation's handoff state. The status paragraph stays in the DOM (empty when no
  // person is involved), so a change of state or queue position is announced.
  var handoffText = h("p", { className: "ga-handoff-text", role: "status" });
  var cancelHandoffButton = h("button", {
    type: "button",
    className: "ga-button ga-button--secondary ga-button--small",
    text: T.stopWaiting,
    hidden: true,
  });
  var handoffBar = h("div", { className: "ga-handoff" }, [handoffText, cancelHandoffButton]);

  var inputError = h("p", { id: ids.inputError, className: "ga-input-error", hidden: true });
  var form = h("form", { className: "ga-form", novalidate: true }, [
    h("label", { for: ids.input, className: "ga-label", text: T.inputLabel }),
    h("div", { className: "ga-input-row" }, [
      input,
      h("button", { type: "submit", className: "ga-button ga-button--primary", text: T.send }),
    ]),
    inputError,
  ]);

  var scale = h("div", { className: "ga-scale" });
  for (var score = 1; score <= 10; score++) {
    var radioId = PREFIX + "-score-" + score;
    scale.appendChild(
      h("span", { className: "ga-scale-option" }, [
        h("input", { type: "radio", name: PREFIX + "-score", id: radioId, value: String(score), className: "ga-radio" }),
        h("label", { for: radioId, text: String(score) }),
      ])
    );
  }
  var ratingStatus = h("p", { className: "ga-rating-status", role: "status" });
  var scoreLegend = h("legend", { className: "ga-legend", text: T.scoreLegend });
  var ratingForm = h("form", { id: ids.rating, className: "ga-rating", hidden: true, novalidate: true }, [
    h("fieldset", { className: "ga-fieldset", "aria-describedby": ids.scoreHint }, [
      scoreLegend,
      h("p", { id: ids.scoreHint, className: "ga-hint", text: T.scoreHint }),
      scale,
    ]),
    h("button", { type: "submit", className: "ga-button ga-button--secondary", text: T.scoreSend }),
    ratingStatus,
  ]);
  var rateToggle = h("button", {
    type: "button",
    className: "ga-button ga-button--link",
    "aria-expanded": "false",
    "aria-controls": ids.rating,
    text: T.rateConversation,
  });

  var announcer = h("p", { className: "ga-visually-hidden", role: "status" });

  var panel = h("section", {
    id: ids.panel,
    className: "ga-panel",
    role: "dialog",
    "aria-modal": "false",
    "aria-labelledby": ids.title,
    hidden: true,
  }, [
    h("div", { className: "ga-header" }, [
      h("h2", { id: ids.title, className: "ga-title", text: title }),
      h("div", { className: "ga-header-actions" }, [newButton, closeButton]),
    ]),
    connection,
    transcript,
    typing,
    handoffBar,
    form,
    h("div", { className: "ga-footer" }, [rateToggle, ratingForm]),
    announcer,
  ]);

  var themeClass = THEMES.indexOf(municipality) >= 0 ? municipality + "-theme" : "ga-theme-default";
  var root = h("div", {
    className: "gemeente-assistent " + themeClass,
    lang: "nl",
    dir: "ltr",
    "data-busy": "false",
  }, [launcher, panel]);

  // --- rendering messages -----------------------------------------------------------------------
  var shownCount = 0; // history items on screen, compared with the server's history
  var ratingGroups = {}; // message id -> {helpful, notHelpful, thanks}

  function scrollToEnd() {
    transcript.scrollTop = transcript.scrollHeight;
  }

  // The name of the KCC employee who wrote a message or holds the conversation; "" when none.
  function employeeName(value) {
    return typeof value === "string" ? value.trim().slice(0, 64) : "";
  }

  function userMessage(text) {
    shownCount++;
    return h("div", { className: "ga-message ga-message--user" }, [
      h("div", { className: "ga-bubble" }, [
        h("span", { className: "ga-visually-hidden", text: T.you }),
        h("span", { className: "ga-text", text: text }),
      ]),
    ]);
  }

  // A status line from the server ("Sanne van de gemeente neemt het gesprek over."): a small
  // centred note, not a bubble; inside the log, so it is announced like a message.
  function systemNote(item) {
    shownCount++;
    var el = h("div", { className: "ga-system-note" }, [h("div", { className: "ga-system-text" }, [richText(item.text)])]);
    el.dataset.messageId = item.id || "";
    return el;
  }

  // One message of the assistant or of a KCC employee, with its quick replies; the assistant's
  // informative answers (frame field `rateable`) get the two rating buttons.
  function botMessage(item) {
    if (item.notice === true) {
      return systemNote(item);
    }
    shownCount++;
    var employee = employeeName(item.employee);
    var bubble = h("div", { className: "ga-bubble" }, [
      employee ? null : h("span", { className: "ga-visually-hidden", text: T.assistant }),
    ]);
    bubble.appendChild(richText(item.text));
    var el = h("div", { className: "ga-message ga-message--bot" + (employee ? " ga-message--employee" : "") }, [
      employee
        ? h("p", { className: "ga-sender" }, [T.employee(employee), h("span", { className: "ga-visually-hidden", text: ":" })])
        : null,
      bubble,
    ]);
    el.dataset.messageId = item.id || "";
    if (item.buttons && item.buttons.length) {
      var group = h("div", { className: "ga-choices", role: "group", "aria-label": T.choices });
      item.buttons.forEach(function (button) {
        var b = h("button", { type: "button", className: "ga-button ga-button--choice", text: button.title });
        b.addEventListener("click", function () {
          sendMessage({ type: "message", payload: button.payload }, button.title);
          input.focus();
        });
        group.appendChild(b);
      });
      el.appendChild(group);
    }
    if (item.rateable === true && !employee) {
      addRating(el, item.rating);
    }
    return el;
  }

  function addRating(el, current) {
    var id = el.dataset.messageId;
    if (!id || ratingGroups[id]) {
      return;
    }
    function rateButton(label, iconPath, value) {
      var button = h("button", {
        type: "button",
        className: "ga-button ga-button--rate",
        "aria-label": label,
        title: label,
        "aria-pressed": "false",
      }, [icon(iconPath)]);
      button.addEventListener("click", function () {
        if (!send({ type: "rate_answer", message_id: id, helpful: value })) {
          notice(T.noConnection);
        }
      });
      return button;
    }
    var helpful = rateButton(T.helpful, ICON_THUMB_UP, true);
    var notHelpful = rateButton(T.notHelpful, ICON_THUMB_DOWN, false);
    var thanks = h("span", { className: "ga-thanks", hidden: true, text: T.thanks });
    ratingGroups[id] = { helpful: helpful, notHelpful: notHelpful, thanks: thanks };
    el.appendChild(
      h("div", { className: "ga-feedback", role: "group", "aria-label": T.helpfulQuestion }, [helpful, notHelpful, thanks])
    );
    if (current === true || current === false) {
      showRated(id, current, false);
    }
  }

  function showRated(id, value, withAnnouncement) {
    var group = ratingGroups[id];
    if (!group) {
      return;
    }
    group.helpful.setAttribute("aria-pressed", value ? "true" : "false");
    group.notHelpful.setAttribute("aria-pressed", value ? "false" : "true");
    group.thanks.hidden = false;
    if (withAnnouncement) {
      announce(T.thanks);
    }
  }

  function notice(message) {
    log.appendChild(
      h("div", { className: "ga-message ga-message--notice" }, [
        h("div", { className: "ga-bubble" }, [h("strong", { text: T.notice }), message]),
      ])
    );
    scrollToEnd();
  }

  function announce(text) {
    // Clear first so the same sentence twice is announced twice.
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  // Between the resident's message and the end of the assistant's answer (see the top).
  function setBusy(busy) {
    root.setAttribute("data-busy", busy ? "true" : "false");
  }

  function clearTranscript() {
    earlier.textContent = "";
    log.textContent = "";
    shownCount = 0;
    ratingGroups = {};
    setBusy(false);
  }

  function renderHistory(items, container) {
    items.forEach(function (item) {
      if (item.role === "user") {
        container.appendChild(userMessage(item.text));
      } else if (item.role === "bot") {
        container.appendChild(botMessage(item));
      }
    });
  }

  function setScore(value) {
    var radios = scale.querySelectorAll("input");
    for (var i = 0; i < radios.length; i++) {
      radios[i].checked = radios[i].value === String(value);
    }
  }

  // --- conversation rating: of the conversation, or of the employee's help after a handoff -----
  var conversationScore = null; // as the server last reported it
  var ratingAbout = "conversation"; // or "employee" while the server asks for that rating
  var employeeRated = false;

  function showRatingForm(show) {
    ratingForm.hidden = !show;
    rateToggle.setAttribute("aria-expanded", show ? "true" : "false");
  }

  function rateConversationMode() {
    ratingAbout = "conversation";
    employeeRated = false;
    scoreLegend.textContent = T.scoreLegend;
    setScore(conversationScore);
    ratingStatus.textContent = conversationScore ? T.scoreThanks(conversationScore) : "";
  }

  // The same control, asking about the employee who just handed the conversation back.
  function askEmployeeRating() {
    if (ratingAbout === "employee") {
      return;
    }
    ratingAbout = "employee";
    employeeRated = false;
    scoreLegend.textContent = T.employeeLegend;
    setScore(null);
    ratingStatus.textContent = "";
    showRatingForm(true);
    announce(T.employeeLegend);
  }

  // The server no longer asks for the employee rating: back to rating the conversation, and
  // fold the unused question away unless the resident is in it.
  function stopAskingEmployeeRating() {
    if (ratingAbout !== "employee" || employeeRated) {
      return;
    }
    rateConversationMode();
    if (!ratingForm.contains(document.activeElement)) {
      showRatingForm(false);
    }
  }

  // --- handoff to a KCC employee ---------------------------------------------------------------
  var handoffState = "none"; // "none", "waiting" (in the queue) or "taken" (an employee chats)

  function showHandoff(frame) {
    var state = frame.state === "waiting" || frame.state === "taken" ? frame.state : "none";
    var position = frame.position;
    var validPosition = typeof position === "number" && position >= 1 && Math.floor(position) === position;
    var text = "";
    if (state === "waiting") {
      text = T.waiting + (validPosition ? " " + T.queuePosition(position) : "");
    } else if (state === "taken") {
      text = T.talkingWith(employeeName(frame.employee));
    }
    if (state !== "taken") {
      residentStoppedTyping(false);
      if (typingEmployee) {
        setTyping(false);
      }
    }
    handoffState = state;
    if (handoffText.textContent !== text) {
      handoffText.textContent = text; // announced: the paragraph is a status region
    }
    handoffBar.className = "ga-handoff" + (text ? " ga-handoff--active ga-handoff--" + state : "");
    var cancelHadFocus = document.activeElement === cancelHandoffButton;
    cancelHandoffButton.hidden = state !== "waiting";
    if (cancelHadFocus && cancelHandoffButton.hidden) {
      input.focus();
    }
    if (state === "none" && frame.rate_employee === true) {
      askEmployeeRating();
    } else {
      stopAskingEmployeeRating();
    }
    scrollToEnd();
  }

  // The resident's typing, for the employee's console: only while an employee has the
  // conversation; "true" at most every 3 seconds while typing, "false" after 4 quiet seconds
  // or when the message is sent.
  var residentTyping = false;
  var residentTypingSentAt = 0;
  var residentIdleTimer = null;

  function residentTyped() {
    if (handoffState !== "taken") {
      return;
    }
    var now = Date.now();
    if ((!residentTyping || now - residentTypingSentAt >= 3000) && send({ type: "typing", active: true })) {
      residentTyping = true;
      residentTypingSentAt = now;
    }
    window.clearTimeout(residentIdleTimer);
    residentIdleTimer = window.setTimeout(function () {
      residentStoppedTyping(true);
    }, 4000);
  }

  function residentStoppedTyping(tellServer) {
    window.clearTimeout(residentIdleTimer);
    residentIdleTimer = null;
    if (residentTyping && tellServer && handoffState === "taken") {
      send({ type: "typing", active: false });
    }
    residentTyping = false;
  }

  // --- connection -------------------------------------------------------------------------------
  var socket = null;
  var connected = false;
  var ready = false; // the server answered our hello with the history
  var attempts = 0;
  var retryTimer = null;
  var everConnected = false;
  var wasDisconnected = false;

  function showConnection(text, offerRetry) {
    connection.hidden = !text;
    connectionText.textContent = text || "";
    reconnectButton.hidden = !offerRetry;
  }

  function connect() {
    if (socket || (!navigator.onLine && everConnected)) {
      return;
    }
    window.clearTimeout(retryTimer);
    retryTimer = null;
    if (!everConnected) {
      showConnection(T.connecting, false);
    }
    try {
      socket = new WebSocket(wsUrl.href);
    } catch (e) {
      socket = null;
      scheduleReconnect();
      return;
    }
    socket.addEventListener("open", function () {
      connected = true;
      attempts = 0;
      everConnected = true;
      sendHello();
      if (wasDisconnected) {
        showConnection(T.restored, false);
        wasDisconnected = false;
        window.setTimeout(function () {
          if (connected && connectionText.textContent === T.restored) {
            showConnection("", false);
          }
        }, 4000);
      } else {
        showConnection("", false);
      }
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame.type === "string") {
        onFrame(frame);
      }
    });
    socket.addEventListener("close", function () {
      socket = null;
      connected = false;
      ready = false;
      setTyping(false);
      setBusy(false);
      residentStoppedTyping(false);
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (retryTimer) {
      return;
    }
    wasDisconnected = true;
    attempts++;
    var seconds = Math.min(30, Math.pow(2, attempts - 1));
    // Jitter, so that many residents do not all reconnect in the same second after an outage.
    var delay = seconds * 1000 * (0.8 + Math.random() * 0.4);
    showConnection(T.reconnecting(Math.round(delay / 1000) || 1), true);
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      connect();
    }, delay);
  }

  function send(frame) {
    if (!connected || !socket) {
      return false;
    }
    socket.send(JSON.stringify(frame));
    return true;
  }

  function sendHello() {
    ready = false;
    send({ type: "hello", session_id: sessionId, municipality: municipality || null });
  }

  // Messages sent without an "ack" yet, each {frame, text} (text: the bubble shown). A connection
  // can drop after a message left and before its answer came (a server restarting or killed, a
  // mobile network): after reconnecting, those the history shows were answered are done, the
  // others are sent again with the same id, and the server answers each id once, whichever
  // server it reaches.
  var outbox = [];
  // An earlier copy is still being answered, or its server died (its claim expires within half
  // a minute): ask again after this long.
  var RESEND_PENDING_MS = 5000;

  function newMessageId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  // The ids of the resident's messages that a history shows: those were answered.
  function answeredIds(items) {
    var answered = {};
    items.forEach(function (item) {
      if (item.role === "user" && typeof item.id === "string") {
        answered[item.id] = true;
      }
    });
    return answered;
  }

  // After a history: what it shows was answered and leaves the outbox; the rest is sent again.
  function resendOutbox(answered) {
    outbox = outbox.filter(function (waiting) {
      return !answered[waiting.frame.id];
    });
    outbox.forEach(function (waiting) {
      send(waiting.frame);
    });
  }

  function acknowledged(frame) {
    var waiting = outbox.filter(function (entry) {
      return entry.frame.id === frame.id;
    })[0];
    if (!waiting) {
      return;
    }
    if (frame.state === "pending") {
      window.setTimeout(function () {
        if (outbox.indexOf(waiting) !== -1 && ready) {
          send(waiting.frame);
        }
      }, RESEND_PENDING_MS);
      return;
    }
    outbox.splice(outbox.indexOf(waiting), 1);
  }

  function sendMessage(frame, shownText) {
    frame.id = newMessageId();
    if (!ready || !send(frame)) {
      showInputError(T.offline);
      return false;
    }
    outbox.push({ frame: frame, text: shownText });
    residentStoppedTyping(true);
    if (handoffState === "none") {
      setBusy(true); // until the assistant's typing active:false; a person answers in their own time
    }
    log.appendChild(userMessage(shownText));
    scrollToEnd();
    return true;
  }

  var typingTimer = null;
  var typingEmployee = ""; // who the indicator shows: "" for the assistant
  function setTyping(active, employee) {
    window.clearTimeout(typingTimer);
    typingEmployee = active && employee ? employee : "";
    if (active && employee) {
      typing.classList.add("ga-typing--active");
      typingText.textContent = T.employeeTyping(employee);
      // The console repeats "true" while the employee types; hide a stale indicator anyway.
      typingTimer = window.setTimeout(function () {
        setTyping(false);
      }, 10000);
    } else if (active) {
      // Announced once per answer, and only if the answer takes a moment.
      typingTimer = window.setTimeout(function () {
        typing.classList.add("ga-typing--active");
        typingText.textContent = T.typing;
      }, 400);
    } else {
      typing.classList.remove("ga-typing--active");
      typingText.textContent = "";
    }
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "history": {
        ready = true;
        var items = Array.isArray(frame.messages) ? frame.messages : [];
        var answered = answeredIds(items);
        if (shownCount === 0 || items.length < shownCount) {
          // First load (or the server has a shorter story): the past, without announcing it;
          // then the messages still waiting for an answer, which the history cannot show yet.
          clearTranscript();
          renderHistory(items, earlier);
          outbox.forEach(function (waiting) {
            if (!answered[waiting.frame.id]) {
              log.appendChild(userMessage(waiting.text));
            }
          });
        } else if (items.length > shownCount) {
          // Answers that arrived while the connection was down.
          renderHistory(items.slice(shownCount), log);
        }
        conversationScore = typeof frame.conversation_score === "number" ? frame.conversation_score : null;
        if (ratingAbout === "conversation") {
          setScore(conversationScore);
          if (conversationScore) {
            ratingStatus.textContent = T.scoreThanks(conversationScore);
          }
        }
        scrollToEnd();
        resendOutbox(answered);
        break;
      }
      case "ack":
        acknowledged(frame);
        break;
      case "handoff":
        showHandoff(frame);
        break;
      case "typing": {
        var employee = employeeName(frame.employee);
        if (employee) {
          setTyping(frame.active === true, employee); // an employee's typing says nothing about our turn
          break;
        }
        setTyping(frame.active === true);
        setBusy(frame.active === true);
        if (frame.active === false) {
          scrollToEnd();
        }
        break;
      }
      case "bot":
        setTyping(false);
        log.appendChild(botMessage(frame));
        scrollToEnd();
        break;
      case "rated":
        if (typeof frame.message_id === "string") {
          showRated(frame.message_id, frame.helpful === true, true);
        } else if (typeof frame.score === "number") {
          if (ratingAbout === "employee") {
            employeeRated = true;
            ratingStatus.textContent = T.employeeScoreThanks(frame.score);
          } else {
            conversationScore = frame.score;
            ratingStatus.textContent = T.scoreThanks(frame.score);
          }
        }
        break;
      case "error":
        setBusy(false); // the last frame was refused, or the assistant failed: no answer follows
        outbox = []; // answered with this error: sending them again would only repeat it
        if (typeof frame.message === "string") {
          notice(frame.message);
        }
        break;
      default:
        break; // newer server, older widget: ignore what we do not know
    }
  }

  // --- behaviour --------------------------------------------------------------------------------
  function showInputError(text) {
    inputError.textContent = text;
    inputError.hidden = !text;
    if (text) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", ids.inputError);
    } else {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  }

  function open() {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    connect();
    scrollToEnd();
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", open);
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") {
      event.preventDefault();
      close();
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      showInputError(T.empty);
      input.focus();
      return;
    }
    if (sendMessage({ type: "message", text: text.slice(0, MAX_LENGTH) }, text)) {
      input.value = "";
      showInputError("");
    }
    input.focus();
  });
  input.addEventListener("input", function () {
    if (!inputError.hidden && input.value.trim()) {
      showInputError("");
    }
    residentTyped();
  });

  cancelHandoffButton.addEventListener("click", function () {
    if (!send({ type: "cancel_handoff" })) {
      notice(T.noConnection);
    }
  });

  newButton.addEventListener("click", function () {
    sessionId = newSessionId();
    store(storageKey, sessionId);
    outbox = []; // what waited belongs to the old conversation, not to the new one
    clearTranscript();
    showHandoff({ type: "handoff", state: "none" }); // the server sends the new state after the history
    conversationScore = null;
    rateConversationMode();
    showInputError("");
    sendHello();
    announce(T.newStarted);
    input.focus();
  });

  reconnectButton.addEventListener("click", function () {
    attempts = 0;
    window.clearTimeout(retryTimer);
    retryTimer = null;
    connect();
  });
  window.addEventListener("online", function () {
    if (!socket && everConnected) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
      connect();
    }
  });

  rateToggle.addEventListener("click", function () {
    var show = ratingForm.hidden;
    if (show && ratingAbout === "employee" && employeeRated) {
      rateConversationMode(); // the employee was rated; the control is the conversation's again
    }
    showRatingForm(show);
    if (show) {
      var checked = scale.querySelector("input:checked") || scale.querySelector("input");
      checked.focus();
      scrollToEnd();
    }
  });
  ratingForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var checked = scale.querySelector("input:checked");
    if (!checked) {
      ratingStatus.textContent = T.scoreMissing;
      return;
    }
    var rating = { type: "rate_conversation", score: parseInt(checked.value, 10) };
    if (ratingAbout === "employee") {
      rating.about = "employee"; // kept apart from the rating of the conversation
    }
    if (!send(rating)) {
      ratingStatus.textContent = T.noConnection;
    }
  });

  // --- start: styles first, so the launcher never shows unstyled --------------------------------
  function stylesheet(name) {
    return new Promise(function (resolve) {
      var link = h("link", { rel: "stylesheet", href: new URL(name, base).href });
      link.addEventListener("load", resolve);
      link.addEventListener("error", resolve);
      document.head.appendChild(link);
    });
  }

  function mount() {
    document.body.appendChild(root);
  }

  Promise.all([stylesheet("tokens.css"), stylesheet("widget.css")]).then(function () {
    if (document.body) {
      mount();
    } else {
      document.addEventListener("DOMContentLoaded", mount);
    }
  });
})();
